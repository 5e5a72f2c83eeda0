/**
 * The Kubernetes API VIP fails over to another control-plane node: after a hard power-off of its holder
 * (the stale election must expire: up to the lease) and after a graceful shutdown (the holder resigns:
 * almost instant). Timed to /readyz answering through the VIP again, from the power-off, or from the shutdown
 * request (a shutdown returns only once the node is off); never two holders at once.
 */
import { all, eventually } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy, nodesReady, vipServedByAnotherNode, vipServing } from '../../fixtures/checks.ts';
import { describeSuite, expectThat, test } from '../../fixtures/test.ts';
import { suite } from '../catalogue.ts';
import { watchVip } from '../../fixtures/watchers/vip-watch.ts';

describeSuite(suite('ha/vip-failover'), () => {
  for (const mode of ['hard power-off', 'graceful shutdown'] as const) {
    test(`the VIP moves to another control plane after a ${mode} of its holder`, async ({ vip, etcd, kube, nodes, topology, timeline, slo }) => {
      const steady = all(vipServing(vip), etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, topology.controlPlanes.map((n) => n.name)));
      await eventually('steady state: one VIP holder, /readyz through the VIP, etcd healthy', steady, { timeoutMs: 180_000 });
      const [holder] = await vip.holders();
      const victim = topology.byName(holder!);
      const watch = watchVip(vip, timeline);
      const served = '/readyz answers through the VIP from another node';
      try {
        const bound = mode === 'hard power-off' ? slo.vipFailoverHardSeconds : slo.vipFailoverGracefulSeconds;
        if (mode === 'hard power-off') await nodes.powerOff(victim);
        else {
          // the shutdown returns once the node is off (a minute on the lab): the holder resigned long before, so
          // the failover is measured from the request, by the watch that sampled holders and /readyz meanwhile
          await nodes.shutdown(victim);
          const asked = timeline.markAt(`shut down ${victim.name}`)!;
          const seen = watch.servedByAnotherSince(victim.name, asked);
          if (seen) await timeline.measured(served, asked, seen.atMs, bound, `VIP on ${seen.holder}, /readyz answered (seen by the VIP watch while ${victim.name} shut down)`);
        }
        if (!timeline.markAt(served)) {
          await timeline.until(served, vipServedByAnotherNode(vip, victim.name), bound, { kind: 'recovery', intervalMs: 200, timeoutSeconds: bound.seconds + 15 });
        }
      } finally {
        await watch.stop();
      }
      const holders = watch.verdict();
      timeline.mark('VIP holders watched', holders.state === 'succeeded' ? 'info' : 'symptom', holders.message);
      await expectThat('never two VIP holders at once', holders);
      await nodes.restore(victim);
      await eventually(`${victim.name} back: etcd 3/3 and the node Ready`, all(etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, [victim.name])), {
        timeoutMs: slo.nodeRecoverySeconds.ms,
      });
      timeline.mark(`${victim.name} recovered`, 'recovery');
    });
  }
});
