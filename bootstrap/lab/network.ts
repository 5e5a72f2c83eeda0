/**
 * The lab's network: a bridge in the host namespace (the host is the admin workstation at 198.18.40.1), one
 * network namespace per node wired to it by a veth pair, and host routes that keep all of 198.18.0.0/15 inside
 * the machine while the lab is up.
 *
 * Host changes, all removed by networkDown: the bridge and the veths (with their per-interface sysctls), the
 * namespaces, and one `unreachable 198.18.0.0/15` route. No forwarding or NAT: the bridge has forwarding off, so
 * a node's packet for anything but the host's own address ends at the host.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { RefusedError } from '../../core/errors.ts';
import { CommandError, run, requireRoot, requireTools, tryRun } from '../../core/command.ts';
import { execInNode } from './node-exec.ts';
import { healNode, isPartitioned } from './node-faults.ts';
import { listAddrs, listLinks, listNetns, listRoutes, netnsPids, setHostInterfaceSysctl, type IpLink } from './iproute.ts';
import { ipv4InCidr } from '../../core/net/ipv4.ts';
import { labPlan, labRouteProtocol, type LabNode, type LabNodeName } from '../../providers/lab/plan.ts';

export { runInNode, execInNode, tryExecInNode } from './node-exec.ts';
export { setNodeLink, nodeLinkIsUp, partitionNode, healNode, isPartitioned } from './node-faults.ts';

const bridge = labPlan.bridge;
const guardRoute = ['unreachable', labPlan.range, 'proto', String(labRouteProtocol)];
const netnsDir = '/run/netns';

export interface NodeNetworkStatus {
  name: LabNodeName;
  ip: string;
  netns: boolean;
  /** state of the host end of the node's veth: down means the node's cable is pulled */
  link: 'up' | 'down' | 'absent';
  address: boolean;
  defaultRoute: boolean;
  partitioned: boolean;
}

export interface NetworkStatus {
  /** everything in the plan exists and every node link is up */
  up: boolean;
  bridge: { exists: boolean; up: boolean; address: boolean };
  /** the host routes: the node LAN via the bridge, the rest of the lab range unreachable */
  routes: { lan: boolean; unreachableGuard: boolean };
  nodes: NodeNetworkStatus[];
  /** `cp-` namespaces or links that the plan does not know (left by another version, or made by hand) */
  strays: string[];
}

export interface NetworkDownReport {
  removed: string[];
  /** pids still inside a lab namespace at teardown; they were sent SIGKILL */
  killed: number[];
}

/** Creates (or repairs) the whole lab network; safe to re-run. Leaves every link up and no node partitioned. */
export async function networkUp(): Promise<NetworkStatus> {
  requireRoot('lab network up');
  requireTools('ip', 'sysctl', 'iptables', 'arptables');
  await refuseForeignLabRanges();
  await ensureBridge();
  await run(['ip', 'route', 'replace', ...guardRoute]);
  for (const node of labPlan.nodes) await ensureNode(node);
  return networkStatus();
}

/** Removes every namespace, link and route the lab created. Safe after a partial up and when already down. */
export async function networkDown(): Promise<NetworkDownReport> {
  requireRoot('lab network down');
  requireTools('ip');
  const report: NetworkDownReport = { removed: [], killed: [] };
  // Host ends first: deleting one end of a veth destroys the pair at once, whereas a deleted namespace is torn
  // down asynchronously and its veth would linger on the host for a moment.
  const links = await listLinks();
  for (const name of [...labPlan.nodes.map((n) => n.hostVeth), bridge.name]) {
    if (links.some((l) => l.ifname === name)) {
      await deleteLink(name);
      report.removed.push(`link ${name}`);
    }
  }
  const namespaces = await listNetns();
  for (const node of labPlan.nodes) {
    if (!namespaces.includes(node.netns)) continue;
    // a process left inside would keep the namespace alive after `ip netns del`
    for (const pid of await netnsPids(node.netns)) {
      try {
        process.kill(pid, 'SIGKILL');
        report.killed.push(pid);
      } catch {
        // already gone
      }
    }
    await run(['ip', 'netns', 'del', node.netns]);
    report.removed.push(`netns ${node.netns}`);
  }
  while ((await tryRun(['ip', 'route', 'del', ...guardRoute])).code === 0) report.removed.push(`route ${guardRoute.join(' ')}`);
  if (await unmountEmptyNetnsDir()) report.removed.push(`mount ${netnsDir}`);
  return report;
}

