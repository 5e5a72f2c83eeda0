/**
 * `lab up` is done when git has driven the apps: the app of apps and every Application it created are Synced and
 * Healthy. With the auto-sync-off variant nothing syncs by itself, so lab up asks ArgoCD for one sync of each app
 * (what an operator's `argocd app sync` does): the apps run, and only later pushes stay undeployed.
 */
import * as k8s from '@kubernetes/client-node';
import { labGitops } from './endpoints.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const group = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' };

interface AppState {
  name: string;
  sync: string;
  health: string;
  revision?: string;
  automated: boolean;
  operationPhase?: string;
  message?: string;
}

type AppObject = {
  metadata: { name: string };
  spec: { syncPolicy?: { automated?: object } };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    operationState?: { phase?: string; message?: string };
    conditions?: Array<{ type: string; message: string }>;
  };
  operation?: object;
};

async function listApps(api: k8s.CustomObjectsApi): Promise<AppObject[]> {
  const list = (await api.listNamespacedCustomObject({ ...group, namespace: labGitops.argocdNamespace })) as { items: AppObject[] };
  return list.items;
}

function stateOf(a: AppObject): AppState {
  return {
    name: a.metadata.name,
    sync: a.status?.sync?.status ?? 'Unknown',
    health: a.status?.health?.status ?? 'Unknown',
    revision: a.status?.sync?.revision,
    automated: !!a.spec.syncPolicy?.automated,
    operationPhase: a.status?.operationState?.phase,
    message: a.status?.conditions?.map((c) => `${c.type}: ${c.message}`).join('; ') || a.status?.operationState?.message,
  };
}

const describe = (s: AppState) => `${s.name} ${s.sync}/${s.health}${s.operationPhase ? ` (${s.operationPhase})` : ''}`;

export async function waitAppsConverged(
  kc: k8s.KubeConfig,
  progress: (msg: string) => void,
  timeoutMs: number,
  opts: { expectAutoSync: boolean; apps?: string[] },
): Promise<AppState[]> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const expected = ['root', ...(opts.apps ?? ['app1-nginx', 'app2-redis', 'app3-guestbook'])];
  const deadline = Date.now() + timeoutMs;
  const syncRequested = new Set<string>();
  let last = '';
  let states: AppState[] = [];
  while (Date.now() < deadline) {
    const apps = await listApps(api).catch(() => [] as AppObject[]);
    states = expected.map((name) => apps.find((a) => a.metadata.name === name)).filter((a): a is AppObject => !!a).map(stateOf);
    const line = `ArgoCD: ${states.map(describe).join(', ') || 'no Application yet'}`;
    if (line !== last) progress(line);
    last = line;
    if (states.length === expected.length && states.every((s) => s.sync === 'Synced' && s.health === 'Healthy')) return states;
    if (!opts.expectAutoSync) {
      for (const a of apps) {
        const s = stateOf(a);
        if (a.metadata.name !== 'root' && !s.automated && s.sync === 'OutOfSync' && !syncRequested.has(s.name) && !a.operation) {
          await api.patchNamespacedCustomObject(
            { ...group, namespace: labGitops.argocdNamespace, name: s.name, body: { operation: { initiatedBy: { username: 'clusterproof lab up' }, sync: { prune: true } } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          );
          syncRequested.add(s.name);
          progress(`ArgoCD: ${s.name} has no automated sync (variant): one manual sync requested`);
        }
      }
    }
    await sleep(1000);
  }
  const missing = expected.filter((n) => !states.some((s) => s.name === n));
  throw new Error(
    `ArgoCD did not bring the apps to Synced/Healthy within ${timeoutMs / 1000} s: ` +
      [...states.map((s) => `${describe(s)}${s.message ? ` — ${s.message}` : ''}`), ...missing.map((m) => `${m} missing`)].join('; '),
  );
}
