/**
 * etcd keeps quorum with one control plane down (2/3 healthy, one leader, writes accepted) and loses it with
 * two (writes refused, the API reports etcd unhealthy); powered back, every key written before and during the
 * faults is still there and the raft index advances on every member.
 * etcd is observed member by member (never through the VIP); API writes go to a surviving API server.
 */
import { randomUUID } from 'node:crypto';
import { all, consistently, eventually, failed, pending, succeeded, type Check } from '../../fixtures/expect/expectation.ts';
import type { GuardedNodes } from '../../fixtures/guarded-nodes.ts';
import { apiAnswers, etcdMembersHealthy, leaderOtherThan, nodesReady, writeAccepted } from '../../fixtures/checks.ts';
import { widened, type Slos } from '../../fixtures/slo.ts';
import type { Timeline } from '../../fixtures/timeline/timeline.ts';
import type { NodeSpec } from '../../core/profile/schema.ts';
import type { EtcdProbe } from '../../providers/interfaces.ts';
import type { KubeAccess } from '../../providers/kube.ts';
import { describeSuite, expect, skipBecause, test } from '../../fixtures/test.ts';
import { suite } from '../catalogue.ts';
import { runContext } from '../../fixtures/run-context.ts';
import { httpsRequest } from '../../providers/https-json.ts';

const apiOf = (kube: KubeAccess, node: NodeSpec) => kube.through(`https://${node.ip}:6443`);

/**
 * Refuse to experiment on a cluster that is already degraded: a member whose node is powered off before the
 * experiment fails the steady state at once (waiting would not help); a member still recovering is waited for.
 */
async function steadyState(etcd: EtcdProbe, kube: KubeAccess, nodes: GuardedNodes, cps: NodeSpec[], timeoutMs: number) {
  if (cps.length < 3) throw new Error(`etcd quorum experiments need at least 3 control-plane nodes; the profile declares ${cps.length}`);
  const poweredOff: Check = async () => {
    const off = [];
    for (const n of cps) if ((await nodes.status(n)) === 'stopped') off.push(n.name);
    return off.length
      ? failed(`refusing to start: control plane ${off.join(', ')} is already powered off, so etcd is degraded before any fault (power it on first)`)
      : succeeded('every control plane is powered on');
  };
  await eventually(
    `steady state: etcd ${cps.length}/${cps.length} healthy with one leader, control planes Ready`,
    all(poweredOff, etcdMembersHealthy(etcd, cps.length), nodesReady(kube, cps.map((n) => n.name))),
    { timeoutMs },
  );
}

/**
 * The API answers through the profile's server (the VIP) again. When the holder of the VIP was among the nodes
 * powered off, its stale election must expire first, which the hard-failover SLO bounds: measured from the power-off,
 * or from `since` when the election could not expire before (without quorum etcd expires no lease).
 */
async function apiAnswersAgain(kube: KubeAccess, timeline: Timeline, slo: Slos, since?: string) {
  await timeline.until(`the API answers through ${kube.server} again`, apiAnswers(kube, runContext()), slo.vipFailoverHardSeconds, { since, kind: 'recovery' });
}

