/**
 * MetalLB layer 2 failover: the node whose speaker answers ARP for a LoadBalancer address loses power; another node
 * must announce the address within slo.loadBalancerFailoverSeconds (MetalLB: "within a few seconds", more than about
 * 10 s is a bug), and the Service must answer through it again: at once when its backends live elsewhere, at the
 * latest once what ran on the dead node is replaced (slo.nodeNotReadySeconds + slo.podEvictionSeconds): the
 * guestbook needs its single redis, and when redis ran there the app is down until it is rescheduled. A client sends one request after another through the
 * address the whole time: the requests that failed and the longest outage it saw are reported.
 */
import { attachText } from '../../core/report/attach.ts';
import { eventually, failed, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { nodesBackSince } from '../../fixtures/checks.ts';
import { widened } from '../../fixtures/slo.ts';
import { watchHttp } from '../../fixtures/watchers/http-watch.ts';
import { describeSuite, figure, skipBecause, test } from '../../fixtures/test.ts';
import { l2Announcements } from '../../providers/metallb/l2-status.ts';
import { announcedAndAnswering, answers, endpointsByNode, names } from '../../fixtures/metallb-steady.ts';
import { suite } from '../catalogue.ts';

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
      announcedAndAnswering(kube, ref, app.service.port),
      { timeoutMs: 180_000 },
    );
    const { ip, url } = steady.value!;
    const victim = topology.byName(steady.value!.node);
    timeline.mark(`${victim.name} announces ${ip}`);
    await figure('LoadBalancer address', ip);
    await figure('announcer powered off', victim.name);

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
    await figure('failed requests', `${watch.failed} of ${watch.samples.length}`);
    await figure('client outage', `${(watch.outage().ms / 1000).toFixed(1)} s`);
    timeline.mark(`taken over in ${takeover!.seconds.toFixed(1)} s (${takeover!.message}); answering ${answered!.seconds.toFixed(1)} s after that`, 'recovery');

    const restored = new Date();
    await nodes.restore(victim);
    await eventually(`${victim.name} back: Ready, its kubelet renewing its lease again`, nodesBackSince(kube, [victim.name], restored), {
      timeoutMs: slo.nodeRecoverySeconds.ms,
    });
  });
});
