/**
 * MetalLB layer 2 failover: the node whose speaker answers ARP for a LoadBalancer address loses power; another node
 * must announce the address within slo.loadBalancerFailoverSeconds (MetalLB: "within a few seconds", more than about
 * 10 s is a bug), and the Service must answer through it again: at once when its backends live elsewhere, at the
 * latest once what ran on the dead node is replaced (slo.nodeNotReadySeconds + slo.podEvictionSeconds): the
 * guestbook needs its single redis, and when redis ran there the app is down until it is rescheduled. A client sends one request after another through the
 * address the whole time: the requests that failed and the longest outage it saw are reported.
 */
import { parameter } from 'allure-js-commons';
import * as k8s from '@kubernetes/client-node';
import { attachText } from '../../core/report/attach.ts';
import { eventually, failed, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { nodesBackSince } from '../../fixtures/checks.ts';
import { widened } from '../../fixtures/slo.ts';
import { watchHttp } from '../../fixtures/watchers/http-watch.ts';
import { describeSuite, skipBecause, test } from '../../fixtures/test.ts';
import { l2Announcements } from '../../providers/metallb/l2-status.ts';
import type { KubeAccess } from '../../providers/kube.ts';
import { suite } from '../catalogue.ts';

async function answers(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.cause?.code ?? e.message;
  }
}

const names = (a: Array<{ node: string }>) => a.map((x) => x.node).join(', ') || 'nobody';

/** MetalLB's speakers, as the upstream manifest (app=metallb,component=speaker) or its Helm chart labels them. */
async function speakers(kube: KubeAccess): Promise<k8s.V1Pod[]> {
  for (const labelSelector of ['app=metallb,component=speaker', 'app.kubernetes.io/component=speaker']) {
    const pods = (await kube.core.listPodForAllNamespaces({ labelSelector })).items;
    if (pods.length) return pods;
  }
  return [];
}

/** A speaker that just started has not joined memberlist yet: it must have been Ready for a while. */
const SPEAKER_SETTLED_MS = 20_000;

/** A pod's status is only as fresh as its kubelet: a node whose lease is stale may show a dead pod as Ready. */
async function staleKubelet(kube: KubeAccess, node: string): Promise<string | undefined> {
  const lease = await kube.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: node });
  const renewed = new Date(lease.spec?.renewTime ?? 0).getTime();
  const age = (Date.now() - renewed) / 1000;
  const limit = (lease.spec?.leaseDurationSeconds ?? 40) / 4 + 5;
  return age > limit ? `${node}'s kubelet last renewed its lease ${age.toFixed(0)} s ago (its pods' status may be stale)` : undefined;
}

async function speakerProblem(kube: KubeAccess, pods: k8s.V1Pod[], now = Date.now()): Promise<string | undefined> {
  if (pods.length === 0) return 'no MetalLB speaker pod found (labels app=metallb,component=speaker or app.kubernetes.io/component=speaker)';
  for (const p of pods) {
    const stale = p.spec?.nodeName ? await staleKubelet(kube, p.spec.nodeName) : 'a speaker pod is not scheduled';
    if (stale) return stale;
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') return `speaker ${p.metadata?.name} on ${p.spec?.nodeName} not Ready`;
    const since = now - new Date(ready.lastTransitionTime ?? 0).getTime();
    if (since < SPEAKER_SETTLED_MS) return `speaker ${p.metadata?.name} on ${p.spec?.nodeName} Ready for ${(since / 1000).toFixed(0)} s only`;
  }
  return undefined;
}

/** Where the Service's ready endpoints are, e.g. "ready endpoints: 3 on w1": why a Service does not answer. */
async function endpointsByNode(kube: KubeAccess, ref: { namespace: string; name: string }): Promise<string> {
  const api = kube.config.makeApiClient(k8s.DiscoveryV1Api);
  const slices = await api.listNamespacedEndpointSlice({ namespace: ref.namespace, labelSelector: `kubernetes.io/service-name=${ref.name}` });
  const byNode = new Map<string, number>();
  for (const e of slices.items.flatMap((s) => s.endpoints)) {
    if (e.conditions?.ready === false) continue;
    byNode.set(e.nodeName ?? '?', (byNode.get(e.nodeName ?? '?') ?? 0) + 1);
  }
  const total = [...byNode.values()].reduce((a, b) => a + b, 0);
  return total ? `ready endpoints: ${[...byNode].map(([n, c]) => `${c} on ${n}`).join(', ')}` : 'no ready endpoint';
}

async function lbAddress(kube: KubeAccess, ns: string, name: string): Promise<string | undefined> {
  const svc = await kube.core.readNamespacedService({ namespace: ns, name });
  return svc.status?.loadBalancer?.ingress?.[0]?.ip;
}