describeSuite(suite('ha/etcd-quorum'), () => {
  for (const victimRole of ['leader', 'follower'] as const) {
    test(`one control plane down (the etcd ${victimRole}): 2/3 healthy, one leader, writes accepted`, async ({ etcd, kube, nodes, topology, timeline, slo, skip }) => {
      const cps = topology.controlPlanes;
      await steadyState(etcd, kube, nodes, cps, slo.nodeRecoverySeconds.ms);
      const run = randomUUID().slice(0, 8);
      expect(await etcd.put!(`/clusterproof/sentinel/${run}/before`, 'before'), 'a quorum write before the fault').toBe(true);

      const leader = await etcd.leader();
      const victim = topology.byName(victimRole === 'leader' ? leader! : cps.find((n) => n.name !== leader)!.name);
      const survivor = cps.find((n) => n.name !== victim.name)!;
      await nodes.powerOff(victim);

      if (victimRole === 'leader') {
        await timeline.until('a new etcd leader is elected', leaderOtherThan(etcd, victim.name), slo.etcdLeaderElectionSeconds, { kind: 'detection', intervalMs: 100 });
      }
      await timeline.until('the first quorum write is accepted', writeAccepted(etcd, `/clusterproof/sentinel/${run}/during`, 'during', 1000), slo.apiWriteRecoverySeconds, {
        kind: 'recovery',
        intervalMs: 100,
      });
      await timeline.until(
        `an API write through ${survivor.name}'s API server succeeds`,
        async () => {
          await apiOf(kube, survivor).writeSentinel(`clusterproof-${run}`, { phase: 'one-down' });
          return succeeded(`ConfigMap clusterproof-${run} written through ${survivor.name}`);
        },
        slo.apiWriteRecoverySeconds,
        { kind: 'recovery', intervalMs: 200 },
      );
      await consistently(`2/${cps.length} members healthy with exactly one leader`, etcdMembersHealthy(etcd, cps.length - 1), { forMs: 5_000 });

      await nodes.restore(victim);
      await timeline.until('the member rejoins: 3/3 healthy', etcdMembersHealthy(etcd, cps.length), slo.nodeRecoverySeconds, {
        since: `restore ${victim.name}`,
        kind: 'recovery',
      });
      await apiAnswersAgain(kube, timeline, slo);
      expect(await etcd.get!(`/clusterproof/sentinel/${run}/before`)).toBe('before');
      expect(await etcd.get!(`/clusterproof/sentinel/${run}/during`)).toBe('during');
      await kube.deleteSentinels().catch(() => undefined);
    });
  }

  test('two control planes down: quorum is lost, writes fail; powered back, every key survives', async ({ etcd, kube, nodes, guard, topology, timeline, slo, skip }) => {
    const verdict = guard.mayLoseQuorum();
    if (!verdict.allowed) await skipBecause(skip, verdict.reason);
    const cps = topology.controlPlanes;
    await steadyState(etcd, kube, nodes, cps, slo.nodeRecoverySeconds.ms);
    const run = randomUUID().slice(0, 8);
    const written: string[] = [];
    const put = async (key: string, timeoutMs = 2000) => {
      const ok = await etcd.put!(`/clusterproof/sentinel/${run}/${key}`, key, timeoutMs);
      if (ok) written.push(key);
      return ok;
    };
    expect(await put('before'), 'a quorum write before the faults').toBe(true);

    const leader = await etcd.leader();
    const [first, second] = cps.filter((n) => n.name !== leader);
    const remaining = topology.byName(leader!);
    await nodes.powerOff(first!);
    await timeline.until(
      'writes continue with one member down',
      async () => ((await put('one-down', 1000)) ? succeeded('a quorum write accepted') : pending('quorum writes refused or timed out')),
      slo.apiWriteRecoverySeconds,
      { intervalMs: 100 },
    );

    await nodes.powerOff(second!);
    await timeline.until(
      'writes are refused without quorum',
      async () => ((await put('no-quorum', 1500)) ? pending('a quorum write was still accepted') : succeeded('quorum writes refused or timed out')),
      slo.quorumLossWriteFailureSeconds,
      { kind: 'symptom' },
    );
    const api = apiOf(kube, remaining);
    await timeline.until(
      `${remaining.name}'s API server reports etcd unhealthy`,
      async () => {
        const etcdLine = (await fetchReadyz(api)).split('\n').find((l) => l.includes('etcd')) ?? 'no etcd line in /readyz?verbose';
        return /\[-\]etcd/.test(etcdLine) ? succeeded(etcdLine) : pending(etcdLine);
      },
      widened(slo.quorumLossWriteFailureSeconds, 30, "the API server's etcd health check interval"),
      { kind: 'detection' },
    );

    await nodes.restore(first!);
    await nodes.restore(second!);
    await timeline.until('quorum is back: 3/3 healthy with one leader', etcdMembersHealthy(etcd, cps.length), slo.nodeRecoverySeconds, {
      since: `restore ${second!.name}`,
      kind: 'recovery',
    });
    expect(await put('after'), 'a quorum write after recovery').toBe(true);
    await apiAnswersAgain(kube, timeline, slo, `restore ${second!.name}`);

    const before = await etcd.members();
    await eventually(
      'the raft index advances and matches on every member',
      async () => {
        await put(`tick-${Date.now()}`);
        const now = await etcd.members();
        const indexes = now.map((m) => m.raftIndex ?? -1);
        const advanced = now.every((m) => (m.raftIndex ?? -1) > (before.find((b) => b.name === m.name)?.raftIndex ?? -1));
        const spread = Math.max(...indexes) - Math.min(...indexes);
        return advanced && spread <= 2
          ? { state: 'succeeded', message: `raft index ${indexes.join('/')}` }
          : { state: 'pending', message: `raft indexes ${now.map((m) => `${m.name}=${m.raftIndex}`).join(' ')}` };
      },
      { timeoutMs: 30_000 },
    );
    for (const key of written) expect(await etcd.get!(`/clusterproof/sentinel/${run}/${key}`), `sentinel ${key} written while the cluster accepted writes`).toBe(key);
    expect(written).not.toContain('no-quorum');
  });
});

/** GET /readyz?verbose through a specific API server (public to unauthenticated clients); "[-]etcd failed" when etcd is down. */
async function fetchReadyz(api: KubeAccess): Promise<string> {
  const cluster = api.config.getCurrentCluster()!;
  const res = await httpsRequest(`${cluster.server}/readyz?verbose`, {
    ca: cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined,
    caFile: cluster.caFile,
    timeoutMs: 5000,
  });
  return res.body;
}
