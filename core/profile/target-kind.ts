/**
 * The one fact about a target's kind that core decisions need: the lab is built by clusterproof on this machine and
 * thrown away by `lab down`; every other kind is somebody's real cluster. The blast-radius guard allows everything
 * on the lab, and only a real cluster's run may reach addresses beyond loopback and the lab range. Which providers
 * serve a kind is decided in fixtures/targets/.
 */
import type { Profile } from './schema.ts';

export function isOwnLab(profile: Profile): boolean {
  return profile.target.kind === 'lab';
}

/** May this target's clients reach addresses beyond loopback and the lab range? */
export function reachesBeyondLab(profile: Profile): boolean {
  return !isOwnLab(profile);
}
