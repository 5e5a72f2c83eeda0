/**
 * A Kubernetes minor upgrade, rolled the way an operator rolls it: control planes one at a time (the VIP holder
 * last), then each worker cordoned, drained, upgraded and uncordoned. While it runs: /readyz through the VIP is
 * polled on fresh connections (its longest gap is measured against slo.upgradeApiGapSeconds), etcd must be healthy
 * on every member after each node, and the LoadBalancer app carries load during each node's turn, the failed share
 * over the whole upgrade within slo.load.failoverErrorBudget (each turn's share reported beside it). At the end every node reports the new release. Opt-in (run --upgrade-to): it
 * upgrades the cluster for good. On the lab the target performs the upgrade itself; the property suites are then
 * run again on the upgraded lab by whoever asked for the rehearsal (tests/lab/upgrade-rehearsal.test.ts).
 */
import { join } from 'node:path';
import { boundedScenario, DEFAULT_SCENARIO_FILE, readScenario } from '../../core/load/bounded.ts';
import { all, eventually, failed, succeeded } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy, nodesReady, vipServing } from '../../fixtures/checks.ts';
import { announcedAndAnswering } from '../../fixtures/metallb-steady.ts';
import type { LoadReport, LoadSession } from '../../fixtures/load.ts';
import { watchVip } from '../../fixtures/watchers/vip-watch.ts';
import { describeSuite, expectThat, figure, skipBecause, test } from '../../fixtures/test.ts';
import type { UpgradeStep } from '../../providers/interfaces.ts';
import { suite } from '../catalogue.ts';

const SCENARIO = readScenario(join(import.meta.dirname, '..', '..', DEFAULT_SCENARIO_FILE));
/** requests per second during each node's turn: enough to see a lost second */
const UPGRADE_RPS = 20;

