/**
 * The homelab bootstrap's manifests are accepted by a real API server: the lab's kube-apiserver v1.34.4 takes
 * each one in a server-side apply dry run (schema, defaulting, admission), against the MetalLB and ArgoCD CRDs the
 * lab installs from their own Go modules (the versions `lab build` builds). Nothing is created or changed.
 */
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadProfile } from '../../core/profile/load.ts';
import { bootstrapSettings } from '../../bootstrap/config.ts';
import { argocdConfigPatches, metallbPoolManifests } from '../../bootstrap/addons/addons.ts';
import { childApplications, projectManifests, rootApplication } from '../../bootstrap/gitops/argocd.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { projectRoot, runCli } from '../support/cli.ts';

const skip = labSkipReason();

describe.skipIf(skip)(`bootstrap manifests in a server-side dry run on the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let client: k8s.KubernetesObjectApi;

  beforeAll(async () => {
    // lab up installs the ArgoCD and MetalLB CRDs (from the modules `lab build` downloaded) and runs both
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(labPaths.pki(), 'admin.kubeconfig'));
    client = k8s.KubernetesObjectApi.makeApiClient(kc);
  }, 600_000);

  test('MetalLB pools, ArgoCD projects, the app of apps and its child Applications, ArgoCD config patches', async () => {
    const { profile, dir } = await loadProfile(join(projectRoot, 'tests/bootstrap/fixtures/seed-pool-fixed.yaml'));
    const settings = bootstrapSettings(profile, dir);
    const target = { repoURL: 'https://git.example.invalid/gitops-2.git', branch: 'main' };
    const docs = [
      ...metallbPoolManifests(settings),
      ...projectManifests(target),
      rootApplication(target),
      ...childApplications(target).map((c) => c.doc),
      ...argocdConfigPatches(settings, 'webhook-secret-for-the-dry-run'),
    ] as k8s.KubernetesObject[];
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['IPAddressPool', 'L2Advertisement', 'AppProject', 'Application']));
    const rejected: string[] = [];
    for (const doc of docs) {
      try {
        // server-side apply in dry run: the lab runs objects of the same names (its own projects, argocd-cm...)
        await client.patch(doc, undefined, 'All', 'clusterproof-dry-run', true, k8s.PatchStrategy.ServerSideApply);
      } catch (err) {
        rejected.push(`${doc.kind}/${doc.metadata?.name}: ${(err as { body?: string }).body ?? (err as Error).message}`);
      }
    }
    expect(rejected).toEqual([]);
  }, 120_000);
});
