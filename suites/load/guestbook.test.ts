/**
 * What visitors of the LoadBalancer app see under load (the shipped scenario, k6/guestbook.scenario.json, on the
 * embedded open-model engine): steady load meets the profile's thresholds; while the node announcing the address
 * loses power the failed requests form one window that closes within its bound and no request fails after it;
 * while the API VIP fails over not one request fails, because the data plane does not depend on the control plane;
 * during a GitOps rollout of the app (a pod-template annotation pushed to git: every replica replaced) not one fails.
 * Every experiment draws its load (per-second rate, p50/p95/p99, failures) on the timeline with the fault marks and
 * attaches its threshold tables.
 */
import { join } from 'node:path';
import { boundedScenario, DEFAULT_SCENARIO_FILE, readScenario } from '../../core/load/bounded.ts';
import { errorWindows } from '../../core/load/per-second.ts';
import type { AppSpec, Profile } from '../../core/profile/schema.ts';
import { all, eventually, failed, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy, nodesBackSince, nodesReady, vipServedByAnotherNode, vipServing } from '../../fixtures/checks.ts';
import { announcedAndAnswering } from '../../fixtures/metallb-steady.ts';
import { appsSyncedAt, waitConverged } from '../../fixtures/gitops-checks.ts';
import { noTrackedAppReason, trackedApps } from '../../fixtures/gitops-apps.ts';
import { editManifest } from '../../fixtures/gitops-workspace.ts';
import { readWorkload, workloadOf } from '../../fixtures/workloads.ts';
import { widened } from '../../fixtures/slo.ts';
import { describeSuite, expect, expectThat, figure, skipBecause, test } from '../../fixtures/test.ts';
import type { SkipFn } from '../../fixtures/skip.ts';
import type { LoadReport, LoadSession } from '../../fixtures/load.ts';
import type { Timeline } from '../../fixtures/timeline/timeline.ts';
import { l2Announcements } from '../../providers/metallb/l2-status.ts';
import type { KubeAccess } from '../../providers/kube.ts';
import { suite } from '../catalogue.ts';

const SCENARIO = readScenario(join(import.meta.dirname, '..', '..', DEFAULT_SCENARIO_FILE));
/** the arrival rate of the failover experiments: enough requests per second to time an outage to the second */
const FAILOVER_RPS = 20;
/** how long a failover experiment's load runs (at most safety.maxLoadSeconds) */
const FAILOVER_LOAD_SECONDS = 120;
/** the load must end with this long free of failures: "no errors after recovery" */
const CLEAN_TAIL_MS = 10_000;

function lbApp(profile: Profile, skip: SkipFn): Promise<AppSpec & { service: NonNullable<AppSpec['service']> }> {
  const app = profile.apps.find((a) => a.service?.type === 'LoadBalancer');
  if (!app?.service) return skipBecause(skip, `no profile app has a LoadBalancer Service (apps: ${profile.apps.map((a) => a.name).join(', ') || 'none'})`) as never;
  return Promise.resolve(app as AppSpec & { service: NonNullable<AppSpec['service']> });
}

/** The profile apps with one replica whose pod runs on `node` ("namespace/workload"). */
async function singleReplicasOn(kube: KubeAccess, profile: Profile, node: string): Promise<string[]> {
  const out: string[] = [];
  for (const app of profile.apps.filter((a) => a.workload.replicas === 1)) {
    const pods = (await kube.core.listNamespacedPod({ namespace: app.namespace, fieldSelector: `spec.nodeName=${node}` })).items;
    if (pods.some((p) => p.metadata?.name?.startsWith(`${app.workload.name}-`))) out.push(`${app.namespace}/${app.workload.name}`);
  }
  return out;
}

function faultAtLoadMs(timeline: Timeline, session: LoadSession, fault: string): number {
  const at = timeline.markAt(fault);
  if (at === undefined) throw new Error(`timeline has no mark "${fault}"`);
  return at - session.startMs;
}