describeSuite(suite('ha/lb-failover'), () => {
  test('the LoadBalancer address moves to another node when its announcer loses power, and the Service answers again', async ({
    kube,
    nodes,
    topology,
    timeline,
    slo,
    profile,
    skip,
  }) => {
    const app = profile.apps.find((a) => a.service?.type === 'LoadBalancer');
    if (!app?.service) return skipBecause(skip, `no profile app has a LoadBalancer Service (apps: ${profile.apps.map((a) => a.name).join(', ') || 'none'})`);
    const ref = { namespace: app.namespace, name: app.service.name };
    const allowRemote = profile.target.kind !== 'lab';

    // polled, not read once: the API (through the VIP) may still be recovering from the previous experiment
    const steady = await eventually(
      `steady state: ${ref.namespace}/${ref.name} has a LoadBalancer address, every speaker Ready and settled, one node announces it and it answers`,
      async () => {
        const ip = await lbAddress(kube, ref.namespace, ref.name);
        if (!ip) return pending(`Service ${ref.namespace}/${ref.name} has no LoadBalancer address: MetalLB assigned none, so nothing can fail over`);
        const notSettled = await speakerProblem(kube, await speakers(kube));
        if (notSettled) return pending(notSettled);
        const announcing = await l2Announcements(kube, ref);
        if (announcing.length !== 1) return pending(`${ip} announced by ${names(announcing)}`);
        const url = `http://${ip}:${app.service!.port}/`;
        const error = await answers(url);
        if (error) return pending(`${announcing[0]!.node} announces ${ip}, but ${url}: ${error}`);
        return succeeded(`${announcing[0]!.node} announces ${ip}`, { node: announcing[0]!.node, ip, url });
      },
      { timeoutMs: 180_000 },
    );
    const { ip, url } = steady.value!;
    const victim = topology.byName(steady.value!.node);
    timeline.mark(`${victim.name} announces ${ip}`);
    parameter('LoadBalancer address', ip);
    parameter('announcer powered off', victim.name);

    const watch = watchHttp(url, timeline, { intervalMs: 100, timeoutMs: 1000, allowRemote });
    let takeover: { seconds: number; message: string } | undefined;
    let answered: { seconds: number; message: string } | undefined;
    try {
      await nodes.powerOff(victim);
      takeover = await timeline.until(
        `another node announces ${ip}`,
        async () => {
          const announcing = await l2Announcements(kube, ref);
          const others = announcing.filter((a) => a.node !== victim.name);
          if (others.length === 0) return pending(`no other node took ${ip} over (announced by: ${names(announcing)})`);
          if (others.length > 1) return failed(`${ip} announced by several nodes at once: ${names(others)}`);
          return succeeded(`${others[0]!.node} announces ${ip}`);
        },
        slo.loadBalancerFailoverSeconds,
        { kind: 'recovery', intervalMs: 200, timeoutSeconds: slo.loadBalancerFailoverSeconds.seconds + 20 },
      );
      // Through the new announcer the Service answers as soon as one live backend does. Until the dead node is
      // NotReady kube-proxy still balances over its endpoints; and when what the app needs ran there (the guestbook
      // needs its single redis), it answers only once that is replaced elsewhere: the node's grace period plus the
      // pods' toleration, i.e. the eviction SLO
      answered = await timeline.until(
        `${url} answers through the new announcer`,
        async () => {
          const error = await answers(url);
          return error ? pending(`${url}: ${error}; ${await endpointsByNode(kube, ref)}`) : succeeded(`${url} answers`);
        },
        widened(slo.podEvictionSeconds, slo.nodeNotReadySeconds.seconds, 'slo.nodeNotReadySeconds: eviction starts once the node is NotReady'),
        { kind: 'recovery', intervalMs: 200 },
      );
    } finally {
      await watch.stop();
      timeline.mark(`client through ${ip}: ${watch.summary()}`, watch.failed ? 'symptom' : 'info');
      await attachText(
        'requests through the LoadBalancer address',
        watch.samples.map((s) => `${(s.atMs / 1000).toFixed(2)} s  ${s.ok ? 'ok  ' : 'FAIL'} ${s.result.padEnd(14)} ${s.ms.toFixed(0).padStart(5)} ms ${s.servedBy ?? ''}`).join('\n'),
      );
    }
    parameter('failed requests', `${watch.failed} of ${watch.samples.length}`);
    parameter('client outage', `${(watch.outage().ms / 1000).toFixed(1)} s`);
    timeline.mark(`taken over in ${takeover!.seconds.toFixed(1)} s (${takeover!.message}); answering ${answered!.seconds.toFixed(1)} s after that`, 'recovery');

    const restored = new Date();
    await nodes.restore(victim);
    await eventually(`${victim.name} back: Ready, its kubelet renewing its lease again`, nodesBackSince(kube, [victim.name], restored), {
      timeoutMs: slo.nodeRecoverySeconds.ms,
    });
  });
});
