/** MetalLB pools: well formed, on the LAN, and never handing out an address something else already answers for. */
import { error, type Finding } from '../finding.ts';
import { contains, formatIpv4, formatRange, overlaps, parseIpv4, reservedAddresses, type Ipv4Range } from '../../net/ipv4.ts';
import { suggestFreeAddress } from '../free-address.ts';
import { subnetText, type PoolEntryView, type PoolView, type Topology } from '../topology.ts';

export function checkLoadBalancerPools(t: Topology): Finding[] {
  const findings: Finding[] = [];
  for (const pool of t.pools) {
    for (const entry of pool.entries) {
      if (!entry.range) {
        findings.push(malformed(entry));
        continue;
      }
      findings.push(...checkEntry(t, pool, entry, entry.range));
    }
  }
  findings.push(...checkOverlaps(t), ...checkNames(t));
  return findings;
}

function malformed(entry: PoolEntryView): Finding {
  const bare = parseIpv4(entry.text) !== undefined;
  return error('pool-entry-invalid', entry.path, `pool entry "${entry.text}" is neither a CIDR nor a range a-b`, {
    explanation: 'MetalLB IPAddressPool addresses are CIDRs (192.168.40.70/32) or inclusive ranges (192.168.40.70-192.168.40.79).',
    suggestion: bare ? `write ${entry.text.trim()}/32 for a single address` : 'write a CIDR such as 192.168.40.70/32 or a range a-b',
  });
}

function checkEntry(t: Topology, pool: PoolView, entry: PoolEntryView, range: Ipv4Range): Finding[] {
  const findings: Finding[] = [];
  const where = `MetalLB pool "${pool.name}" (${entry.text})`;
  if (t.subnet && pool.mode === 'l2' && !(contains(t.subnet, range.first) && contains(t.subnet, range.last))) {
    findings.push(
      error('pool-outside-subnet', entry.path, `${where} is not inside the subnet ${subnetText(t)}`, {
        explanation:
          'In L2 mode MetalLB answers ARP for pool addresses on the node LAN; clients only ARP for addresses of their own subnet, ' +
          'so an address outside it is unreachable without extra routes.',
        suggestion: freeSuggestion(t, entry, 'use an address inside the subnet'),
      }),
    );
  }
  if (t.vip !== undefined && contains(range, t.vip)) findings.push(vipInPool(t, pool, entry, range));
  const nodes = t.nodes.filter((n) => n.ip !== undefined && contains(range, n.ip));
  if (nodes.length) {
    findings.push(
      error('pool-overlaps-node', entry.path, `${where} contains the address of ${nodes.map((n) => `${n.spec.name} (${n.spec.ip})`).join(', ')}`, {
        explanation:
          "MetalLB would give a node's own address to a LoadBalancer Service and a speaker would answer ARP for it: " +
          'traffic for that node, kubelet and the Talos API included, would reach the wrong machine.',
        suggestion: freeSuggestion(t, entry, 'keep node addresses out of the pool'),
      }),
    );
  }
  if (t.gateway !== undefined && contains(range, t.gateway)) {
    findings.push(
      error('pool-contains-gateway', entry.path, `${where} contains the gateway ${formatIpv4(t.gateway)}`, {
        explanation: "A Service given the gateway's address would steal the router's traffic for the whole LAN.",
        suggestion: freeSuggestion(t, entry, 'keep the gateway out of the pool'),
      }),
    );
  }
  if (t.subnet) {
    const { network, broadcast } = reservedAddresses(t.subnet);
    const reserved = [network, broadcast].filter((ip): ip is number => ip !== undefined && contains(range, ip));
    if (reserved.length) {
      findings.push(
        error('pool-contains-reserved', entry.path, `${where} contains ${reserved.map(formatIpv4).join(' and ')}, the network/broadcast address of ${subnetText(t)}`, {
          explanation: 'No host may use the network or broadcast address of its LAN; a Service given one is unreachable.',
          suggestion: freeSuggestion(t, entry, 'use host addresses only'),
        }),
      );
    }
  }
  return findings;
}

