/**
 * The homelab bootstrap's manifests are accepted by a real API server: the lab's kube-apiserver v1.34.4 takes
 * each one in a server-side dry run (schema, defaulting, admission), with the MetalLB and ArgoCD CRDs installed
 * from their own Go modules (the versions `lab build --all` builds). Nothing but the CRDs and two empty
 * namespaces is created, and they are removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadProfile } from '../../src/profile/load.ts';
import { bootstrapSettings } from '../../bootstrap/config.ts';
import { argocdConfigPatches, metallbPoolManifests } from '../../bootstrap/addons/addons.ts';
import { childApplications, projectManifests, rootApplication } from '../../bootstrap/gitops/argocd.ts';
import { labPaths } from '../../bootstrap/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { projectRoot, runCli } from '../support/cli.ts';

const modCache = (() => {
  try {
    return execFileSync('go', ['env', 'GOMODCACHE']).toString().trim();
  } catch {
    return '';
  }
})();
const CRD_FILES = [
  'github.com/argoproj/argo-cd/v3@v3.2.11/manifests/crds/application-crd.yaml',
  'github.com/argoproj/argo-cd/v3@v3.2.11/manifests/crds/appproject-crd.yaml',
  'go.universe.tf/metallb@v0.15.3/config/crd/bases/metallb.io_ipaddresspools.yaml',
  'go.universe.tf/metallb@v0.15.3/config/crd/bases/metallb.io_l2advertisements.yaml',
].map((f) => join(modCache, f));

const missingCrds = CRD_FILES.filter((f) => !existsSync(f));
const skip =
  labSkipReason() ??
  (missingCrds.length ? `the CRD sources are not in the Go module cache (run \`node bin/clusterproof.mjs lab build --only argocd,metallb\`): ${missingCrds.join(', ')}` : undefined);

describe.skipIf(skip)(`bootstrap manifests in a server-side dry run on the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let client: k8s.KubernetesObjectApi;
  const crds: k8s.KubernetesObject[] = CRD_FILES.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as k8s.KubernetesObject)).filter(
    (o) => o?.kind === 'CustomResourceDefinition',
  );
  const namespaces = ['argocd', 'metallb-system'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(labPaths.pki(), 'admin.kubeconfig'));
    client = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const o of [...crds, ...namespaces]) {
      await client.patch(o, undefined, undefined, 'clusterproof-test', true, k8s.PatchStrategy.ServerSideApply);
    }
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    for (const crd of crds) {
      for (let i = 0; i < 50; i++) {
        const c = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
        if (c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 300_000);

  afterAll(async () => {
    for (const o of [...namespaces, ...crds]) await client?.delete(o).catch(() => undefined);
  }, 120_000);

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
        await client.create(doc, undefined, 'All');
      } catch (err) {
        rejected.push(`${doc.kind}/${doc.metadata?.name}: ${(err as { body?: string }).body ?? (err as Error).message}`);
      }
    }
    expect(rejected).toEqual([]);
  }, 120_000);
});
