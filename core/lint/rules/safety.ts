/** Safety limits must name real nodes: a misspelt protected node would protect nothing. */
import { didYouMean } from '../../profile/did-you-mean.ts';
import { error, type Finding } from '../finding.ts';
import type { Topology } from '../topology.ts';

export function checkSafety(t: Topology): Finding[] {
  const names = t.nodes.map((n) => n.spec.name);
  const findings: Finding[] = [];
  (t.profile.safety.protectedNodes ?? []).forEach((name, i) => {
    if (names.includes(name)) return;
    const close = didYouMean(name, names);
    findings.push(
      error('protected-node-unknown', `safety.protectedNodes[${i}]`, `protected node ${name} is not declared in nodes${close ? `; did you mean ${close}?` : ''}`, {
        explanation: 'The guard protects nodes by name; a name that matches no node protects nothing, silently.',
        suggestion: `use one of: ${names.join(', ')}`,
      }),
    );
  });
  return findings;
}