export async function networkStatus(): Promise<NetworkStatus> {
  requireRoot('lab network status');
  const [links, addrs, routes, namespaces] = await Promise.all([listLinks(), listAddrs(), listRoutes(), listNetns()]);
  const bridgeLink = links.find((l) => l.ifname === bridge.name);
  const bridgeStatus = {
    exists: bridgeLink !== undefined,
    up: bridgeLink?.flags.includes('UP') ?? false,
    address: hasAddress(addrs, bridge.name, bridge.ip),
  };
  const routeStatus = {
    lan: routes.some((r) => r.dst === labPlan.lan.cidr && r.dev === bridge.name && r.table === undefined),
    unreachableGuard: routes.some(isGuardRoute),
  };
  const nodes: NodeNetworkStatus[] = [];
  for (const node of labPlan.nodes) nodes.push(await nodeStatus(node, links, namespaces.includes(node.netns)));
  const known = new Set<string>([bridge.name, ...labPlan.nodes.flatMap((n) => [n.netns, n.hostVeth])]);
  const strays = [...namespaces, ...links.map((l) => l.ifname)].filter((name) => name.startsWith('cp-') && !known.has(name));
  const up =
    bridgeStatus.exists &&
    bridgeStatus.up &&
    bridgeStatus.address &&
    routeStatus.lan &&
    routeStatus.unreachableGuard &&
    nodes.every((n) => n.netns && n.link === 'up' && n.address && n.defaultRoute);
  return { up, bridge: bridgeStatus, routes: routeStatus, nodes, strays };
}

function isGuardRoute(r: { type?: string; dst: string; protocol?: string }): boolean {
  return r.type === 'unreachable' && r.dst === labPlan.range && r.protocol === String(labRouteProtocol);
}

function hasAddress(addrs: Awaited<ReturnType<typeof listAddrs>>, ifname: string, ip: string): boolean {
  return addrs.some((a) => a.ifname === ifname && a.addr_info.some((i) => i.local === ip && i.prefixlen === labPlan.lan.prefixLength));
}

function routePrefixInLabRange(dst: string): boolean {
  if (dst === 'default') return false;
  const [ip, bits] = dst.split('/');
  const prefix = bits === undefined ? 32 : Number(bits);
  return prefix >= 15 && ipv4InCidr(ip ?? '', labPlan.range);
}

/** Refuses to build the lab where the host already uses part of 198.18.0.0/15 for something else. */
async function refuseForeignLabRanges(): Promise<void> {
  const [addrs, routes] = await Promise.all([listAddrs(), listRoutes()]);
  for (const a of addrs) {
    if (a.ifname === bridge.name) continue;
    const foreign = a.addr_info.find((i) => ipv4InCidr(i.local, labPlan.range));
    if (foreign) {
      throw new RefusedError(
        `interface ${a.ifname} already has ${foreign.local}/${foreign.prefixlen}, inside the lab range ${labPlan.range}; ` +
          'the lab would shadow it. Remove that address or run the lab on another machine.',
      );
    }
  }
  for (const r of routes) {
    if (r.table === 'local' || r.dev === bridge.name || isGuardRoute(r) || !routePrefixInLabRange(r.dst)) continue;
    throw new RefusedError(
      `the host already routes ${r.dst}${r.dev ? ` via ${r.dev}` : ''} (${r.type ?? 'unicast'}), inside the lab range ${labPlan.range}; ` +
        'packets meant for the lab could leave the machine. Remove that route first.',
    );
  }
}

async function ensureBridge(): Promise<void> {
  const existing = (await listLinks()).find((l) => l.ifname === bridge.name);
  if (existing && existing.linkinfo?.info_kind !== 'bridge') await run(['ip', 'link', 'del', 'dev', bridge.name]);
  if (!existing || existing.linkinfo?.info_kind !== 'bridge') {
    await run(['ip', 'link', 'add', 'name', bridge.name, 'address', bridge.mac, 'type', 'bridge']);
  }
  // before the link comes up: no IPv6 chatter on the lab LAN, never route what nodes send, and learn VIP moves
  await setHostInterfaceSysctl('ipv6', bridge.name, 'disable_ipv6', 1);
  await setHostInterfaceSysctl('ipv4', bridge.name, 'forwarding', 0);
  await setHostInterfaceSysctl('ipv4', bridge.name, 'arp_accept', 1);
  await run(['ip', 'addr', 'replace', `${bridge.ip}/${labPlan.lan.prefixLength}`, 'dev', bridge.name]);
  await run(['ip', 'link', 'set', 'dev', bridge.name, 'up']);
}

