/**
 * Where suites may push, decided from the profile alone (so `run --dry-run` and the fixtures agree): the lab's
 * repository is the lab's own, thrown away by `lab down`, so its tracked branch; on any other target only the
 * throwaway branch the profile names, never the branch production deploys from.
 */
import type { Profile } from './schema.ts';

export interface GitopsPushTarget {
  url: string;
  branch: string;
  allowRemote?: boolean;
}

/** The push target, or why there is none (the reason the gitops-push capability is missing). */
export function gitopsPushTarget(profile: Profile, allowRemote?: boolean): GitopsPushTarget | string {
  const g = profile.gitops;
  if (!g) return 'gitops is not configured in the profile';
  if (profile.target.kind === 'lab') return { url: g.repo, branch: g.branch };
  if (!g.testBranch) {
    return `gitops.testBranch is not set: on a real target clusterproof pushes only to a throwaway branch the profile names, never to ${g.branch}`;
  }
  return { url: g.repo, branch: g.testBranch, allowRemote };
}
