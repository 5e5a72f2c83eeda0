/**
 * The lab network against the real kernel: needs root. Sends packets only to 198.18.40.0/24 and 127.0.0.1,
 * inside the namespaces and on the bridge it creates; addresses outside the LAN are only looked up (`ip route get`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isRoot, requireTools, run, tryRun } from '../../core/command.ts';
import { listNetns, routeGet } from '../../bootstrap/lab/iproute.ts';
import {
  healNode,
  networkDown,
  networkStatus,
  networkUp,
  partitionNode,
  setNodeLink,
  tryExecInNode,
} from '../../bootstrap/lab/network.ts';
import { ipv4InCidr } from '../../core/net/ipv4.ts';
import { labNode, labPlan, labRouteProtocol } from '../../providers/lab/plan.ts';

const ci = process.env.CI === 'true';

async function labAlreadyPresent(): Promise<boolean> {
  const namespaces = await listNetns();
  return labPlan.nodes.some((n) => namespaces.includes(n.netns)) || existsSync(`/sys/class/net/${labPlan.bridge.name}`);
}

const skipReason = !isRoot()
  ? 'needs root (network namespaces, links, routes)'
  : (await labAlreadyPresent())
    ? 'a lab network is already up on this machine; this test would tear it down (run `clusterproof lab down` first)'
    : undefined;

if (skipReason && ci) {
  test('lab network test can run under CI', () => {
    throw new Error(`the lab network test cannot run: ${skipReason}`);
  });
}

/** One ICMP echo from the host ('host') or from inside a node's namespace; true when answered. */
async function ping(from: string, ip: string): Promise<boolean> {
  const argv = ['ping', '-n', '-c', '1', '-W', '1', ip];
  const result = from === 'host' ? await tryRun(argv) : await tryExecInNode(from, argv);
  return result.code === 0;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

async function hostRoutesSnapshot(): Promise<string> {
  return (await run(['ip', '-4', 'route', 'show', 'table', 'all'])).stdout;
}

async function iptablesSnapshot(): Promise<string> {
  const { stdout } = await run(['iptables-save']);
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, ''))
    .join('\n');
}

function netnsIsMounted(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === '/run/netns');
}

/** Everything of the lab still visible on the host; empty when the lab is gone. */
async function labLeftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const name of await listNetns()) if (name.startsWith('cp-')) left.push(`netns ${name}`);
  for (const line of (await run(['ip', '-o', 'link', 'show'])).stdout.split('\n')) {
    const name = line.split(':')[1]?.trim().split('@')[0];
    if (name?.startsWith('cp-')) left.push(`link ${name}`);
  }
  for (const line of (await hostRoutesSnapshot()).split('\n')) {
    const dst = line.split(' ').find((word) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(word));
    if (dst && ipv4InCidr(dst.split('/')[0]!, labPlan.range)) left.push(`route ${line}`);
  }
  return left;
}