async function ensureNode(node: LabNode): Promise<void> {
  if (!(await listNetns()).includes(node.netns)) await run(['ip', 'netns', 'add', node.netns]);
  // inherited by eth0 when it is created below
  await execInNode(node, [
    'sysctl', '-q', '-w',
    'net.ipv6.conf.default.disable_ipv6=1',
    'net.ipv4.conf.default.arp_accept=1',
    'net.ipv4.conf.default.arp_notify=1',
  ]);
  await ensureVeth(node);
  await execInNode(node, [
    'sysctl', '-q', '-w',
    `net.ipv6.conf.${node.nodeVeth}.disable_ipv6=1`,
    `net.ipv4.conf.${node.nodeVeth}.arp_accept=1`,
    `net.ipv4.conf.${node.nodeVeth}.arp_notify=1`,
  ]);
  await setHostInterfaceSysctl('ipv6', node.hostVeth, 'disable_ipv6', 1);
  await run(['ip', 'link', 'set', 'dev', node.hostVeth, 'master', bridge.name]);
  await run(['ip', 'link', 'set', 'dev', node.hostVeth, 'up']);
  const ns = ['ip', '-n', node.netns];
  await run([...ns, 'addr', 'replace', `${node.ip}/${labPlan.lan.prefixLength}`, 'dev', node.nodeVeth]);
  await run([...ns, 'link', 'set', 'dev', 'lo', 'up']);
  await run([...ns, 'link', 'set', 'dev', node.nodeVeth, 'up']);
  await run([...ns, 'route', 'replace', 'default', 'via', bridge.ip, 'dev', node.nodeVeth]);
  await healNode(node);
}

/** Makes sure the node's veth pair exists with one end on the host and `eth0` in the namespace. */
async function ensureVeth(node: LabNode): Promise<void> {
  const hostEnd = (await listLinks()).find((l) => l.ifname === node.hostVeth);
  const nodeEnd = (await listLinks(node.netns)).find((l) => l.ifname === node.nodeVeth);
  if (isVeth(hostEnd) && isVeth(nodeEnd)) return;
  // half a pair cannot exist; anything else under these names is not what the plan wants
  if (hostEnd) await deleteLink(node.hostVeth);
  if (nodeEnd) await run(['ip', '-n', node.netns, 'link', 'del', 'dev', node.nodeVeth]);
  await run([
    'ip', 'link', 'add', node.hostVeth, 'address', node.hostVethMac, 'type', 'veth',
    'peer', 'name', node.nodeVeth, 'address', node.mac, 'netns', node.netns,
  ]);
}

function isVeth(link: IpLink | undefined): boolean {
  return link?.linkinfo?.info_kind === 'veth';
}

async function nodeStatus(node: LabNode, hostLinks: IpLink[], netns: boolean): Promise<NodeNetworkStatus> {
  const hostEnd = hostLinks.find((l) => l.ifname === node.hostVeth);
  const status: NodeNetworkStatus = {
    name: node.name,
    ip: node.ip,
    netns,
    link: hostEnd ? (hostEnd.flags.includes('UP') ? 'up' : 'down') : 'absent',
    address: false,
    defaultRoute: false,
    partitioned: false,
  };
  if (!netns) return status;
  const [addrs, routes] = await Promise.all([listAddrs(node.netns), listRoutes(node.netns)]);
  status.address = hasAddress(addrs, node.nodeVeth, node.ip);
  status.defaultRoute = routes.some((r) => r.dst === 'default' && r.gateway === bridge.ip && r.dev === node.nodeVeth);
  status.partitioned = await isPartitioned(node);
  return status;
}

async function deleteLink(name: string): Promise<void> {
  const result = await tryRun(['ip', 'link', 'del', 'dev', name]);
  if (result.code !== 0 && !/Cannot find device/.test(result.stderr)) throw new CommandError(['ip', 'link', 'del', 'dev', name], result);
}

function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

/**
 * `ip netns add` bind-mounts /run/netns onto itself the first time; once the last namespace is gone that mount
 * serves nothing, so it goes too (an empty self-bind carries nothing anyone else could need).
 */
async function unmountEmptyNetnsDir(): Promise<boolean> {
  let unmounted = false;
  while (isMountPoint(netnsDir) && readdirSync(netnsDir).length === 0) {
    if ((await tryRun(['umount', netnsDir])).code !== 0) break;
    unmounted = true;
  }
  return unmounted;
}
