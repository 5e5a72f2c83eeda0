/**
 * Where API versions at risk on an upgrade path are used: the manifests in git at the revision each Application
 * deploys, the live objects' managedFields (the apiVersion each writer used; the API server converts on read, so the
 * object itself cannot tell), and each API server's apiserver_requested_deprecated_apis metric.
 */
import { parseAllDocuments } from 'yaml';
import { apiGet } from '../api-get.ts';
import type { KubeAccess } from '../kube.ts';
import { GitRepo } from '../gitops/git-repo.ts';
import { renderedFiles } from '../gitops/kustomization.ts';
import type { AppStatus } from '../gitops/argocd.ts';
import { parseDeprecatedRequests, type ApiLifecycle, type ApiUse, type DeprecatedRequest } from '../../core/preflight/api-removals.ts';
import type { ControlPlaneEndpoint } from './inventory.ts';

interface ManifestObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** Every object each Application's path renders at the commit ArgoCD syncs it to (one clone per repository). */
export async function manifestUses(apps: AppStatus[], opts: { allowRemote?: boolean } = {}): Promise<{ uses: ApiUse[]; objects: number; read: string[] }> {
  const uses: ApiUse[] = [];
  const read: string[] = [];
  let objects = 0;
  const byRepo = new Map<string, AppStatus[]>();
  for (const a of apps.filter((a) => a.repoURL && a.path !== undefined)) byRepo.set(a.repoURL!, [...(byRepo.get(a.repoURL!) ?? []), a]);
  for (const [url, repoApps] of byRepo) {
    const branch = repoApps.find((a) => a.targetRevision && a.targetRevision !== 'HEAD')?.targetRevision ?? 'main';
    const repo = await new GitRepo(url, branch, opts).clone();
    try {
      for (const app of repoApps) {
        // the commit ArgoCD renders and syncs to (its branch head as last resolved); the same as the deployed one
        // once converged, and the one that matters when it is not
        const revision = app.revision ?? app.deployedRevision;
        if (revision) await repo.checkout(revision);
        const at = `${app.name}@${(revision ?? branch).slice(0, 12)}`;
        read.push(`${at}:${app.path}`);
        for (const file of renderedFiles(repo.workdir, app.path!)) {
          for (const doc of parseAllDocuments(await repo.read(file))) {
            const o = doc.toJS() as ManifestObject | null;
            if (!o?.apiVersion || !o.kind) continue;
            objects++;
            uses.push({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata?.name ?? '(unnamed)', namespace: o.metadata?.namespace, where: `git ${at} ${file}` });
          }
        }
      }
    } finally {
      await repo.dispose();
    }
  }
  return { uses, objects, read };
}

interface ApiResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/**
 * Live objects of the kinds at risk whose managedFields show a writer using an at-risk version. Only kinds the API
 * server serves in some version are listed; a kind it does not serve has no live object.
 */
export async function liveUses(kube: KubeAccess, atRisk: ApiLifecycle[], opts: { allowRemote?: boolean } = {}): Promise<{ uses: ApiUse[]; listed: string[] }> {
  const uses: ApiUse[] = [];
  const listed: string[] = [];
  const kinds = new Map<string, ApiLifecycle[]>();
  for (const a of atRisk) kinds.set(`${a.group}|${a.kind}`, [...(kinds.get(`${a.group}|${a.kind}`) ?? []), a]);
  for (const [key, versions] of kinds) {
    const [group, kind] = key.split('|') as [string, string];
    const groupRes = await apiGet(kube, kube.server, group ? `/apis/${group}` : '/api', opts);
    if (groupRes.status !== 200) continue;
    const served = group
      ? (JSON.parse(groupRes.body) as { versions: Array<{ version: string }> }).versions.map((v) => v.version)
      : (JSON.parse(groupRes.body) as { versions: string[] }).versions;
    for (const version of served) {
      const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const res = await apiGet(kube, kube.server, base, opts);
      if (res.status !== 200) continue;
      const resource = (JSON.parse(res.body) as ApiResourceList).resources.find((r) => r.kind === kind && !r.name.includes('/'));
      if (!resource) continue;
      const list = await apiGet(kube, kube.server, `${base}/${resource.name}`, { ...opts, timeoutMs: 15_000 });
      if (list.status !== 200) continue;
      listed.push(`${kind} (${group}/${version})`);
      const items = (JSON.parse(list.body) as { items: Array<{ metadata: { name: string; namespace?: string; managedFields?: Array<{ manager?: string; apiVersion?: string; time?: string }>; annotations?: Record<string, string> } }> }).items;
      for (const item of items) {
        const writers = (item.metadata.managedFields ?? []).filter((f) => versions.some((v) => f.apiVersion === `${v.group}/${v.version}`));
        for (const w of writers) {
          uses.push({ apiVersion: w.apiVersion!, kind, name: item.metadata.name, namespace: item.metadata.namespace, where: `live: written as ${w.apiVersion} by ${w.manager ?? 'an unnamed manager'}${w.time ? ` at ${w.time}` : ''} (managedFields)` });
        }
      }
      break; // one served version lists every object of the kind
    }
  }
  return { uses, listed };
}

/** The apiserver_requested_deprecated_apis series of every API server, asked directly. */
export async function deprecatedRequests(kube: KubeAccess, controlPlanes: ControlPlaneEndpoint[], opts: { allowRemote?: boolean } = {}): Promise<{ requests: DeprecatedRequest[]; unreadable: string[] }> {
  const requests: DeprecatedRequest[] = [];
  const unreadable: string[] = [];
  for (const cp of controlPlanes) {
    try {
      const res = await apiGet(kube, cp.server, '/metrics', { ...opts, timeoutMs: 15_000 });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      requests.push(...parseDeprecatedRequests(cp.node, res.body));
    } catch (err) {
      unreadable.push(`${cp.node}: GET /metrics: ${(err as Error).message}`);
    }
  }
  return { requests, unreadable };
}
