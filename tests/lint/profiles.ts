/** Profiles for lint tests: the seed as documented, and the seed with its one topology error fixed. */
import { readFileSync } from 'node:fs';
import { lintProfile, type Finding } from '../../core/lint/lint.ts';
import { parseProfile } from '../../core/profile/load.ts';
import type { Profile } from '../../core/profile/schema.ts';

const seedProfile = parseProfile(readFileSync(new URL('../../profiles/seed.yaml', import.meta.url), 'utf8'), 'profiles/seed.yaml');

export function seed(change?: (p: Profile) => void): Profile {
  const p = structuredClone(seedProfile);
  change?.(p);
  return p;
}

/** The seed with MetalLB given its own address: no errors left. */
export function fixedSeed(change?: (p: Profile) => void): Profile {
  return seed((p) => {
    p.network.loadBalancerPools[0].addresses = ['192.168.40.70/32'];
    change?.(p);
  });
}

export function lint(p: Profile): Finding[] {
  return lintProfile(p);
}

export function codes(p: Profile): string[] {
  return lintProfile(p).map((f) => f.code);
}

/** The findings with this code; fails the test if there is none. */
export function only(p: Profile, code: string): Finding[] {
  const found = lintProfile(p).filter((f) => f.code === code);
  if (found.length === 0) throw new Error(`expected a ${code} finding, got: ${codes(p).join(', ') || 'none'}`);
  return found;
}
