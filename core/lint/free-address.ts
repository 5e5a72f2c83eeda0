/**
 * Picks an address a fix can use: inside the subnet, not a node, the VIP, the gateway, the network or broadcast
 * address, another pool or any address an access URL points at. Prefers the first round number above the nodes
 * (nodes .61-.65 → .70), which is where people usually put a MetalLB pool.
 */
import { contains, parseIpv4, reservedAddresses, type Ipv4Range } from '../net/ipv4.ts';
import type { PoolEntryView, Topology } from './topology.ts';

export function suggestFreeAddress(t: Topology, replacing?: PoolEntryView): number | undefined {
  if (!t.subnet) return undefined;
  const subnet = t.subnet;
  const taken = takenAddresses(t);
  const otherPools: Ipv4Range[] = t.pools.flatMap((p) => p.entries.filter((e) => e !== replacing && e.range).map((e) => e.range!));
  const { network, broadcast } = reservedAddresses(subnet);
  // with no gateway declared, stay off the first and last host addresses, where routers usually sit
  const routerGuesses = t.gateway === undefined && subnet.prefix < 30 ? [subnet.first + 1, subnet.last - 1] : [];
  const free = (ip: number) =>
    ip !== network &&
    ip !== broadcast &&
    !routerGuesses.includes(ip) &&
    !taken.has(ip) &&
    !otherPools.some((r) => contains(r, ip));

  const used = [...taken].filter((ip) => contains(subnet, ip));
  const highest = used.length ? Math.max(...used) : subnet.first;
  const start = Math.ceil((highest + 1 - subnet.first) / 10) * 10 + subnet.first;
  for (let ip = Math.max(start, subnet.first); ip <= subnet.last; ip++) if (free(ip)) return ip;
  for (let ip = subnet.first; ip <= subnet.last && ip < start; ip++) if (free(ip)) return ip;
  return undefined;
}

function takenAddresses(t: Topology): Set<number> {
  const taken = new Set<number>();
  const add = (ip: number | undefined) => ip !== undefined && taken.add(ip);
  for (const n of t.nodes) add(n.ip);
  add(t.vip);
  add(t.gateway);
  const { access, gitops } = t.profile;
  const urls = [access.kubernetes.server, access.argocd?.url, access.proxmox?.url, gitops?.webhook?.url];
  for (const e of access.etcd?.endpoints ?? []) urls.push(e.url);
  for (const u of urls) if (u) add(urlIp(u));
  for (const e of access.talos?.endpoints ?? []) add(parseIpv4(e));
  return taken;
}

export function urlIp(url: string): number | undefined {
  try {
    return parseIpv4(new URL(url).hostname);
  } catch {
    return undefined;
  }
}
