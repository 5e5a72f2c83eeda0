/** Each node is one machine: unique name, unique address, unique Proxmox VM id. */
import { error, type Finding } from '../finding.ts';
import type { NodeView, Topology } from '../topology.ts';

export function checkNodeIdentity(t: Topology): Finding[] {
  const findings: Finding[] = [];
  for (const group of duplicates(t.nodes, (n) => n.spec.name)) {
    const [first, ...rest] = group;
    for (const n of rest) {
      findings.push(
        error('duplicate-node-name', `${n.path}.name`, `node name ${n.spec.name} is used by ${first.path} and ${n.path}`, {
          explanation: 'Kubernetes node names are unique; suites find nodes, and the faults they apply, by name.',
          suggestion: 'give every node the name `kubectl get nodes` shows for it',
        }),
      );
    }
  }
  for (const group of duplicates(t.nodes.filter((n) => n.ip !== undefined), (n) => String(n.ip))) {
    const [first, ...rest] = group;
    for (const n of rest) {
      findings.push(
        error('duplicate-node-ip', `${n.path}.ip`, `${n.spec.ip} is the address of both ${first.spec.name} and ${n.spec.name}`, {
          explanation: 'Two machines with one IP answer ARP in turn: connections reach either at random and the suites cannot tell the nodes apart.',
          suggestion: `give ${n.spec.name} its own address`,
        }),
      );
    }
  }
  const withVm = t.nodes.filter((n) => n.spec.hypervisor);
  for (const group of duplicates(withVm, (n) => String(n.spec.hypervisor!.vmid))) {
    const [first, ...rest] = group;
    for (const n of rest) {
      findings.push(
        error('duplicate-vmid', `${n.path}.hypervisor.vmid`, `VM id ${n.spec.hypervisor!.vmid} is given to both ${first.spec.name} and ${n.spec.name}`, {
          explanation: 'Proxmox VM ids are unique across a cluster: powering one node off would power off the other.',
          suggestion: `set ${n.path}.hypervisor.vmid to the id Proxmox shows for ${n.spec.name}`,
        }),
      );
    }
  }
  return findings;
}

function duplicates(nodes: NodeView[], key: (n: NodeView) => string): NodeView[][] {
  const groups = new Map<string, NodeView[]>();
  for (const n of nodes) groups.set(key(n), [...(groups.get(key(n)) ?? []), n]);
  return [...groups.values()].filter((g) => g.length > 1);
}
