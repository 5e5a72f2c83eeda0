/** Declared capabilities need the configuration that backs them; otherwise suites would run and fail for no reason. */
import type { Capability } from '../../profile/schema.ts';
import { error, warning, type Finding } from '../finding.ts';
import type { Topology } from '../topology.ts';

interface Requirement {
  capability: Capability;
  satisfied: (t: Topology) => boolean;
  path: string;
  missing: string;
  suggestion: string;
}

const REQUIREMENTS: Requirement[] = [
  {
    capability: 'proxmox',
    satisfied: (t) => !!t.profile.access.proxmox,
    path: 'access.proxmox',
    missing: 'capability proxmox is declared but access.proxmox is missing',
    suggestion: 'add access.proxmox { url, tokenId, tokenSecret } or drop the proxmox capability',
  },
  {
    capability: 'node-power',
    satisfied: (t) => !!t.profile.access.proxmox,
    path: 'access.proxmox',
    missing: 'capability node-power is declared but access.proxmox is missing: power faults go through the Proxmox API',
    suggestion: 'add access.proxmox or drop the node-power capability',
  },
  {
    capability: 'talos',
    satisfied: (t) => !!t.profile.access.talos,
    path: 'access.talos',
    missing: 'capability talos is declared but access.talos is missing',
    suggestion: 'add access.talos { endpoints: [control-plane IPs], talosconfig } or drop the talos capability',
  },
  {
    capability: 'argocd',
    satisfied: (t) => !!t.profile.access.argocd,
    path: 'access.argocd',
    missing: 'capability argocd is declared but access.argocd is missing',
    suggestion: 'add access.argocd { url, token } or drop the argocd capability',
  },
  {
    capability: 'etcd-direct',
    satisfied: (t) => !!t.profile.access.etcd || !!t.profile.access.talos,
    path: 'access.etcd',
    missing: 'capability etcd-direct is declared but neither access.etcd nor access.talos says how to reach the members',
    suggestion: 'add access.etcd (client URLs and certificates) or, on Talos, access.talos',
  },
  {
    capability: 'gitops-push',
    satisfied: (t) => !!t.profile.gitops,
    path: 'gitops',
    missing: 'capability gitops-push is declared but there is no gitops section naming the repository',
    suggestion: 'add gitops { repo, branch, path } or drop the gitops-push capability',
  },
  {
    capability: 'metallb',
    satisfied: (t) => t.pools.length > 0,
    path: 'network.loadBalancerPools',
    missing: 'capability metallb is declared but network.loadBalancerPools is empty',
    suggestion: 'declare the MetalLB IPAddressPool(s) under network.loadBalancerPools',
  },
];

export function checkCapabilities(t: Topology): Finding[] {
  const caps = t.profile.target.capabilities;
  const has = new Set(caps);
  const findings: Finding[] = [];
  for (const r of REQUIREMENTS) {
    if (has.has(r.capability) && !r.satisfied(t)) {
      findings.push(
        error('capability-without-access', r.path, r.missing, {
          explanation: `Suites needing ${r.capability} would be selected, then fail to reach what they test instead of being skipped with a reason.`,
          suggestion: r.suggestion,
        }),
      );
    }
  }
  if (has.has('proxmox') || (has.has('node-power') && t.profile.target.kind === 'talos-proxmox')) {
    for (const n of t.nodes.filter((n) => !n.spec.hypervisor)) {
      findings.push(
        error('node-without-hypervisor', `${n.path}.hypervisor`, `node ${n.spec.name} has no hypervisor reference, but power faults go through Proxmox`, {
          explanation: 'To power a node off or on, clusterproof needs the Proxmox node and VM id that run it.',
          suggestion: `add hypervisor: { node: <proxmox host>, vmid: <VM id> } to ${n.spec.name} (Proxmox UI or \`qm list\`)`,
        }),
      );
    }
  }
  if (!has.has('metallb') && t.pools.length > 0) {
    findings.push(
      warning('pools-without-metallb', 'target.capabilities', 'network.loadBalancerPools is declared but the metallb capability is not', {
        suggestion: 'add metallb to target.capabilities, or remove the pools',
      }),
    );
  }
  const kind = t.profile.target.kind;
  if (kind === 'talos-proxmox') {
    for (const c of ['talos', 'proxmox'] as const) {
      if (!has.has(c)) {
        findings.push(warning('capability-kind-mismatch', 'target.capabilities', `target kind talos-proxmox without the ${c} capability`, {
          suggestion: `add ${c} to target.capabilities`,
        }));
      }
    }
  }
  if (has.has('lab') !== (kind === 'lab')) {
    findings.push(
      warning('capability-kind-mismatch', 'target.capabilities', kind === 'lab' ? 'target kind lab without the lab capability' : `capability lab declared on a ${kind} target`, {
        explanation: 'The lab capability enables suites that only make sense on the embedded lab (they break things freely).',
        suggestion: kind === 'lab' ? 'add lab to target.capabilities' : 'remove lab from target.capabilities',
      }),
    );
  }
  const seen = new Set<string>();
  caps.forEach((c, i) => {
    if (seen.has(c)) findings.push(warning('duplicate-capability', `target.capabilities[${i}]`, `capability ${c} is listed twice`));
    seen.add(c);
  });
  return findings;
}
