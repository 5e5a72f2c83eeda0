/** GitOps converged: every Application Synced and Healthy, before anything changes under it. */
import { blocker, type Finding } from './verdict.ts';

export interface AppFacts {
  name: string;
  sync: string;
  health: string;
  revision?: string;
  /** ArgoCD's error for it (a failed sync, a ComparisonError), if any */
  error?: string;
}

export function checkApps(apps: readonly AppFacts[]): Finding[] {
  if (!apps.length) return [blocker('ArgoCD lists no Application: nothing proves the cluster matches git')];
  return apps
    .filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy')
    .map((a) => blocker(`Application ${a.name} is ${a.sync}/${a.health} at ${a.revision?.slice(0, 12) ?? 'no revision'}${a.error ? `: ${a.error}` : ''}`, 'let it converge (or fix what keeps it from converging) before the upgrade'));
}
