/**
 * Static checks of a profile's declared topology. Purely static: nothing is resolved or contacted.
 * Findings come errors first, then warnings.
 */
import type { Profile } from '../profile/schema.ts';
import type { Finding } from './finding.ts';
import { checkAccess } from './rules/access.ts';
import { checkAddresses } from './rules/addresses.ts';
import { checkCapabilities } from './rules/capabilities.ts';
import { checkEtcdQuorum } from './rules/etcd-quorum.ts';
import { checkLoadBalancerPools } from './rules/lb-pools.ts';
import { checkNodeIdentity } from './rules/node-identity.ts';
import { checkSafety } from './rules/safety.ts';
import { checkScheduling } from './rules/scheduling.ts';
import { checkServices } from './rules/services.ts';
import { topologyOf, type Topology } from './topology.ts';

export type { Finding, Severity } from './finding.ts';

const RULES: ((t: Topology) => Finding[])[] = [
  checkAddresses,
  checkNodeIdentity,
  checkLoadBalancerPools,
  checkEtcdQuorum,
  checkScheduling,
  checkServices,
  checkAccess,
  checkCapabilities,
  checkSafety,
];

export function lintProfile(profile: Profile): Finding[] {
  const t = topologyOf(profile);
  const findings = RULES.flatMap((rule) => rule(t));
  return [...findings.filter((f) => f.severity === 'error'), ...findings.filter((f) => f.severity === 'warning')];
}
