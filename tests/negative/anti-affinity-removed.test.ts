/**
 * Negative control for ha/anti-affinity: nginx redeployed without its anti-affinity and pinned to one worker
 * (what a bad commit would do); the suite must fail naming the co-located pods and their node.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { openTarget, type Target } from '../../fixtures/target.ts';
import { appManifests } from '../../bootstrap/gitops/apps.ts';
import { labPaths } from '../../bootstrap/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();

/** Apply with the field manager `lab up` uses, so applying the original again removes what the variant added. */
async function apply(target: Target, deployment: k8s.V1Deployment) {
  const client = k8s.KubernetesObjectApi.makeApiClient(target.kube.config);
  await client.patch(deployment as k8s.KubernetesObject, undefined, undefined, 'clusterproof-lab', true, k8s.PatchStrategy.ServerSideApply);
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
    const broken = original();
    delete broken.spec!.template.spec!.affinity;
    broken.spec!.template.spec!.nodeSelector = { 'kubernetes.io/hostname': 'w1' };
    await apply(target, broken);
    await eventually(
      'both nginx replicas running on w1',
      async () => {
        const pods = await nginxPods(target);
        const onW1 = pods.filter((p) => p.spec?.nodeName === 'w1' && p.status?.phase === 'Running');
        return onW1.length === 2 && pods.length === 2 ? succeeded() : pending(pods.map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`).join(' '));
      },
      { timeoutMs: 90_000 },
    );
  }, 300_000);

  afterAll(async () => {
    await apply(target, original());
    await eventually(
      'nginx spread again',
      async () => {
        const pods = (await nginxPods(target)).filter((p) => p.status?.phase === 'Running');
        return pods.length === 2 && new Set(pods.map((p) => p.spec?.nodeName)).size === 2 ? succeeded() : pending('rolling back');
      },
      { timeoutMs: 120_000 },
    );
  }, 180_000);

  test('ha/anti-affinity fails, naming the co-located pods and their node', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'ha/anti-affinity', '--results', `${labPaths.logs()}/negative-results`]);
    expect(code).toBe(1);
    expect(output).toMatch(/nginx-[a-z0-9-]+ on w1, nginx-[a-z0-9-]+ on w1 share kubernetes\.io\/hostname=w1/);
  }, 900_000);
});
