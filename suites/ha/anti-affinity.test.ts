/**
 * Pod anti-affinity holds as the profile intends, for every app that declares one: replicas run on distinct
 * topology domains; one replica more than the schedulable domains stays Pending with the scheduler's anti-affinity
 * reason (required) or is co-located (preferred); and when a worker loses power it is marked NotReady and tainted,
 * its replicas are evicted per their tolerations and replaced as the rule allows, and the service is kept: a Ready
 * replica all along and, with a data plane, the app's Service answering every request once the dead replica is out
 * of it (asked through the API server's service proxy all along; its failures are counted on the timeline).
 */
import type * as k8s from '@kubernetes/client-node';
import type { AppSpec, Profile } from '../../core/profile/schema.ts';
import { nodesReady } from '../../fixtures/checks.ts';
import { all, consistently, eventually, failed, pending, succeeded, type Check } from '../../fixtures/expect/expectation.ts';
import { KubeAccess } from '../../providers/kube.ts';
import { runProfile } from '../../fixtures/run-context.ts';
import { describeSuite, expect, skipBecause, test } from '../../fixtures/test.ts';
import { suite } from '../catalogue.ts';
import { watchReadyReplicas } from '../../fixtures/watchers/ready-replicas-watch.ts';
import { watchRequests, type HttpWatch } from '../../fixtures/watchers/http-watch.ts';
import { apiGet } from '../../providers/api-get.ts';
import { runContext } from '../../fixtures/run-context.ts';
import { extraReplicasCoLocated, extraReplicasPending, replicasSpread, workloadSettled } from '../../fixtures/workload-checks.ts';
import {
  allPods,
  describeWorkload,
  domainOf,
  domainsOf,
  livePods,
  podName,
  readWorkload,
  schedulableNodes,
  unschedulableMessage,
  workloadOf,
} from '../../fixtures/workloads.ts';

const UNREACHABLE = 'node.kubernetes.io/unreachable';
/** a previous test may have just powered a node back on: give the cluster time to settle */
const STEADY_TIMEOUT_MS = 240_000;
/** how long the scheduler's refusal must hold */
const HOLD_MS = 5_000;

const declared = await runProfile();
const { allowRemote } = runContext();
const apps = declared.apps.filter((a) => a.workload.antiAffinity !== 'none');

function steadyState(kube: KubeAccess, profile: Profile, app: AppSpec) {
  return eventually(
    `steady state: every node Ready, ${app.name} settled at ${app.workload.replicas} Ready replicas`,
    all(nodesReady(kube, profile.nodes.map((n) => n.name)), workloadSettled(kube, app)),
    { timeoutMs: STEADY_TIMEOUT_MS },
  );
}

/** The replacement replica got a node, and with required anti-affinity a domain no other replica holds. */
function replacementScheduled(kube: KubeAccess, app: AppSpec, replacement: k8s.V1Pod): Check {
  const spread = replicasSpread(kube, app);
  return async () => {
    const pod = await kube.core.readNamespacedPod({ namespace: app.namespace, name: podName(replacement) });
    if (!pod.spec?.nodeName) return pending(`${podName(pod)} not scheduled: ${unschedulableMessage(pod) ?? 'no scheduler verdict yet'}`);
    if (app.workload.antiAffinity !== 'required') return succeeded(`${podName(pod)} scheduled on ${pod.spec.nodeName}`);
    return spread();
  };
}

