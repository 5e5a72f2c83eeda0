/**
 * The Kubernetes objects the lab's ArgoCD and MetalLB need before they start, and the gitops registration after:
 * the CRDs and ArgoCD's config objects from the upstream modules (the versions `lab build` built), the lab's
 * IPAddressPool and L2Advertisement, and the AppProjects + app of apps rendered for the lab's git server (what
 * `clusterproof bootstrap` applies on a homelab).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { MissingPrerequisiteError } from '../../../core/errors.ts';
import { findRecipe } from '../build/index.ts';
import { projectManifests, rootApplication } from '../../gitops/argocd.ts';
import { GITOPS_BRANCH, LAB_OVERLAY, labGitops } from './endpoints.ts';
import type { GitopsProcessSettings } from './processes.ts';

const FIELD_MANAGER = 'clusterproof-lab';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function moduleCache(): string {
  try {
    return execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  } catch {
    return join(process.env.HOME ?? '/root', 'go', 'pkg', 'mod');
  }
}

/** Upstream manifest files from the module cache, where `lab build` downloaded the module. */
function upstreamFiles(component: 'argocd' | 'metallb'): string[] {
  const recipe = findRecipe(component)!;
  const root = join(moduleCache(), `${recipe.module}@${recipe.version}`);
  const files =
    component === 'argocd'
      ? [
          ...['application-crd', 'applicationset-crd', 'appproject-crd'].map((f) => join(root, 'manifests', 'crds', `${f}.yaml`)),
          ...['argocd-cm', 'argocd-cmd-params-cm', 'argocd-gpg-keys-cm', 'argocd-rbac-cm', 'argocd-secret', 'argocd-ssh-known-hosts-cm', 'argocd-tls-certs-cm'].map(
            (f) => join(root, 'manifests', 'base', 'config', `${f}.yaml`),
          ),
        ]
      : [
          'bfdprofiles',
          'bgpadvertisements',
          'bgppeers',
          'communities',
          'configurationstates',
          'ipaddresspools',
          'l2advertisements',
          'servicebgpstatuses',
          'servicel2statuses',
        ].map((f) => join(root, 'config', 'crd', 'bases', `metallb.io_${f}.yaml`));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new MissingPrerequisiteError(
      `the ${component} ${recipe.version} manifests are not in the Go module cache (${missing[0]})`,
      'node bin/clusterproof.mjs lab build',
    );
  }
  return files;
}

function loadDocs(file: string): k8s.KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as k8s.KubernetesObject)
    .filter((o) => o?.kind);
}

async function apply(client: k8s.KubernetesObjectApi, o: k8s.KubernetesObject): Promise<void> {
  await client.patch(o, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
}

async function waitEstablished(kc: k8s.KubeConfig, names: string[]): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const name of names) {
    for (let i = 0; ; i++) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (i > 150) throw new Error(`CRD ${name} not Established after 30 s`);
      await sleep(200);
    }
  }
}

/** ArgoCD's config objects as upstream ships them, with the lab's interval and webhook secret. */
function argocdConfig(docs: k8s.KubernetesObject[], settings: GitopsProcessSettings, webhookSecret: string): k8s.KubernetesObject[] {
  return docs.map((o) => {
    const out = structuredClone(o) as k8s.KubernetesObject & { data?: Record<string, string>; stringData?: Record<string, string> };
    out.metadata = { ...out.metadata, namespace: labGitops.argocdNamespace };
    if (o.kind === 'ConfigMap' && o.metadata?.name === 'argocd-cm' && settings.stated) {
      out.data = {
        ...out.data,
        'timeout.reconciliation': `${settings.pollSeconds}s`,
        'timeout.reconciliation.jitter': `${settings.pollJitterSeconds}s`,
      };
    }
    if (o.kind === 'Secret' && o.metadata?.name === 'argocd-secret') out.stringData = { 'webhook.github.secret': webhookSecret };
    return out;
  });
}

function namespace(name: string): k8s.KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** CRDs, namespaces, ArgoCD config and the MetalLB pool: what the addon processes need to start. */
export async function installAddonPrerequisites(kc: k8s.KubeConfig, settings: GitopsProcessSettings, webhookSecret: string): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const argocd = upstreamFiles('argocd').flatMap(loadDocs);
  const metallb = upstreamFiles('metallb').flatMap(loadDocs);
  const crds = [...argocd, ...metallb].filter((o) => o.kind === 'CustomResourceDefinition');
  // together: each is a large object every API server digests (OpenAPI), and the workers boot meanwhile
  await Promise.all(crds.map((crd) => apply(client, crd)));
  await waitEstablished(
    kc,
    crds.map((c) => c.metadata!.name!),
  );
  for (const ns of [labGitops.argocdNamespace, labGitops.metallbNamespace]) await apply(client, namespace(ns));
  for (const o of argocdConfig(
    argocd.filter((o) => o.kind !== 'CustomResourceDefinition'),
    settings,
    webhookSecret,
  )) {
    await apply(client, o);
  }
  const pool: k8s.KubernetesObject[] = [
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'lab-pool', namespace: labGitops.metallbNamespace },
      spec: { addresses: [labGitops.lbPool] },
    } as k8s.KubernetesObject,
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'l2', namespace: labGitops.metallbNamespace },
      // announce on the node LAN only (a real worker also has cni0 and one veth per pod)
      spec: { ipAddressPools: ['lab-pool'], interfaces: ['eth0'] },
    } as k8s.KubernetesObject,
  ];
  for (const o of pool) await apply(client, o);
}

/** The AppProjects and the app of apps, pointing at the lab's git server: from here on git drives the apps. */
export async function registerGitops(kc: k8s.KubeConfig): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const target = { repoURL: labGitops.repoURL(), branch: GITOPS_BRANCH, overlay: LAB_OVERLAY };
  for (const o of [...projectManifests(target), rootApplication(target)]) {
    await client.patch(o as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }
}

/** Fails early, naming `lab build`, when the upstream manifests the lab installs are not in the module cache. */
export function checkAddonManifests(): void {
  upstreamFiles('argocd');
  upstreamFiles('metallb');
}
