/** Node IPs, the VIP and the gateway: well formed, inside the subnet, not reserved, not shared. */
import { error, warning, type Finding } from '../finding.ts';
import { formatIpv4, overlaps, parseCidr, reservedAddresses } from '../../net/ipv4.ts';
import { inSubnet, subnetText, type Topology } from '../topology.ts';

export function checkAddresses(t: Topology): Finding[] {
  return [...checkSubnet(t), ...checkNodeIps(t), ...checkVip(t), ...checkGateway(t), ...checkClusterCidrs(t)];
}

function checkSubnet(t: Topology): Finding[] {
  const { subnet } = t;
  if (!subnet) return [error('subnet-invalid', 'network.subnet', `network.subnet ${t.profile.network.subnet} is not an IPv4 CIDR`)];
  if (subnet.address === subnet.first) return [];
  const canonical = `${formatIpv4(subnet.first)}/${subnet.prefix}`;
  return [
    warning('subnet-host-bits', 'network.subnet', `network.subnet ${t.profile.network.subnet} has host bits set`, {
      explanation: `A subnet is named by its network address; ${t.profile.network.subnet} reads like a host address with a prefix length.`,
      suggestion: `write ${canonical}`,
    }),
  ];
}

/** "outside", "network address" or "broadcast address" problems of one address, or nothing. */
function placement(t: Topology, ip: number): string | undefined {
  if (!t.subnet) return undefined;
  if (!inSubnet(t, ip)) return `outside the subnet ${subnetText(t)}`;
  const { network, broadcast } = reservedAddresses(t.subnet);
  if (ip === network) return `the network address of ${subnetText(t)}, which no host may use`;
  if (ip === broadcast) return `the broadcast address of ${subnetText(t)}, which no host may use`;
  return undefined;
}

function checkNodeIps(t: Topology): Finding[] {
  const findings: Finding[] = [];
  for (const n of t.nodes) {
    const path = `${n.path}.ip`;
    if (n.ip === undefined) {
      findings.push(error('node-ip-invalid', path, `node ${n.spec.name}: ${n.spec.ip} is not an IPv4 address`));
      continue;
    }
    const problem = placement(t, n.ip);
    if (problem) {
      findings.push(
        error(problem.startsWith('outside') ? 'node-ip-outside-subnet' : 'node-ip-reserved', path, `node ${n.spec.name}: ${n.spec.ip} is ${problem}`, {
          explanation: 'Every node must have a usable host address on the cluster LAN: the VIP, MetalLB L2 and the suites all assume one shared segment.',
          suggestion: `give ${n.spec.name} its real address on ${subnetText(t)}, or correct network.subnet`,
        }),
      );
    }
  }
  return findings;
}

function checkVip(t: Topology): Finding[] {
  const vip = t.profile.network.vip;
  if (t.vip === undefined) return [error('vip-invalid', 'network.vip', `network.vip ${vip} is not an IPv4 address`)];
  const findings: Finding[] = [];
  const problem = placement(t, t.vip);
  if (problem) {
    findings.push(
      error(problem.startsWith('outside') ? 'vip-outside-subnet' : 'vip-reserved', 'network.vip', `the API VIP ${vip} is ${problem}`, {
        explanation:
          'Talos moves the VIP between control-plane nodes by announcing it on their LAN interface (gratuitous ARP); ' +
          'an address outside that LAN is never reachable through it.',
        suggestion: `pick an unused address inside ${subnetText(t)}`,
      }),
    );
  }
  for (const n of t.nodes.filter((n) => n.ip === t.vip)) {
    findings.push(
      error('vip-is-node-ip', 'network.vip', `the API VIP ${vip} is also the address of node ${n.spec.name}`, {
        explanation:
          'The VIP is an extra address that moves to whichever control-plane node wins the election. When it is a ' +
          "node's own address, it cannot move: failover is impossible and that node's address answers from two machines.",
        suggestion: `use an address no node has for network.vip`,
      }),
    );
  }
  return findings;
}

function checkGateway(t: Topology): Finding[] {
  const gw = t.profile.network.gateway;
  if (gw === undefined) return [];
  if (t.gateway === undefined) return [error('gateway-invalid', 'network.gateway', `network.gateway ${gw} is not an IPv4 address`)];
  const findings: Finding[] = [];
  const problem = placement(t, t.gateway);
  if (problem) {
    findings.push(
      error(problem.startsWith('outside') ? 'gateway-outside-subnet' : 'gateway-reserved', 'network.gateway', `the gateway ${gw} is ${problem}`, {
        explanation: 'A default gateway must be directly reachable on the LAN, so it must be a host address inside the subnet.',
        suggestion: `set network.gateway to your router's address on ${subnetText(t)}`,
      }),
    );
  }
  const holders = [...t.nodes.filter((n) => n.ip === t.gateway).map((n) => `node ${n.spec.name}`), ...(t.vip === t.gateway ? ['the API VIP'] : [])];
  if (holders.length) {
    findings.push(
      error('gateway-conflict', 'network.gateway', `the gateway ${gw} is also ${holders.join(' and ')}`, {
        explanation: 'The router and a cluster address would answer ARP for the same IP: traffic leaving the LAN or reaching the cluster goes astray.',
        suggestion: 'give the cluster address another IP, or correct network.gateway',
      }),
    );
  }
  return findings;
}

function checkClusterCidrs(t: Topology): Finding[] {
  const { podCIDR, serviceCIDR, subnet } = t.profile.network;
  const named = [
    { path: 'network.subnet', text: subnet, what: 'the node LAN' },
    { path: 'network.podCIDR', text: podCIDR, what: 'the pod network' },
    { path: 'network.serviceCIDR', text: serviceCIDR, what: 'the Service network' },
  ].flatMap((c) => {
    const range = c.text === undefined ? undefined : parseCidr(c.text);
    return range ? [{ ...c, range }] : [];
  });
  const findings: Finding[] = [];
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [a, b] = [named[i], named[j]];
      if (!overlaps(a.range, b.range)) continue;
      findings.push(
        error('cidr-overlap', b.path, `${b.path} ${b.text} overlaps ${a.path} ${a.text}`, {
          explanation: `Routes for ${b.what} and ${a.what} would collide: packets for one go to the other.`,
          suggestion: `use non-overlapping ranges (Talos defaults: podCIDR 10.244.0.0/16, serviceCIDR 10.96.0.0/12)`,
        }),
      );
    }
  }
  return findings;
}
