/**
 * The Kubernetes API VIP fails over to another control-plane node: after a hard power-off of its holder
 * (the stale election must expire: up to the lease) and after a graceful shutdown (the holder resigns:
 * almost instant). Timed to /readyz answering through the VIP again; never two holders at once.
 */
import { all, eventually } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy, nodesReady, vipServing } from '../../fixtures/checks.ts';
import { describe, expect, test } from '../../fixtures/test.ts';
import { watchVip } from '../../fixtures/watchers/vip-watch.ts';

describe('ha/vip-failover', () => {
  for (const mode of ['hard power-off', 'graceful shutdown'] as const) {
    test(`the VIP moves to another control plane after a ${mode} of its holder`, async ({ vip, etcd, kube, nodes, topology, timeline, slo }) => {
      const steady = all(vipServing(vip), etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, topology.controlPlanes.map((n) => n.name)));
      await eventually('steady state: one VIP holder, /readyz through the VIP, etcd healthy', steady, { timeoutMs: 180_000 });
      const [holder] = await vip.holders();
      const victim = topology.byName(holder!);
      const watch = watchVip(vip, timeline);
      try {
        if (mode === 'hard power-off') await nodes.powerOff(victim);
        else await nodes.shutdown(victim);
        const sloSeconds = mode === 'hard power-off' ? slo.vipFailoverHardSeconds : slo.vipFailoverGracefulSeconds;
        const sloName = mode === 'hard power-off' ? 'slo.vipFailoverHardSeconds' : 'slo.vipFailoverGracefulSeconds';
        const { value: newHolder } = await timeline.until(
          '/readyz answers through the VIP from another node',
          async () => {
            const holders = await vip.holders();
            const other = holders.find((h) => h !== victim.name);
            return other && holders.length === 1 && (await vip.readyz(1000)).ok ? other : undefined;
          },
          { sloSeconds, sloName, kind: 'recovery', intervalMs: 200, timeoutSeconds: sloSeconds + 15 },
        );
        expect(newHolder).not.toBe(victim.name);
      } finally {
        await watch.stop();
      }
      expect(watch.splitBrain, `the VIP was held by two nodes at once: ${JSON.stringify(watch.splitBrain.slice(0, 3))}`).toEqual([]);
      await nodes.restore(victim);
      await eventually(`${victim.name} back: etcd 3/3 and the node Ready`, all(etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, [victim.name])), {
        timeoutMs: slo.nodeRecoverySeconds * 1000,
      });
      timeline.mark(`${victim.name} recovered`, 'recovery');
    });
  }
});
