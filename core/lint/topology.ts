/** The profile's addresses parsed once, so every rule compares numbers rather than strings. */
import type { NodeSpec, Profile } from '../profile/schema.ts';
import { contains, formatIpv4, parseCidr, parseIpv4, parsePoolEntry, type Cidr, type Ipv4Range } from '../net/ipv4.ts';

export interface NodeView {
  spec: NodeSpec;
  index: number;
  path: string;
  ip?: number;
}

export interface PoolEntryView {
  text: string;
  path: string;
  range?: Ipv4Range;
}

export interface PoolView {
  name: string;
  index: number;
  path: string;
  mode: 'l2' | 'bgp';
  entries: PoolEntryView[];
}

export interface Topology {
  profile: Profile;
  subnet?: Cidr;
  vip?: number;
  gateway?: number;
  nodes: NodeView[];
  controlPlanes: NodeView[];
  workers: NodeView[];
  pools: PoolView[];
}

export function topologyOf(profile: Profile): Topology {
  const nodes = profile.nodes.map((spec, index) => ({ spec, index, path: `nodes[${index}]`, ip: parseIpv4(spec.ip) }));
  const pools = (profile.network.loadBalancerPools ?? []).map((pool, index) => ({
    name: pool.name,
    index,
    path: `network.loadBalancerPools[${index}]`,
    mode: pool.mode ?? 'l2',
    entries: pool.addresses.map((text, i) => ({
      text,
      path: `network.loadBalancerPools[${index}].addresses[${i}]`,
      range: parsePoolEntry(text),
    })),
  }));
  return {
    profile,
    subnet: parseCidr(profile.network.subnet),
    vip: parseIpv4(profile.network.vip),
    gateway: profile.network.gateway === undefined ? undefined : parseIpv4(profile.network.gateway),
    nodes,
    controlPlanes: nodes.filter((n) => n.spec.role === 'control-plane'),
    workers: nodes.filter((n) => n.spec.role === 'worker'),
    pools,
  };
}

export function nodeAt(t: Topology, ip: number): NodeView | undefined {
  return t.nodes.find((n) => n.ip === ip);
}

export function inSubnet(t: Topology, ip: number): boolean {
  return t.subnet === undefined || contains(t.subnet, ip);
}

export function subnetText(t: Topology): string {
  return t.subnet ? `${formatIpv4(t.subnet.first)}/${t.subnet.prefix}` : t.profile.network.subnet;
}
