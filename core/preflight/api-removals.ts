/**
 * Removed and deprecated API versions along an upgrade path, from three sources: the manifests in git at the
 * revision ArgoCD deploys, the live objects' managedFields (the apiVersion each writer really used: the API server
 * converts on read, so a plain GET cannot tell), and the API servers' apiserver_requested_deprecated_apis metric
 * (clients that are in no manifest). The lifecycle table is upstream's own (data/kubernetes-api-lifecycle.json).
 */
import lifecycleData from './data/kubernetes-api-lifecycle.json' with { type: 'json' };
import { blocker, warning, type Finding } from './verdict.ts';
import { minorNumber } from './versions.ts';

export interface ApiLifecycle {
  group: string;
  version: string;
  kind: string;
  deprecated?: string;
  removed?: string;
  replacement?: string;
}

export const API_LIFECYCLE = lifecycleData as { source: string; guide: string; apis: ApiLifecycle[] };

/** An object, or a client's request, found using some apiVersion. */
export interface ApiUse {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  /** where it was seen: "git app1-nginx@1a2b3c4d5e6f apps/app1-nginx/vac.yaml", "live (managedFields of argocd-controller)" */
  where: string;
}

/** One series of apiserver_requested_deprecated_apis. */
export interface DeprecatedRequest {
  server: string;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  removedRelease?: string;
}

const splitApiVersion = (apiVersion: string) => {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
};

export function lifecycleOf(apiVersion: string, kind: string): ApiLifecycle | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  return API_LIFECYCLE.apis.find((a) => a.group === group && a.version === version && a.kind === kind);
}

/** The lifecycle entries that matter for a path: removed after `from` up to `to`, or deprecated by `to`. */
export function atRiskOnPath(fromMinor: string, toMinor: string): ApiLifecycle[] {
  const from = minorNumber(fromMinor);
  const to = minorNumber(toMinor);
  return API_LIFECYCLE.apis.filter((a) => {
    const removed = a.removed ? minorNumber(a.removed) : Infinity;
    const deprecated = a.deprecated ? minorNumber(a.deprecated) : Infinity;
    return removed > from && (removed <= to || deprecated <= to);
  });
}

const objectName = (u: ApiUse) => `${u.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name}`;
const migrate = (l: ApiLifecycle) => (l.replacement ? `migrate it to ${l.replacement}` : 'migrate it to a served version');

/**
 * Blockers: a version removed after `from` and by `to` (named with the version that removes it), or one that is
 * already not served (an object in git ArgoCD cannot apply). Warnings: deprecated by `to`, removed later.
 */
export function findRemovals(uses: readonly ApiUse[], fromMinor: string, toMinor: string): Finding[] {
  const from = minorNumber(fromMinor);
  const to = minorNumber(toMinor);
  const out: Finding[] = [];
  for (const u of uses) {
    const l = lifecycleOf(u.apiVersion, u.kind);
    if (!l?.removed) continue;
    const removed = minorNumber(l.removed);
    const since = l.deprecated ? `, deprecated since ${l.deprecated}` : '';
    if (removed <= from) {
      out.push(blocker(`${objectName(u)} uses ${u.apiVersion}, which Kubernetes ${l.removed} already stopped serving (${u.where})`, migrate(l)));
    } else if (removed <= to) {
      out.push(blocker(`${objectName(u)} uses ${u.apiVersion}, removed in Kubernetes ${l.removed}${since} (${u.where})`, `${migrate(l)} before upgrading to ${l.removed}`));
    } else if (l.deprecated && minorNumber(l.deprecated) <= to) {
      out.push(warning(`${objectName(u)} uses ${u.apiVersion}, deprecated since ${l.deprecated} and removed in ${l.removed} (${u.where})`, migrate(l)));
    }
  }
  return out;
}

/** The metric names the removal release itself; a client calling a version removed on the path blocks. */
export function findDeprecatedRequests(requests: readonly DeprecatedRequest[], fromMinor: string, toMinor: string): Finding[] {
  const to = minorNumber(toMinor);
  const from = minorNumber(fromMinor);
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const r of requests) {
    const gv = `${r.group ? `${r.group}/` : ''}${r.version}`;
    const key = `${gv} ${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const servers = requests.filter((x) => `${x.group ? `${x.group}/` : ''}${x.version} ${x.resource}${x.subresource ? `/${x.subresource}` : ''}` === key).map((x) => x.server);
    const what = `a client requested ${key} (apiserver_requested_deprecated_apis on ${servers.join(', ')})`;
    const removed = r.removedRelease ? minorNumber(r.removedRelease) : undefined;
    if (removed !== undefined && removed > from && removed <= to) {
      out.push(blocker(`${what}: removed in Kubernetes ${r.removedRelease}`, 'find the client in the API server audit log (annotation k8s.io/removed-release) and update it'));
    } else {
      out.push(warning(`${what}: deprecated, ${r.removedRelease ? `removed in ${r.removedRelease}` : 'no removal release announced'}`));
    }
  }
  return out;
}

/** Parses the Prometheus text of /metrics for apiserver_requested_deprecated_apis series. */
export function parseDeprecatedRequests(server: string, metrics: string): DeprecatedRequest[] {
  const out: DeprecatedRequest[] = [];
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_requested_deprecated_apis{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(line.lastIndexOf('}') + 1).trim().split(/\s+/)[0]);
    if (!(value > 0)) continue;
    out.push({ server, group: labels.group ?? '', version: labels.version ?? '', resource: labels.resource ?? '', subresource: labels.subresource || undefined, removedRelease: labels.removed_release || undefined });
  }
  return out;
}