describe.skipIf(skipReason)(`lab network${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let routesBefore = '';
  let iptablesBefore = '';
  let netnsMountedBefore = false;

  beforeAll(async () => {
    requireTools('ip', 'iptables', 'iptables-save', 'arptables', 'ping', 'arping', 'sysctl');
    routesBefore = await hostRoutesSnapshot();
    iptablesBefore = await iptablesSnapshot();
    netnsMountedBefore = netnsIsMounted();
  });

  afterAll(async () => {
    await networkDown();
  });

  test('networkUp builds the plan and re-running it changes nothing', async () => {
    const first = await networkUp();
    expect(first.up).toBe(true);
    const second = await networkUp();
    expect(second).toEqual(first);
    expect(second.strays).toEqual([]);
    const namespaces = await listNetns();
    for (const node of labPlan.nodes) expect(namespaces).toContain(node.netns);
  });

  test('every node has its address on eth0, lo up and a default route via the host', async () => {
    for (const node of labPlan.nodes) {
      const addr = (await run(['ip', '-n', node.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
      expect(addr).toContain(`inet ${node.ip}/24`);
      const lo = (await run(['ip', '-n', node.netns, 'link', 'show', 'dev', 'lo'])).stdout;
      expect(lo).toMatch(/[<,]UP[,>]/);
      const routes = (await run(['ip', '-n', node.netns, 'route', 'show', 'default'])).stdout;
      expect(routes).toContain(`default via ${labPlan.bridge.ip} dev eth0`);
      // no IPv6 on the wire: the LAN carries only the lab's IPv4
      const v6 = (await run(['ip', '-n', node.netns, '-6', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
      expect(v6.trim()).toBe('');
    }
    const bridgeAddr = (await run(['ip', '-4', '-o', 'addr', 'show', 'dev', labPlan.bridge.name])).stdout;
    expect(bridgeAddr).toContain(`inet ${labPlan.bridge.ip}/24`);
  });

  test('nodes reach each other and the host, and the host reaches them', async () => {
    expect(await ping('cp1', labNode('cp2').ip)).toBe(true);
    expect(await ping('w2', labNode('forge').ip)).toBe(true);
    expect(await ping('cp1', labPlan.bridge.ip)).toBe(true);
    expect(await ping('host', labNode('w1').ip)).toBe(true);
  });

  test('the rest of 198.18.0.0/15 is unreachable from the host and nodes are not routed anywhere', async () => {
    for (const ip of ['198.18.200.1', '198.19.0.5', labPlan.kubernetesServiceIp]) {
      const lookup = await routeGet(ip);
      expect(lookup, ip).toEqual({ ok: false, error: expect.stringMatching(/No route to host/) });
    }
    const lan = await routeGet(labNode('cp2').ip);
    expect(lan.ok && lan.route.dev).toBe(labPlan.bridge.name);
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${labPlan.bridge.name}/forwarding`, 'utf8').trim()).toBe('0');
    // a node's packet for a pod address goes to the host, which must not forward it (pods are lab addresses)
    expect(await ping('cp1', '198.19.61.5')).toBe(false);
  });

  test('link down makes a node unreachable and link up restores it', async () => {
    await setNodeLink('cp2', false);
    expect(await ping('cp1', labNode('cp2').ip)).toBe(false);
    expect(await ping('host', labNode('cp2').ip)).toBe(false);
    expect((await networkStatus()).nodes.find((n) => n.name === 'cp2')?.link).toBe('down');
    await setNodeLink('cp2', true);
    expect(await eventually(() => ping('cp1', labNode('cp2').ip))).toBe(true);
    expect(await eventually(() => ping('host', labNode('cp2').ip))).toBe(true);
    expect((await networkStatus()).up).toBe(true);
  });

  test('partition isolates a node (its lo still works) and heal restores it', async () => {
    await partitionNode('w1');
    await partitionNode('w1');
    expect(await ping('cp1', labNode('w1').ip)).toBe(false);
    expect(await ping('w1', labPlan.bridge.ip)).toBe(false);
    expect(await ping('w1', '127.0.0.1')).toBe(true);
    expect((await networkStatus()).nodes.find((n) => n.name === 'w1')).toMatchObject({ partitioned: true, link: 'up' });
    await healNode('w1');
    await healNode('w1');
    expect(await eventually(() => ping('cp1', labNode('w1').ip))).toBe(true);
    expect(await ping('w1', labPlan.bridge.ip)).toBe(true);
    expect((await networkStatus()).nodes.find((n) => n.name === 'w1')?.partitioned).toBe(false);
  });

  test('the host neighbour cache follows a gratuitous ARP when the VIP moves', async () => {
    const vip = labPlan.vip;
    const hostNeighbour = async () => (await run(['ip', 'neigh', 'show', vip, 'dev', labPlan.bridge.name])).stdout;
    const gratuitousArp = (node: string) => tryExecInNode(node, ['arping', '-U', '-c', '1', '-I', 'eth0', '-s', vip, vip]);
    try {
      await run(['ip', '-n', labNode('cp1').netns, 'addr', 'add', `${vip}/32`, 'dev', 'eth0']);
      expect(await ping('host', vip)).toBe(true);
      expect(await hostNeighbour()).toContain(labNode('cp1').mac);

      await run(['ip', '-n', labNode('cp1').netns, 'addr', 'del', `${vip}/32`, 'dev', 'eth0']);
      await run(['ip', '-n', labNode('cp2').netns, 'addr', 'add', `${vip}/32`, 'dev', 'eth0']);
      await gratuitousArp('cp2');
      expect(await eventually(async () => (await hostNeighbour()).includes(labNode('cp2').mac))).toBe(true);
      expect(await ping('host', vip)).toBe(true);

      // with no entry at all (flushed, or never resolved), arp_accept lets the announcement create one
      await run(['ip', 'neigh', 'flush', 'to', vip, 'dev', labPlan.bridge.name]);
      await gratuitousArp('cp2');
      expect(await eventually(async () => (await hostNeighbour()).includes(labNode('cp2').mac))).toBe(true);
    } finally {
      for (const node of ['cp1', 'cp2']) await tryRun(['ip', '-n', labNode(node).netns, 'addr', 'del', `${vip}/32`, 'dev', 'eth0']);
    }
  });

  test('networkDown leaves no namespace, link, route, iptables rule or mount behind, and can run twice', async () => {
    await partitionNode('cp3');
    await setNodeLink('w2', false);
    const report = await networkDown();
    expect(report.removed).toContain(`netns ${labNode('cp1').netns}`);
    expect(report.killed).toEqual([]);
    expect(await networkDown()).toEqual({ removed: [], killed: [] });
    expect(await labLeftovers()).toEqual([]);
    expect(await hostRoutesSnapshot()).toBe(routesBefore);
    expect(await iptablesSnapshot()).toBe(iptablesBefore);
    expect(netnsIsMounted()).toBe(netnsMountedBefore);
  });

  test('networkDown cleans up after a partial up', async () => {
    await run(['ip', 'netns', 'add', labNode('w2').netns]);
    await run(['ip', 'link', 'add', 'name', labPlan.bridge.name, 'type', 'bridge']);
    await run(['ip', 'route', 'replace', 'unreachable', labPlan.range, 'proto', String(labRouteProtocol)]);
    await networkDown();
    expect(await labLeftovers()).toEqual([]);
    expect(await hostRoutesSnapshot()).toBe(routesBefore);
  });
});