describeSuite(suite('load/guestbook'), () => {
  test('steady load meets the profile thresholds', async ({ load, kube, profile, skip }) => {
    const app = await lbApp(profile, skip);
    const { value } = await eventually(`steady state: ${app.service.name} announced and answering`, announcedAndAnswering(kube, { namespace: app.namespace, name: app.service.name }, app.service.port), {
      timeoutMs: 180_000,
    });
    const scenario = boundedScenario(SCENARIO, profile);
    await figure('scenario', `${scenario.name}: ${scenario.endpoints.map((e) => `${e.name} ×${e.weight}`).join(', ')}`);
    const report = await load.start('steady load', scenario, value!.url).finish();
    await figure('requests', String(report.result.samples.length));
    await expectThat('every threshold holds over the whole run', report.verdict);
  });

  test('load while the node announcing the LoadBalancer address loses power: one error window, closed within its bound', async ({
    load,
    kube,
    nodes,
    topology,
    timeline,
    slo,
    profile,
    skip,
  }) => {
    const app = await lbApp(profile, skip);
    const ref = { namespace: app.namespace, name: app.service.name };
    const { value } = await eventually(`steady state: ${ref.name} announced by one settled speaker and answering`, announcedAndAnswering(kube, ref, app.service.port), { timeoutMs: 180_000 });
    const victim = topology.byName(value!.node);
    // Endpoints on the dead node stay in the Service until it is NotReady, so through the new announcer some requests
    // still go to them: the error window closes once the node is NotReady (and its pods are replaced, for what the app
    // needs and only ran there)
    const bound = widened(slo.loadBalancerFailoverSeconds, slo.nodeNotReadySeconds.seconds + slo.podEvictionSeconds.seconds, 'slo.nodeNotReadySeconds + slo.podEvictionSeconds: endpoints on the dead node are removed once it is NotReady, its pods replaced after');
    // the budget is a share of the requests of a load this long, the fault 10 s into it (the profile's budget is
    // read against this window: a 10 s outage at a constant rate uses 1/12 of it)
    const seconds = Math.min(FAILOVER_LOAD_SECONDS, profile.safety.maxLoadSeconds);
    // A profile app with a single replica on the victim (the seed's redis) is down until it is replaced elsewhere,
    // and every app needing it with it: the budget then also allows that replacement's share of the load, stated
    // in the report, as the recovery bound already does
    const alone = await singleReplicasOn(kube, profile, victim.name);
    const widenedShare = alone.length ? Math.min(1, (slo.nodeNotReadySeconds.seconds + slo.podEvictionSeconds.seconds) / seconds) : 0;
    const budget = Math.min(1, profile.slo.load.failoverErrorBudget + widenedShare);
    if (alone.length) {
      timeline.mark(`single replica on ${victim.name}: ${alone.join(', ')}`, 'info', `error budget widened to ${budget.toFixed(2)} (slo.load.failoverErrorBudget + their replacement: slo.nodeNotReadySeconds + slo.podEvictionSeconds of ${seconds} s)`);
      await figure('single replicas on the announcer', alone.join(', '));
    }
    const scenario = boundedScenario(SCENARIO, profile, { rps: FAILOVER_RPS, seconds, thresholds: { http_req_failed: [`rate<${+budget.toFixed(4)}`] } });
    const session = load.start('load during the announcer power-off', scenario, value!.url);
    // the load runs its whole length (the budget is a share of it); on a failure it stops, and is still finished
    // once, so its charts and tables reach the report
    let failure: unknown;
    try {
      await eventually('10 s of steady load before the fault', async () => (session.samples.at(-1)?.atMs ?? 0) >= 10_000 ? succeeded('10 s of load') : pending('warming up'), { timeoutMs: 30_000 });
      await nodes.powerOff(victim);
      await timeline.until(
        `another node announces ${value!.ip}`,
        async () => {
          const others = (await l2Announcements(kube, ref)).filter((a) => a.node !== victim.name);
          if (others.length > 1) return failed(`${value!.ip} announced by several nodes at once: ${others.map((o) => o.node).join(', ')}`);
          return others.length ? succeeded(`${others[0]!.node} announces ${value!.ip}`) : pending('nobody else announces yet');
        },
        slo.loadBalancerFailoverSeconds,
        { kind: 'recovery', intervalMs: 200, timeoutSeconds: slo.loadBalancerFailoverSeconds.seconds + 20 },
      );
    } catch (err) {
      failure = err;
      session.stop('the experiment failed');
    }
    const report = await session.finish();
    if (failure) throw failure;
    const faultMs = faultAtLoadMs(timeline, session, `power off ${victim.name}`);
    const windows = errorWindows(report.result.samples.filter((s) => s.atMs >= faultMs), 2000);
    const failedAfter = report.result.samples.filter((s) => s.atMs >= faultMs && !s.expected).length;
    const total = report.result.samples.length;
    await figure('announcer powered off', victim.name);
    await figure('failed requests', `${failedAfter} of ${total} (${((failedAfter / total) * 100).toFixed(1)} %, budget ${(profile.slo.load.failoverErrorBudget * 100).toFixed(1)} %)`);
    await figure('error window', windows.length ? `${((windows.at(-1)!.toMs - windows[0]!.fromMs) / 1000).toFixed(1)} s (${windows.length} stretch${windows.length > 1 ? 'es' : ''})` : 'none: no request failed');
    const lastFailureMs = windows.at(-1)?.toMs ?? faultMs;
    await timeline.measured('time to recovery under load (the last failed request)', session.at(faultMs), session.at(lastFailureMs), bound, `${failedAfter} requests failed after the power-off of ${victim.name}`);
    const end = report.result.samples.at(-1)?.atMs ?? 0;
    await expectThat(
      `no request failed in the last ${CLEAN_TAIL_MS / 1000} s of the load (after recovery)`,
      end - lastFailureMs >= CLEAN_TAIL_MS
        ? succeeded(`${((end - lastFailureMs) / 1000).toFixed(1)} s without a failed request at the end`)
        : failed(`requests still failed ${((end - lastFailureMs) / 1000).toFixed(1)} s before the load ended`),
    );
    await expectThat('the error budget holds (slo.load.failoverErrorBudget)', report.verdict);

    const restored = new Date();
    await nodes.restore(victim);
    await eventually(`${victim.name} back: Ready, its kubelet renewing its lease again`, nodesBackSince(kube, [victim.name], restored), { timeoutMs: slo.nodeRecoverySeconds.ms });
  });

  test('load while the API VIP fails over: not one request fails', async ({ load, kube, vip, etcd, nodes, topology, timeline, slo, profile, skip }) => {
    const app = await lbApp(profile, skip);
    const ref = { namespace: app.namespace, name: app.service.name };
    const { value } = await eventually(`steady state: ${ref.name} announced and answering`, announcedAndAnswering(kube, ref, app.service.port), { timeoutMs: 180_000 });
    await eventually(
      'steady state: one VIP holder, /readyz through the VIP, etcd healthy',
      all(vipServing(vip), etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, topology.controlPlanes.map((n) => n.name))),
      { timeoutMs: 180_000 },
    );
    const [holder] = await vip.holders();
    const victim = topology.byName(holder!);
    const scenario = boundedScenario(SCENARIO, profile, { rps: FAILOVER_RPS, seconds: profile.safety.maxLoadSeconds, thresholds: { http_req_failed: ['rate==0'] } });
    const session = load.start('load during the VIP failover', scenario, value!.url);
    let report: LoadReport;
    try {
      await eventually('5 s of steady load before the fault', async () => (session.samples.at(-1)?.atMs ?? 0) >= 5_000 ? succeeded('5 s of load') : pending('warming up'), { timeoutMs: 30_000 });
      await nodes.powerOff(victim);
      await timeline.until('/readyz answers through the VIP from another node', vipServedByAnotherNode(vip, victim.name), slo.vipFailoverHardSeconds, {
        kind: 'recovery',
        intervalMs: 200,
        timeoutSeconds: slo.vipFailoverHardSeconds.seconds + 15,
      });
      // a little load after the new holder answers: what depended on the old one would show now
      await new Promise((r) => setTimeout(r, 5_000));
    } finally {
      session.stop('the VIP moved');
      report = await session.finish();
    }
    await figure('VIP holder powered off', victim.name);
    await expectThat('no request failed while the VIP moved', report.verdict);
    await nodes.restore(victim);
    await eventually(`${victim.name} back: etcd healthy and the node Ready`, all(etcdMembersHealthy(etcd, topology.controlPlanes.length), nodesReady(kube, [victim.name])), {
      timeoutMs: slo.nodeRecoverySeconds.ms,
    });
  });
  test('load during a GitOps rollout of the LoadBalancer app: not one request fails', async ({ load, kube, gitops, argocd, profile, timeline, slo, skip }) => {
    const app = await lbApp(profile, skip);
    const tracked = (await trackedApps(argocd, profile, gitops.repo)).find((t) => t.spec.name === app.name);
    if (!tracked) return skipBecause(skip, noTrackedAppReason(profile, gitops.repo));
    const ref = { namespace: app.namespace, name: app.service.name };
    const { value } = await eventually(`steady state: ${ref.name} announced and answering`, announcedAndAnswering(kube, ref, app.service.port), { timeoutMs: 180_000 });
    await eventually(`steady state: ${tracked.application} Synced at the branch head and Healthy`, appsSyncedAt(argocd, [tracked.application], () => gitops.head()), { timeoutMs: 180_000 });
    const workload = workloadOf(tracked.spec);
    const before = await readWorkload(kube, workload);
    const scenario = boundedScenario(SCENARIO, profile, { rps: FAILOVER_RPS, seconds: Math.min(FAILOVER_LOAD_SECONDS, profile.safety.maxLoadSeconds), thresholds: { http_req_failed: ['rate==0'] } });
    const session = load.start('load during the rollout', scenario, value!.url);
    let report: LoadReport | undefined;
    try {
      await eventually('5 s of steady load before the push', async () => ((session.samples.at(-1)?.atMs ?? 0) >= 5_000 ? succeeded('5 s of load') : pending('warming up')), { timeoutMs: 30_000 });
      // a new pod-template annotation replaces every replica, as a new image tag would (a made-up tag would never pull)
      const stamp = `clusterproof-${Date.now().toString(36)}`;
      const push = await gitops.commitAndPush(`clusterproof: roll ${app.name} out under load`, async (repo) => {
        await editManifest(repo, tracked.workloadFile, tracked.spec.workload.kind, tracked.spec.workload.name, (doc) => {
          doc.setIn(['spec', 'template', 'metadata', 'annotations', 'clusterproof.io/rollout'], stamp);
        });
      });
      await waitConverged(timeline, argocd, [tracked.application], push, { slo: slo.gitopsWebhookConvergenceSeconds, deliveries: gitops.deliveries, name: 'the rollout Synced and Healthy' });
      await eventually(
        `every replica of ${workload.name} replaced and ready`,
        async () => {
          const w = await readWorkload(kube, workload);
          const want = w.spec?.replicas ?? 1;
          const st = w.status;
          return st?.observedGeneration !== undefined && st.observedGeneration >= (w.metadata?.generation ?? 0) && st.updatedReplicas === want && st.readyReplicas === want && (st.replicas ?? 0) === want
            ? succeeded(`${want} new replicas ready`)
            : pending(`updated ${st?.updatedReplicas ?? 0}/${want}, ready ${st?.readyReplicas ?? 0}, total ${st?.replicas ?? 0}`);
        },
        { timeoutMs: slo.gitopsWebhookConvergenceSeconds.ms * 4 },
      );
      expect((await readWorkload(kube, workload)).metadata?.generation, 'the push changed the workload').toBeGreaterThan(before.metadata?.generation ?? 0);
      // a little load after the last old replica went: a connection left on it would fail now
      await new Promise((r) => setTimeout(r, 5_000));
    } finally {
      session.stop('the rollout is over');
      report = await session.finish();
    }
    await expectThat('no request failed during the rollout', report.verdict);
  });
});