function vipInPool(t: Topology, pool: PoolView, entry: PoolEntryView, range: Ipv4Range): Finding {
  const vip = formatIpv4(t.vip!);
  const explanation =
    pool.mode === 'l2'
      ? `Talos gives ${vip} to one control-plane node, elected through etcd, and that node answers ARP for it. ` +
        `MetalLB in L2 mode hands the same address to a LoadBalancer Service, and its speaker answers ARP for it from a worker: ` +
        `speakers skip nodes labelled node.kubernetes.io/exclude-from-external-load-balancers, which Talos sets on control-plane nodes. ` +
        `Two machines with different MAC addresses would both answer ARP for ${vip}: neighbours' ARP caches flip between them, ` +
        `and both the Kubernetes API and the LoadBalancer Service fail at random.`
      : `Talos gives ${vip} to one control-plane node, which answers ARP for it, while MetalLB in BGP mode advertises the ` +
        `same address from the speakers on the workers: routers and LAN clients would send API traffic to different machines.`;
  const single = range.first === range.last;
  let suggestion: string;
  if (single) {
    suggestion = freeSuggestion(t, entry, 'give MetalLB an address of its own');
  } else {
    const parts: Ipv4Range[] = [];
    if (range.first < t.vip!) parts.push({ first: range.first, last: t.vip! - 1 });
    if (t.vip! < range.last) parts.push({ first: t.vip! + 1, last: range.last });
    suggestion = `keep ${vip} for the API only: replace ${entry.text} in ${entry.path} with ${parts.map(formatRange).join(' and ')}`;
  }
  return error('vip-in-lb-pool', entry.path, `the API VIP ${vip} is also in MetalLB pool "${pool.name}" (${entry.text})`, {
    explanation,
    suggestion,
  });
}

/** "give MetalLB an address of its own: replace X with Y/32 in path (Y is free: ...)" */
function freeSuggestion(t: Topology, entry: PoolEntryView, lead: string): string {
  const free = suggestFreeAddress(t, entry);
  if (free === undefined) return `${lead}; no free address is left in ${subnetText(t)}`;
  const ip = formatIpv4(free);
  return (
    `${lead}: replace ${entry.text} with ${ip}/32 in ${entry.path} and in the cluster's MetalLB IPAddressPool. ` +
    `${ip} is free in this profile (not a node, the VIP, the gateway, the network or broadcast address, nor another pool); ` +
    `check that your router's DHCP range does not hand it out.`
  );
}

function checkOverlaps(t: Topology): Finding[] {
  const entries = t.pools.flatMap((pool) => pool.entries.filter((e) => e.range).map((e) => ({ pool, e })));
  const findings: Finding[] = [];
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [a, b] = [entries[i], entries[j]];
      if (!overlaps(a.e.range!, b.e.range!)) continue;
      findings.push(
        error('pools-overlap', b.e.path, `${b.e.text} (pool "${b.pool.name}") overlaps ${a.e.text} (pool "${a.pool.name}")`, {
          explanation: 'MetalLB refuses overlapping IPAddressPools, so none of the overlapping addresses is handed out as intended.',
          suggestion: 'make the pools disjoint',
        }),
      );
    }
  }
  return findings;
}

function checkNames(t: Topology): Finding[] {
  const seen = new Map<string, PoolView>();
  const findings: Finding[] = [];
  for (const pool of t.pools) {
    const first = seen.get(pool.name);
    if (first) {
      findings.push(
        error('duplicate-pool-name', `${pool.path}.name`, `pool name "${pool.name}" is used by ${first.path} and ${pool.path}`, {
          explanation: 'MetalLB IPAddressPools are named resources; a second pool of the same name replaces the first.',
          suggestion: 'give each pool its own name',
        }),
      );
    } else seen.set(pool.name, pool);
  }
  return findings;
}
