/**
 * Negative control for ha/anti-affinity: nginx redeployed without its anti-affinity and pinned to one worker
 * (what a bad commit would do; ArgoCD is paused for nginx meanwhile, or it would heal it back); the suite must fail
 * naming the co-located pods and their node.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { openTargetFile as openTarget, type Target } from '../../fixtures/targets/index.ts';
import { appManifests } from '../../bootstrap/gitops/apps.ts';
import { describePodState } from '../../fixtures/workloads.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();

/** A JSON merge patch, as `kubectl patch --type merge` would send it. */
async function mergePatch(target: Target, body: object) {
  await target.kube.apps.patchNamespacedDeployment(
    { name: 'nginx', namespace: 'app1-nginx', body },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

async function nginxPods(target: Target) {
  return (await target.kube.core.listNamespacedPod({ namespace: 'app1-nginx', labelSelector: 'app.kubernetes.io/name=nginx' })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
}

describe.skipIf(skip)('negative control: nginx without anti-affinity', () => {
  let target: Target;
  const original = () => structuredClone(appManifests('app1-nginx').find((o) => o.kind === 'Deployment') as k8s.V1Deployment);

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    target = await openTarget(labPaths.profile());
    // ArgoCD would heal the bad Deployment back to git within seconds: keep it from reconciling nginx meanwhile
    await target.argocd!.pauseReconcile('app1-nginx');
    // no anti-affinity, both replicas pinned to w1; Recreate, since the old replicas' anti-affinity would
    // keep a rolling update from ever placing a new one on w1
    await mergePatch(target, {
      spec: {
        strategy: { type: 'Recreate', rollingUpdate: null },
        template: { spec: { affinity: null, nodeSelector: { 'kubernetes.io/hostname': 'w1' } } },
      },
    });
    await eventually(
      'both nginx replicas running on w1',
      async () => {
        const pods = await nginxPods(target);
        const onW1 = pods.filter((p) => p.spec?.nodeName === 'w1' && p.status?.phase === 'Running');
        return onW1.length === 2 && pods.length === 2 ? succeeded() : pending(pods.map(describePodState).join('; '));
      },
      { timeoutMs: 90_000 },
    );
  }, 300_000);

  afterAll(async () => {
    await mergePatch(target, {
      spec: {
        strategy: original().spec!.strategy,
        template: { spec: { nodeSelector: null, affinity: original().spec!.template.spec!.affinity } },
      },
    });
    await eventually(
      'nginx spread again',
      async () => {
        const pods = (await nginxPods(target)).filter((p) => p.status?.phase === 'Running');
        return pods.length === 2 && new Set(pods.map((p) => p.spec?.nodeName)).size === 2 ? succeeded() : pending('rolling back');
      },
      { timeoutMs: 120_000 },
    );
    await target.argocd!.resumeReconcile('app1-nginx');
  }, 180_000);

  test('ha/anti-affinity fails, naming the co-located pods and their node', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'ha/anti-affinity', ...negativeResultsArgs('anti-affinity-removed')]);
    expect(code).toBe(1);
    expect(output).toMatch(/nginx-[a-z0-9-]+ on w1, nginx-[a-z0-9-]+ on w1 share kubernetes\.io\/hostname=w1/);
  }, 900_000);
});
