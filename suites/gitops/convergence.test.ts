/**
 * GitOps convergence: what is pushed to git is what runs, and how fast. Every push is timed from `git push`
 * returning to every affected Application being Synced at the pushed commit and Healthy — through the push webhook
 * and through ArgoCD's polling alone — and a revert, a removal (prune), live drift (self-heal) and a bad commit
 * are each followed to their end. Every push is undone by the ledger with a new commit restoring the branch.
 *
 * The change: a rollout (a new pod-template annotation) and a new ConfigMap for the first app, one more replica for an app without required
 * anti-affinity. (nginx's replicas 2 -> 3 cannot become Healthy with one replica per worker on two workers: that is
 * ha/anti-affinity's property, so the replica change goes to an app that can take it.)
 */
import type { Document } from 'yaml';
import { attachText } from '../../core/report/attach.ts';
import { consistently, eventually, failed, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { appsSyncedAt, waitConverged } from '../../fixtures/gitops-checks.ts';
import { widened } from '../../fixtures/slo.ts';
import { editManifest, type GitopsWorkspace } from '../../fixtures/gitops-workspace.ts';
import { noTrackedAppReason, trackedApps, type TrackedApp } from '../../fixtures/gitops-apps.ts';
import { appError, describeApp, type ArgoCDApps } from '../../providers/gitops/argocd.ts';
import { describeDelivery } from '../../providers/gitops/webhook-deliveries.ts';
import { addManifest, removeManifest } from '../../providers/gitops/kustomization.ts';
import type { GitRepo } from '../../providers/gitops/git-repo.ts';
import { readWorkload, workloadOf } from '../../fixtures/workloads.ts';
import { describeSuite, expect, figure, skipBecause, test } from '../../fixtures/test.ts';
import { suite } from '../catalogue.ts';
import type { KubeAccess } from '../../providers/kube.ts';
import type { Profile } from '../../core/profile/schema.ts';

const CONFIGMAP = 'clusterproof-convergence';
const STEADY_MS = 180_000;

interface Plan {
  /** gets the rollout and the ConfigMap */
  rollout: TrackedApp;
  /** gets one more replica, when an app can take it */
  scale?: TrackedApp;
  apps: string[];
}

async function planFor(gitops: GitopsWorkspace, argocd: ArgoCDApps, profile: Profile, skip: (note?: string) => never): Promise<Plan> {
  const tracked = await trackedApps(argocd, profile, gitops.repo);
  const rollout = tracked.find((t) => t.spec.workload.kind === 'Deployment');
  if (!rollout) await skipBecause(skip, noTrackedAppReason(profile, gitops.repo));
  const scale = tracked.find((t) => t !== rollout && t.spec.workload.antiAffinity !== 'required');
  const apps = [...new Set([rollout!.application, ...(scale ? [scale.application] : [])])];
  return { rollout: rollout!, scale, apps };
}

async function steady(gitops: GitopsWorkspace, argocd: ArgoCDApps, apps: string[]) {
  await eventually('steady state: the apps Synced at the branch head and Healthy', appsSyncedAt(argocd, apps, () => gitops.head()), { timeoutMs: STEADY_MS });
}

const CONFIGMAP_FILE = `${CONFIGMAP}.yaml`;

/** Adds the ConfigMap to the app's directory so ArgoCD deploys it (listed in its kustomization when it has one). */
function addConfigMap(repo: GitRepo, t: TrackedApp, testName: string): Promise<string> {
  return addManifest(repo, t.spec.path, CONFIGMAP_FILE, configMapYaml(t, testName));
}

function configMapYaml(t: TrackedApp, testName: string): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${CONFIGMAP}`,
    `  namespace: ${t.spec.namespace}`,
    'data:',
    `  pushed-by: ${JSON.stringify(testName)}`,
    '',
  ].join('\n');
}

/**
 * A rollout every cluster can complete: a new pod-template annotation makes the workload replace its pods with
 * the same image (a made-up image tag would never pull on a real node).
 */
const ROLLOUT_ANNOTATION = 'clusterproof.io/rollout';
function annotateTemplate(doc: Document, value: string): string {
  doc.setIn(['spec', 'template', 'metadata', 'annotations', ROLLOUT_ANNOTATION], value);
  return value;
}

async function configMapExists(kube: KubeAccess, t: TrackedApp): Promise<boolean> {
  return kube.core.readNamespacedConfigMap({ namespace: t.spec.namespace, name: CONFIGMAP }).then(
    () => true,
    (err: { code?: number }) => {
      if (err.code === 404) return false;
      throw err;
    },
  );
}

async function liveRollout(kube: KubeAccess, t: TrackedApp): Promise<string | undefined> {
  const w = await readWorkload(kube, workloadOf(t.spec));
  return w.spec?.template.metadata?.annotations?.[ROLLOUT_ANNOTATION];
}

describeSuite(suite('gitops/convergence'), () => {
  test('a commit converges through the webhook, and its revert converges back', async ({ gitops, argocd, kube, profile, timeline, slo, skip, task }) => {
    const plan = await planFor(gitops, argocd, profile, skip);
    await steady(gitops, argocd, plan.apps);
    const rolloutBefore = await liveRollout(kube, plan.rollout);
    let rollout = '';
    let replicas = 0;
    const push = await gitops.commitAndPush(`clusterproof: ${task.name}`, async (repo) => {
      await editManifest(repo, plan.rollout.workloadFile, plan.rollout.spec.workload.kind, plan.rollout.spec.workload.name, (doc) => {
        rollout = annotateTemplate(doc, `clusterproof-${Date.now().toString(36)}`);
      });
      await addConfigMap(repo, plan.rollout, task.name);
      if (plan.scale) {
        await editManifest(repo, plan.scale.workloadFile, plan.scale.spec.workload.kind, plan.scale.spec.workload.name, (doc) => {
          replicas = Number(doc.getIn(['spec', 'replicas']) ?? 1) + 1;
          doc.setIn(['spec', 'replicas'], replicas);
        });
      }
    });
    await waitConverged(timeline, argocd, plan.apps, push, {
      slo: slo.gitopsWebhookConvergenceSeconds,
      deliveries: gitops.deliveries,
      name: 'pushed commit Synced and Healthy (webhook)',
    });
    expect(await liveRollout(kube, plan.rollout), `${plan.rollout.application} rolled out with ${ROLLOUT_ANNOTATION}=${rollout}`).toBe(rollout);
    expect(await configMapExists(kube, plan.rollout), `ConfigMap ${CONFIGMAP} created from git`).toBe(true);
    if (plan.scale) {
      const w = await readWorkload(kube, workloadOf(plan.scale.spec));
      expect(w.status?.readyReplicas, `${plan.scale.application} scaled to ${replicas} from git`).toBe(replicas);
    }

    timeline.mark('revert');
    const revert = await gitops.commitAndPush(`clusterproof: revert ${push.sha.slice(0, 12)}`, async (repo) => {
      await repo.revert(push.sha);
    });
    await waitConverged(timeline, argocd, plan.apps, revert, {
      slo: slo.gitopsWebhookConvergenceSeconds,
      deliveries: gitops.deliveries,
      name: 'revert Synced and Healthy (webhook)',
    });
    expect(await liveRollout(kube, plan.rollout), `${plan.rollout.application} rolled back`).toBe(rolloutBefore);
    expect(await configMapExists(kube, plan.rollout), `ConfigMap ${CONFIGMAP} pruned by the revert`).toBe(false);
  });

  test('a resource removed from git is pruned', async ({ gitops, argocd, kube, profile, timeline, slo, skip, task }) => {
    const plan = await planFor(gitops, argocd, profile, skip);
    await steady(gitops, argocd, plan.apps);
    const add = await gitops.commitAndPush(`clusterproof: add ConfigMap ${CONFIGMAP}`, async (repo) => {
      await addConfigMap(repo, plan.rollout, task.name);
    });
    await waitConverged(timeline, argocd, [plan.rollout.application], add, {
      slo: slo.gitopsWebhookConvergenceSeconds,
      deliveries: gitops.deliveries,
      name: 'ConfigMap added from git',
    });
    expect(await configMapExists(kube, plan.rollout)).toBe(true);
    const remove = await gitops.commitAndPush(`clusterproof: remove ConfigMap ${CONFIGMAP}`, async (repo) => {
      await removeManifest(repo, plan.rollout.spec.path, CONFIGMAP_FILE);
    });
    await timeline.until(
      `ConfigMap ${CONFIGMAP} pruned`,
      async () => {
        const s = await argocd.app(plan.rollout.application);
        if (await configMapExists(kube, plan.rollout)) return pending(`still there; ${describeApp(s)}`);
        return s.sync === 'Synced' && s.revision === remove.sha ? succeeded(`gone; ${describeApp(s)}`) : pending(`gone, but ${describeApp(s)}`);
      },
      slo.gitopsWebhookConvergenceSeconds,
      { kind: 'recovery', intervalMs: 250 },
    );
  });

  test('a commit converges through polling alone, without the webhook', async ({ gitops, argocd, kube, profile, timeline, slo, skip, task }) => {
    const plan = await planFor(gitops, argocd, profile, skip);
    await steady(gitops, argocd, plan.apps);
    const push = await gitops.commitAndPush(
      `clusterproof: ${task.name}`,
      async (repo) => {
        await addConfigMap(repo, plan.rollout, task.name);
      },
      { webhook: false },
    );
    const interval = profile.gitops?.pollIntervalSeconds ?? 120;
    const jitter = profile.gitops?.pollJitterSeconds ?? 60;
    timeline.mark(`poll interval ${interval} s + up to ${jitter} s jitter`);
    if (gitops.deliveries) {
      const d = await gitops.deliveries.forCommit(push.sha);
      expect(d?.skipped, `the git server sent no webhook for ${push.sha.slice(0, 12)}: ${d ? describeDelivery(d) : 'no record'}`).toBe(true);
    }
    const { seconds } = await waitConverged(timeline, argocd, [plan.rollout.application], push, {
      slo: slo.gitopsPollConvergenceSeconds,
      timeoutSeconds: slo.gitopsPollConvergenceSeconds.seconds + 30,
      name: 'pushed commit Synced and Healthy (polling)',
    });
    await figure('poll interval', `${interval} s + up to ${jitter} s`);
    await figure('converged after', `${seconds.toFixed(1)} s`);
    expect(await configMapExists(kube, plan.rollout)).toBe(true);
  });

  test('live drift on a managed object is reverted by self-heal', async ({ gitops, argocd, kube, profile, faults, timeline, slo, skip }) => {
    const plan = await planFor(gitops, argocd, profile, skip);
    await steady(gitops, argocd, plan.apps);
    const app = await argocd.app(plan.rollout.application);
    if (!app.selfHeal) await skipBecause(skip, `${app.name} has no automated self-heal (syncPolicy.automated.selfHeal)`);
    const ref = workloadOf(plan.rollout.spec);
    const live = await readWorkload(kube, ref);
    const gitReplicas = live.spec?.replicas ?? 1;
    const generation = live.metadata?.generation ?? 0;
    const drifted = gitReplicas + 1;
    await faults.scale(ref, drifted, { restoreTo: gitReplicas, behindGitsBack: true, why: `live drift: git says ${gitReplicas}` });
    await timeline.until(
      `self-heal: ${ref.name} back to ${gitReplicas} replicas`,
      async () => {
        const w = await readWorkload(kube, ref);
        const g = w.metadata?.generation ?? 0;
        if (w.spec?.replicas !== gitReplicas) return pending(`${ref.name} still has ${w.spec?.replicas} replicas; ${describeApp(await argocd.app(app.name))}`);
        // two spec changes since the steady state (the drift, then the heal) prove the drift landed and was undone
        if (g < generation + 2) return pending(`${ref.name} is at generation ${g}, the drift to ${drifted} not applied or not healed yet (was ${generation})`);
        return succeeded(`${ref.name} back to ${gitReplicas} replicas at generation ${g}`);
      },
      slo.selfHealSeconds,
      { kind: 'recovery', intervalMs: 200 },
    );
    await eventually('the app Synced and Healthy again', appsSyncedAt(argocd, [app.name], () => gitops.head()), { timeoutMs: 60_000 });
  });

  test('a bad commit surfaces its sync error, the running workload stays, the fix converges', async ({ gitops, argocd, kube, profile, timeline, slo, skip, task }) => {
    const plan = await planFor(gitops, argocd, profile, skip);
    await steady(gitops, argocd, plan.apps);
    const ref = workloadOf(plan.rollout.spec);
    const before = await readWorkload(kube, ref);
    const bad = await gitops.commitAndPush(`clusterproof: ${task.name} (replicas is not a number)`, async (repo) => {
      await editManifest(repo, plan.rollout.workloadFile, ref.kind, ref.name, (doc) => doc.setIn(['spec', 'replicas'], 'two'));
    });
    const { value: error } = await timeline.until(
      'the sync error surfaces',
      async () => {
        const s = await argocd.app(plan.rollout.application);
        if (s.sync === 'Synced' && s.revision === bad.sha) return failed(`ArgoCD synced the invalid manifest at ${bad.sha.slice(0, 12)}: ${describeApp(s)}`);
        const error = s.revision === bad.sha || s.operation?.revision === bad.sha ? appError(s) : undefined;
        return error ? succeeded(error, error) : pending(`no sync error for ${bad.sha.slice(0, 12)} yet: ${describeApp(s)}`);
      },
      slo.gitopsWebhookConvergenceSeconds,
      { kind: 'symptom', intervalMs: 250 },
    );
    await attachText('ArgoCD sync error', error);
    timeline.mark('sync error', 'symptom', error);
    expect(error).toMatch(/replicas|unmarshal|invalid|cannot/i);
    await consistently(
      `${ref.name} keeps running as it was (generation ${before.metadata?.generation}, ${before.status?.readyReplicas} ready)`,
      async () => {
        const w = await readWorkload(kube, ref);
        if (w.metadata?.generation !== before.metadata?.generation) return failed(`generation changed to ${w.metadata?.generation}`);
        if (w.status?.readyReplicas !== before.status?.readyReplicas) return failed(`${w.status?.readyReplicas} ready replicas, was ${before.status?.readyReplicas}`);
        return succeeded('unchanged');
      },
      { forMs: 5_000, intervalMs: 500 },
    );
    const fix = await gitops.commitAndPush(`clusterproof: fix ${bad.sha.slice(0, 12)}`, async (repo) => {
      await repo.revert(bad.sha);
    });
    // a failed sync is retried with backoff (retry.refresh picks the fix up at the next attempt): allow one step
    await waitConverged(timeline, argocd, [plan.rollout.application], fix, {
      slo: widened(slo.gitopsWebhookConvergenceSeconds, 40, 'one retry backoff step'),
      deliveries: gitops.deliveries,
      name: 'the fixing commit Synced and Healthy',
    });
    const s = await argocd.app(plan.rollout.application);
    expect(appError(s), describeApp(s)).toBeUndefined();
    await eventually('workload as before', async () => ((await readWorkload(kube, ref)).status?.readyReplicas === before.status?.readyReplicas ? succeeded() : pending('rolling')), {
      timeoutMs: 30_000,
    });
  });
});
