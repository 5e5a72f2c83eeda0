/**
 * The lab's timings. Upstream defaults everywhere, except where a default would make CI wait minutes for
 * nothing; each exception is stated here and written into the lab profile, and suites assert against the
 * profile, never against a constant.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabSettings } from './node-components.ts';
import { labStateDir } from '../../providers/lab/paths.ts';

export const LAB_SETTINGS: LabSettings = {
  // upstream kube-controller-manager default since 1.32 (kubernetes PR #126287)
  nodeMonitorGracePeriodSeconds: 50,
  // upstream is 300 s (DefaultTolerationSeconds); 30 s keeps the eviction experiment inside the CI budget
  defaultTolerationSeconds: 30,
  // Talos' VIP election: an etcd session with the default 60 s TTL
  vipLeaseSeconds: 60,
  // kubelet's default node lease
  nodeLeaseSeconds: 40,
};

export const LAB_PVE_PORT = 8006;
export const LAB_PVE_TOKEN_ID = 'root@pam!clusterproof';

/**
 * ArgoCD's reconciliation (poll) interval in the lab: the upstream default (argocd-cm timeout.reconciliation 120 s,
 * timeout.reconciliation.jitter 60 s) unless `lab up --poll-interval/--poll-jitter` states another, kept for the
 * life of the lab and written into its profile (gitops.pollIntervalSeconds).
 */
export interface LabGitopsSettings {
  pollSeconds: number;
  pollJitterSeconds: number;
  /**
   * How long the repo-server trusts its cached `git ls-remote` answer. Upstream ties it to timeout.reconciliation
   * when argocd-cm states one (ARGOCD_RECONCILIATION_TIMEOUT reaches the repo-server too), else 3 min
   * (--revision-cache-expiration). A poll can therefore see a commit up to this much late.
   */
  revisionCacheSeconds: number;
  /** true when `lab up` was given an interval: argocd-cm then states it, as a user's would */
  stated: boolean;
}

export const UPSTREAM_GITOPS_POLL: LabGitopsSettings = { pollSeconds: 120, pollJitterSeconds: 60, revisionCacheSeconds: 180, stated: false };

const gitopsSettingsFile = () => join(labStateDir(), 'gitops-poll.json');

export function saveGitopsSettings(overrides: { pollSeconds?: number; pollJitterSeconds?: number }): LabGitopsSettings {
  const stated = overrides.pollSeconds !== undefined || overrides.pollJitterSeconds !== undefined;
  const pollSeconds = overrides.pollSeconds ?? UPSTREAM_GITOPS_POLL.pollSeconds;
  const settings: LabGitopsSettings = {
    pollSeconds,
    pollJitterSeconds: overrides.pollJitterSeconds ?? UPSTREAM_GITOPS_POLL.pollJitterSeconds,
    revisionCacheSeconds: stated ? pollSeconds : UPSTREAM_GITOPS_POLL.revisionCacheSeconds,
    stated,
  };
  writeFileSync(gitopsSettingsFile(), JSON.stringify(settings));
  return settings;
}

export function currentGitopsSettings(): LabGitopsSettings {
  try {
    return { ...UPSTREAM_GITOPS_POLL, ...(JSON.parse(readFileSync(gitopsSettingsFile(), 'utf8')) as Partial<LabGitopsSettings>) };
  } catch {
    return UPSTREAM_GITOPS_POLL;
  }
}
