/**
 * ArgoCD as suites see it: Application status read from the Application resources (what the controller writes),
 * refreshes requested the way the UI and the webhook do (the refresh annotation), reconciliation paused and resumed
 * for suites that must change a managed object on purpose, and the REST API's version for a liveness check.
 */
import * as k8s from '@kubernetes/client-node';
import { assertDestination } from '../../core/safety/destinations.ts';
import type { KubeAccess } from '../kube.ts';

export const ARGOCD_GROUP = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' } as const;
/** ArgoCD skips every reconciliation of an Application carrying this annotation (argo-cd docs: skip-reconcile). */
export const SKIP_RECONCILE = 'argocd.argoproj.io/skip-reconcile';
export const REFRESH = 'argocd.argoproj.io/refresh';

export interface AppResourceStatus {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: string;
  health?: { status?: string; message?: string };
}

export interface AppStatus {
  name: string;
  /** Synced | OutOfSync | Unknown */
  sync: string;
  /** the commit the live state was compared with (the branch head ArgoCD last resolved) */
  revision?: string;
  /** the commit of the last successful sync (status.history): what runs */
  deployedRevision?: string;
  /** Healthy | Progressing | Degraded | Suspended | Missing | Unknown */
  health: string;
  operation?: { phase?: string; message?: string; revision?: string; retryCount?: number; finishedAt?: string };
  /** ComparisonError, SyncError, ... with their messages */
  conditions: Array<{ type: string; message: string }>;
  resources: AppResourceStatus[];
  repoURL?: string;
  targetRevision?: string;
  path?: string;
  automated: boolean;
  selfHeal: boolean;
  prune: boolean;
  reconciledAt?: string;
  skipReconcile: boolean;
}

type RawApp = {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    source?: { repoURL?: string; targetRevision?: string; path?: string };
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean } };
  };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    operationState?: { phase?: string; message?: string; retryCount?: number; finishedAt?: string; syncResult?: { revision?: string }; operation?: { sync?: { revision?: string } } };
    conditions?: Array<{ type: string; message: string }>;
    resources?: AppResourceStatus[];
    reconciledAt?: string;
    history?: Array<{ revision?: string }>;
  };
};

function toStatus(a: RawApp): AppStatus {
  const op = a.status?.operationState;
  return {
    name: a.metadata.name,
    sync: a.status?.sync?.status ?? 'Unknown',
    revision: a.status?.sync?.revision,
    deployedRevision: a.status?.history?.at(-1)?.revision,
    health: a.status?.health?.status ?? 'Unknown',
    operation: op
      ? { phase: op.phase, message: op.message, revision: op.syncResult?.revision ?? op.operation?.sync?.revision, retryCount: op.retryCount, finishedAt: op.finishedAt }
      : undefined,
    conditions: a.status?.conditions ?? [],
    resources: a.status?.resources ?? [],
    repoURL: a.spec.source?.repoURL,
    targetRevision: a.spec.source?.targetRevision,
    path: a.spec.source?.path,
    automated: !!a.spec.syncPolicy?.automated,
    selfHeal: !!a.spec.syncPolicy?.automated?.selfHeal,
    prune: !!a.spec.syncPolicy?.automated?.prune,
    reconciledAt: a.status?.reconciledAt,
    skipReconcile: a.metadata.annotations?.[SKIP_RECONCILE] === 'true',
  };
}

/** One line a report reader understands: "app1-nginx OutOfSync/Healthy at 1a2b3c4d5e6f (sync Failed: ...)". */
export function describeApp(s: AppStatus): string {
  const op = s.operation?.phase && s.operation.phase !== 'Succeeded' ? ` (sync ${s.operation.phase}${s.operation.message ? `: ${s.operation.message}` : ''})` : '';
  const cond = s.conditions.length ? ` [${s.conditions.map((c) => `${c.type}: ${c.message}`).join('; ')}]` : '';
  return `${s.name} ${s.sync}/${s.health} at ${s.revision?.slice(0, 12) ?? 'no revision'}${op}${cond}`;
}

/** The error ArgoCD reports for an app, if any: a failed sync operation or an *Error condition. */
export function appError(s: AppStatus): string | undefined {
  if (s.operation && (s.operation.phase === 'Failed' || s.operation.phase === 'Error')) return `sync ${s.operation.phase}: ${s.operation.message ?? ''}`;
  if (s.operation?.phase === 'Running' && /retrying|failed/i.test(s.operation.message ?? '')) return `sync retrying: ${s.operation.message}`;
  const c = s.conditions.find((x) => /Error$/.test(x.type));
  return c ? `${c.type}: ${c.message}` : undefined;
}

export class ArgoCDApps {
  private readonly api: k8s.CustomObjectsApi;

  constructor(
    private readonly kube: KubeAccess,
    readonly namespace: string,
    private readonly server?: { url: string; token?: () => Promise<string>; allowRemote?: boolean },
  ) {
    this.api = kube.config.makeApiClient(k8s.CustomObjectsApi);
  }

  async list(): Promise<AppStatus[]> {
    const list = (await this.api.listNamespacedCustomObject({ ...ARGOCD_GROUP, namespace: this.namespace })) as { items: RawApp[] };
    return list.items.map(toStatus);
  }

  async app(name: string): Promise<AppStatus> {
    return toStatus((await this.api.getNamespacedCustomObject({ ...ARGOCD_GROUP, namespace: this.namespace, name })) as RawApp);
  }

  private async annotate(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      { ...ARGOCD_GROUP, namespace: this.namespace, name, body: { metadata: { annotations } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** What the UI's Refresh button does: the controller compares with git now instead of at the next poll. */
  async refresh(name: string, kind: 'normal' | 'hard' = 'normal'): Promise<void> {
    await this.annotate(name, { [REFRESH]: kind });
  }

  /** Stop ArgoCD from reconciling one app (no sync, no self-heal) until resumeReconcile. */
  async pauseReconcile(name: string): Promise<void> {
    await this.annotate(name, { [SKIP_RECONCILE]: 'true' });
  }

  async resumeReconcile(name: string): Promise<void> {
    await this.annotate(name, { [SKIP_RECONCILE]: null, [REFRESH]: 'normal' });
  }

  /** The apps that deploy a workload in `namespace` (their destination namespace). */
  async appDeployingTo(namespace: string): Promise<string | undefined> {
    const list = (await this.api.listNamespacedCustomObject({ ...ARGOCD_GROUP, namespace: this.namespace })) as {
      items: Array<RawApp & { spec: { destination?: { namespace?: string } } }>;
    };
    return list.items.find((a) => a.spec.destination?.namespace === namespace)?.metadata.name;
  }

  /** GET /api/version on argocd-server: its REST API answers (version string), or an error naming why not. */
  async apiVersion(timeoutMs = 5000): Promise<string> {
    if (!this.server) throw new Error('access.argocd is not configured: no ArgoCD API URL');
    const url = new URL('/api/version', this.server.url);
    assertDestination(url.hostname, { allowRemote: this.server.allowRemote });
    const token = this.server.token ? await this.server.token() : undefined;
    const res = await fetch(url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`ArgoCD API ${url.href} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as { Version?: string };
    return body.Version ?? 'unknown';
  }
}