/** Seconds between the taint and the eviction (deletionTimestamp minus the grace period), and what the pod tolerates. */
function evictionDelay(pod: k8s.V1Pod, taint: k8s.V1Taint): { seconds: number; toleratedSeconds: number } {
  const meta = pod.metadata!;
  const evictedAt = new Date(meta.deletionTimestamp!).getTime() - (meta.deletionGracePeriodSeconds ?? 0) * 1000;
  const toleration = pod.spec?.tolerations?.find(
    (t) => (t.key === UNREACHABLE || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'),
  );
  return { seconds: (evictedAt - new Date(taint.timeAdded!).getTime()) / 1000, toleratedSeconds: toleration?.tolerationSeconds ?? 0 };
}

/**
 * One GET to the app's Service through the API server's service proxy, which picks one of the Service's ready
 * endpoints: the same request works from anywhere the API answers, whatever the Service's type.
 */
function serviceRequest(kube: KubeAccess, app: AppSpec): () => Promise<{ ok: boolean; result: string }> {
  const path = `/api/v1/namespaces/${app.namespace}/services/${app.service!.name}:${app.service!.port}/proxy/`;
  return async () => {
    const r = await apiGet(kube, kube.server, path, { timeoutMs: 1000, allowRemote });
    return { ok: r.status < 500, result: String(r.status) };
  };
}

describeSuite(suite('ha/anti-affinity'), () => {
  if (!apps.length) test('no app in the profile declares pod anti-affinity', async ({ skip }) => skipBecause(skip, 'no app in the profile declares pod anti-affinity'));

  for (const app of apps) {
    const ref = workloadOf(app);
    const key = app.workload.topologyKey;
    const required = app.workload.antiAffinity === 'required';

    test(`${app.name}: replicas run on distinct ${key}`, async ({ kube, profile }) => {
      await steadyState(kube, profile, app);
      await eventually(`replicas of ${describeWorkload(ref)} on distinct ${key}`, replicasSpread(kube, app), { timeoutMs: 10_000 });
    });

    test(`${app.name}: one replica more than the schedulable ${key} domains is ${required ? 'left Pending by the scheduler' : 'co-located'}`, async ({
      kube,
      profile,
      faults,
      timeline,
    }) => {
      await steadyState(kube, profile, app);
      const workload = await readWorkload(kube, ref);
      const domains = domainsOf(schedulableNodes(await kube.nodes(), workload.spec?.template.spec, key), key);
      const replicas = domains.size + 1;
      await faults.pauseReconcileOf(ref.namespace, 'skip-reconcile: self-heal would undo the scale this test applies');
      const scaled = await faults.scale(ref, replicas, {
        restoreTo: app.workload.replicas,
        why: `${domains.size} schedulable ${key} domains: ${[...domains].join(', ')}`,
      });

      if (required) {
        const extraPending = extraReplicasPending(kube, app, replicas, domains.size);
        await eventually(`replica ${replicas} left Pending by required anti-affinity`, extraPending, { timeoutMs: 60_000 });
        await consistently(`replica ${replicas} stays Pending`, extraPending, { forMs: HOLD_MS });
        timeline.mark('extra replica Pending', 'detection', (await extraPending()).message);
      } else {
        const coLocated = extraReplicasCoLocated(kube, app, replicas);
        await eventually(`replica ${replicas} co-located as preferred anti-affinity allows`, coLocated, { timeoutMs: 60_000 });
        timeline.mark('extra replica co-located', 'detection', (await coLocated()).message);
      }

      await scaled.undo();
      timeline.mark(`scaled back to ${app.workload.replicas} replicas`, 'recovery');
      await eventually(`${app.name} back at ${app.workload.replicas} replicas on distinct ${key}`, all(workloadSettled(kube, app), replicasSpread(kube, app)), {
        timeoutMs: 120_000,
      });
    });

    test(`${app.name}: a worker's power loss is detected, its replica evicted and replaced as the rule allows, the service kept`, async ({
      kube,
      nodes,
      profile,
      topology,
      slo,
      timeline,
      target,
      skip,
    }) => {
      if (app.workload.replicas < 2) await skipBecause(skip, `${app.name} runs ${app.workload.replicas} replica: no service to keep through a node loss`);
      await steadyState(kube, profile, app);

      const workload = await readWorkload(kube, ref);
      const [before, nodeList] = await Promise.all([livePods(kube, workload), kube.nodes()]);
      const victimName = before.map((p) => p.spec?.nodeName).find((n) => topology.workers.some((w) => w.name === n));
      if (!victimName) throw new Error(`no replica of ${app.name} runs on a profile worker: ${before.map((p) => `${podName(p)}@${p.spec?.nodeName}`).join(', ')}`);
      const victim = topology.byName(victimName);
      const onVictim = before.filter((p) => p.spec?.nodeName === victim.name);
      // the evicted replica stays bound to the dead node until it comes back, so its domain counts as taken
      const taken = new Set(before.map((p) => domainOf(p, nodeList, key)));
      const free = [...domainsOf(schedulableNodes(nodeList.filter((n) => n.metadata?.name !== victim.name), workload.spec?.template.spec, key), key)].filter(
        (d) => !taken.has(d),
      );
      const replacementStaysPending = required && free.length === 0;
      timeline.mark(`victim ${victim.name}`, 'info', `runs ${onVictim.map(podName).join(', ')}; free ${key} domains: ${free.join(', ') || 'none'}`);

      // with a data plane, the app's Service is asked all along, if it answers HTTP in the steady state
      let service: { watch: HttpWatch; label: string; request: () => Promise<{ ok: boolean; result: string }> } | undefined;
      if (app.service && !target.lacking('dataplane')) {
        const request = serviceRequest(kube, app);
        const label = `GET Service ${app.namespace}/${app.service.name}:${app.service.port} (through the API server)`;
        const baseline = await request().catch((err: Error) => ({ ok: false, result: err.message }));
        if (baseline.ok) service = { watch: watchRequests(label, request, timeline, { intervalMs: 250, marks: false }), label, request };
        else timeline.mark(`${label} not watched`, 'info', `it does not answer HTTP in the steady state (${baseline.result})`);
      }
      const readiness = watchReadyReplicas(kube, workload, timeline);
      try {
        await nodes.powerOff(victim);
        const readNode = () => kube.core.readNode({ name: victim.name });

        const notReady = `${victim.name} NotReady`;
        await timeline.until(
          notReady,
          async () => (KubeAccess.isReady(await readNode()) ? pending(`${victim.name} still Ready`) : succeeded(`${victim.name} NotReady`)),
          slo.nodeNotReadySeconds,
          { kind: 'symptom', intervalMs: 1000 },
        );
        const { value: taint } = await timeline.until(
          `${UNREACHABLE}:NoExecute taint on ${victim.name}`,
          async () => {
            const taint = (await readNode()).spec?.taints?.find((t) => t.key === UNREACHABLE && t.effect === 'NoExecute');
            return taint ? succeeded(`tainted at ${String(taint.timeAdded)}`, taint) : pending(`${victim.name} not tainted ${UNREACHABLE}:NoExecute yet`);
          },
          slo.nodeNotReadySeconds,
          { kind: 'detection', intervalMs: 1000 },
        );

        const uids = new Set(before.map((p) => p.metadata?.uid));
        const { value: evicted } = await timeline.until(
          `${onVictim.map(podName).join(', ')} marked for deletion`,
          async () => {
            const pods = await allPods(kube, workload);
            const mine = pods.filter((p) => onVictim.some((v) => v.metadata?.uid === p.metadata?.uid));
            const left = mine.filter((p) => !p.metadata?.deletionTimestamp);
            return left.length ? pending(`not marked for deletion yet: ${left.map(podName).join(', ')}`) : succeeded(`${mine.length} pod(s) marked for deletion`, mine);
          },
          slo.podEvictionSeconds,
          { since: notReady, intervalMs: 1000 },
        );
        for (const pod of evicted) {
          const { seconds, toleratedSeconds } = evictionDelay(pod, taint);
          // API timestamps have one-second resolution
          expect(seconds, `${podName(pod)} was evicted ${seconds} s after the taint, but tolerates ${UNREACHABLE} for ${toleratedSeconds} s`).toBeGreaterThanOrEqual(
            toleratedSeconds - 2,
          );
        }

        const { value: replacement } = await timeline.until(
          'replacement replica created',
          async () => {
            const fresh = (await livePods(kube, workload)).find((p) => !uids.has(p.metadata?.uid));
            return fresh ? succeeded(`${podName(fresh)} created`, fresh) : pending(`no replica beyond ${before.map(podName).join(', ')} yet`);
          },
          slo.podEvictionSeconds,
          { since: notReady, intervalMs: 1000 },
        );
        if (replacementStaysPending) {
          const stillPending = extraReplicasPending(kube, app, app.workload.replicas, app.workload.replicas - onVictim.length);
          await eventually(`${podName(replacement)} left Pending by required anti-affinity`, stillPending, { timeoutMs: 30_000 });
          await consistently(`${podName(replacement)} stays Pending while ${victim.name} is down`, stillPending, { forMs: HOLD_MS });
          timeline.mark('replacement Pending', 'detection', (await stillPending()).message);
        } else {
          await eventually(`${podName(replacement)} scheduled as ${app.workload.antiAffinity} anti-affinity allows`, replacementScheduled(kube, app, replacement), {
            timeoutMs: 60_000,
          });
          timeline.mark('replacement scheduled', 'detection');
        }

        if (service) {
          // the dead replica's endpoint is out of the Service once its node is NotReady: every request must answer
          const answers: Check = async () => {
            const r = await service!.request().catch((err: Error & { code?: string }) => ({ ok: false, result: err.code ?? err.message }));
            return r.ok ? succeeded(`answered ${r.result}`) : failed(`${service!.label} got ${r.result} with ${victim.name} down`);
          };
          await eventually(`${service.label} answers with ${victim.name} down`, async () => {
            const o = await answers();
            return o.state === 'failed' ? pending(o.message) : o;
          }, { timeoutMs: 30_000 });
          await consistently(`${service.label} answers every request with ${victim.name} down`, answers, { forMs: 5_000, intervalMs: 250 });
          timeline.mark(`the Service answers with ${victim.name} down`, 'detection', service.watch.summary());
        }

        await nodes.restore(victim);
        const recovered = all(nodesReady(kube, [victim.name]), workloadSettled(kube, app), ...(required ? [replicasSpread(kube, app)] : []));
        await timeline.until(`${victim.name} Ready and ${app.name} available again`, recovered, slo.nodeRecoverySeconds, {
          since: `restore ${victim.name}`,
          kind: 'recovery',
          intervalMs: 1000,
        });
      } finally {
        await readiness.stop();
        await service?.watch.stop();
      }
      if (service) timeline.mark(`${service.label} over the experiment`, 'info', service.watch.summary());
      expect(readiness.samples, 'the Ready replicas were never sampled').toBeGreaterThan(0);
      const gaps = readiness.noneReadyAtMs.map((ms) => (ms / 1000).toFixed(0));
      expect(gaps, `no Ready replica of ${app.name} at ${gaps.join(', ')} s into the experiment`).toEqual([]);
    });
  }
});