describeSuite(suite('upgrade/rolling'), () => {
  test('a rolling Kubernetes minor upgrade keeps the API through the VIP, etcd and the LoadBalancer app within their SLOs', async ({
    upgrade,
    kube,
    vip,
    etcd,
    load,
    timeline,
    slo,
    profile,
    topology,
    skip,
  }) => {
    const app = profile.apps.find((a) => a.service?.type === 'LoadBalancer');
    if (!app?.service) return skipBecause(skip, `no profile app has a LoadBalancer Service (apps: ${profile.apps.map((a) => a.name).join(', ') || 'none'})`);
    const everyNode = [...topology.controlPlanes, ...topology.workers].map((n) => n.name);
    await eventually(
      'steady state: one VIP holder, /readyz through the VIP, etcd healthy, every node Ready',
      all(vipServing(vip), etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, everyNode)),
      { timeoutMs: 180_000 },
    );
    const { value } = await eventually(
      `steady state: ${app.service.name} announced and answering`,
      announcedAndAnswering(kube, { namespace: app.namespace, name: app.service.name }, app.service.port),
      { timeoutMs: 180_000 },
    );
    const before = await upgrade.rolling.versions();
    await figure('versions before', Object.entries(before).map(([n, v]) => `${n} ${v}`).join(', '));
    await figure('upgrade to', upgrade.to);
    const cannot = await upgrade.rolling.cannotReach(upgrade.to);
    await expectThat(`the cluster can be rolled to ${upgrade.to}`, cannot ? failed(cannot) : succeeded(`every node can boot ${upgrade.to}`));

    const budget = profile.slo.load.failoverErrorBudget;
    // no threshold per turn: the budget is judged over the whole upgrade below, each turn's share reported beside it
    const scenario = boundedScenario(SCENARIO, profile, { rps: UPGRADE_RPS, seconds: profile.safety.maxLoadSeconds, thresholds: {} });
    const watch = watchVip(vip, timeline);
    const turns: Array<{ node: string; report: LoadReport; step?: UpgradeStep }> = [];
    let session: { node: string; load: LoadSession } | undefined;
    const endSession = async (why: string, step?: UpgradeStep) => {
      if (!session) return;
      const s = session;
      session = undefined;
      s.load.stop(why);
      turns.push({ node: s.node, report: await s.load.finish(), step });
    };
    let steps: UpgradeStep[] = [];
    try {
      steps = await upgrade.rolling.run(upgrade.to, {
        onStepStart: (node) => {
          timeline.fault(`upgrade ${node} to ${upgrade.to}`);
          session = { node, load: load.start(`load during ${node}'s upgrade`, scenario, value!.url) };
        },
        onStepDone: async (step) => {
          timeline.mark(`${step.node}: ${step.from} -> ${step.to} in ${step.seconds.toFixed(1)} s`, 'recovery', step.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)} s`).join('; '));
          await endSession(`${step.node} upgraded`, step);
          await eventually(`etcd healthy on every member after ${step.node}`, etcdMembersHealthy(etcd, topology.controlPlanes.length), { timeoutMs: 30_000 });
        },
      });
    } finally {
      await endSession('the upgrade stopped');
      await watch.stop();
    }

    const gap = watch.longestReadyzOutage();
    const now = timeline.nowMs();
    await timeline.measured(
      'longest /readyz gap through the VIP during the upgrade',
      gap.fromMs ?? now,
      gap.toMs ?? now,
      slo.upgradeApiGapSeconds,
      `${gap.failures} failed /readyz samples in it${gap.recovered ? '' : ', and /readyz had not answered again when the upgrade ended'}`,
    );
    await expectThat('one VIP holder at a time throughout', watch.verdict());
    for (const s of steps) await figure(`${s.node} upgraded in`, `${s.seconds.toFixed(1)} s (${s.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)} s`).join('; ')})`);
    // the budget holds over the whole upgrade, as it would for one failover: each turn's share is reported beside it
    const perTurn = turns.map((t) => ({ node: t.node, failed: t.report.result.samples.filter((x) => !x.expected).length, total: t.report.result.samples.length }));
    for (const t of perTurn) await figure(`failed requests during ${t.node}'s turn`, `${t.failed} of ${t.total} (${t.total ? ((t.failed / t.total) * 100).toFixed(1) : '0'} %)`);
    const failedAll = perTurn.reduce((n, t) => n + t.failed, 0);
    const totalAll = perTurn.reduce((n, t) => n + t.total, 0);
    const share = totalAll ? failedAll / totalAll : 0;
    await figure('failed requests during the upgrade', `${failedAll} of ${totalAll} (${(share * 100).toFixed(2)} %, budget ${(budget * 100).toFixed(1)} %)`);
    const worst = [...perTurn].sort((a, b) => b.failed - a.failed)[0];
    const breakdown = perTurn.filter((t) => t.failed).map((t) => `${t.node} ${t.failed} of ${t.total}`).join(', ') || 'none failed';
    await expectThat(
      `the LoadBalancer app under load loses at most slo.load.failoverErrorBudget (${budget}) of its requests over the upgrade`,
      totalAll === 0
        ? failed('no request was sent: the load never ran')
        : share <= budget
          ? succeeded(`${failedAll} of ${totalAll} failed (${(share * 100).toFixed(2)} %; ${breakdown})`)
          : failed(`${failedAll} of ${totalAll} requests failed (${(share * 100).toFixed(2)} %), more than ${budget}; most during ${worst!.node}'s turn (${breakdown})`),
    );
    const after = await upgrade.rolling.versions();
    await figure('versions after', Object.entries(after).map(([n, v]) => `${n} ${v}`).join(', '));
    const behind = Object.entries(after).filter(([, v]) => v !== upgrade.to);
    await expectThat(
      `every node runs ${upgrade.to}`,
      behind.length ? failed(`still on another release: ${behind.map(([n, v]) => `${n} ${v}`).join(', ')}`) : succeeded(`${Object.keys(after).length} nodes at ${upgrade.to}`),
    );
  });
});
