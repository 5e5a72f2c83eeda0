/**
 * Network faults on one lab node.
 *
 * - link down/up: the host end of the node's veth, i.e. the cable out of the switch. The node keeps its
 *   addresses and routes (it only loses carrier), so link up restores it exactly. Power-off uses this.
 * - partition/heal: a firewall inside the node's namespace dropping every IPv4 packet and every ARP frame that
 *   does not stay on lo. The link keeps its carrier and local processes keep talking over lo; ARP is dropped too
 *   so that a partitioned VIP holder cannot keep pulling the VIP towards itself with gratuitous ARP.
 */
import { UserError } from '../../core/errors.ts';
import { run, requireRoot, requireTools, tryRun } from '../../core/command.ts';
import { netnsArgv } from './node-exec.ts';
import { listLinks, listNetns } from './iproute.ts';
import { labNode, type LabNode, type NodeRef } from '../../providers/lab/plan.ts';

const partitionComment = 'clusterproof-partition';

/** The rules partitionNode inserts, as iptables/arptables argv tails after the -I/-C/-D verb. */
function partitionRules(node: LabNode): { tool: 'iptables' | 'arptables'; rule: string[] }[] {
  return [
    { tool: 'iptables', rule: ['INPUT', '!', '-i', 'lo', '-m', 'comment', '--comment', partitionComment, '-j', 'DROP'] },
    { tool: 'iptables', rule: ['OUTPUT', '!', '-o', 'lo', '-m', 'comment', '--comment', partitionComment, '-j', 'DROP'] },
    { tool: 'arptables', rule: ['INPUT', '-i', node.nodeVeth, '-j', 'DROP'] },
    { tool: 'arptables', rule: ['OUTPUT', '-o', node.nodeVeth, '-j', 'DROP'] },
  ];
}

function ruleArgv(node: LabNode, tool: 'iptables' | 'arptables', verb: '-C' | '-I' | '-D', rule: string[]): string[] {
  const wait = tool === 'iptables' ? ['-w'] : [];
  return netnsArgv(node, [tool, ...wait, verb, ...rule]);
}

async function hasRule(node: LabNode, tool: 'iptables' | 'arptables', rule: string[]): Promise<boolean> {
  return (await tryRun(ruleArgv(node, tool, '-C', rule))).code === 0;
}

async function requireHostVeth(node: LabNode): Promise<void> {
  const links = await listLinks();
  if (!links.some((l) => l.ifname === node.hostVeth)) {
    throw new UserError(`lab node ${node.name} has no network (link ${node.hostVeth} is absent): is the lab up?`);
  }
}

/** Powers the node's network cable: false takes the host end of its veth down, true brings it back up. */
export async function setNodeLink(ref: NodeRef, up: boolean): Promise<void> {
  requireRoot('changing a lab node link');
  const node = labNode(ref);
  await requireHostVeth(node);
  await run(['ip', 'link', 'set', 'dev', node.hostVeth, up ? 'up' : 'down']);
}

export async function nodeLinkIsUp(ref: NodeRef): Promise<boolean> {
  const node = labNode(ref);
  const link = (await listLinks()).find((l) => l.ifname === node.hostVeth);
  return link !== undefined && link.flags.includes('UP');
}

/** Cuts the node off the LAN with a firewall inside its namespace (see the module comment). Idempotent. */
export async function partitionNode(ref: NodeRef): Promise<void> {
  requireRoot('partitioning a lab node');
  requireTools('iptables', 'arptables');
  const node = labNode(ref);
  await requireHostVeth(node);
  for (const { tool, rule } of partitionRules(node)) {
    if (!(await hasRule(node, tool, rule))) {
      const [chain, ...match] = rule;
      await run(ruleArgv(node, tool, '-I', [chain!, '1', ...match]));
    }
  }
}

/** Removes every rule partitionNode inserted. Idempotent; a node without a namespace has nothing to heal. */
export async function healNode(ref: NodeRef): Promise<void> {
  requireRoot('healing a lab node');
  requireTools('iptables', 'arptables');
  const node = labNode(ref);
  if (!(await listNetns()).includes(node.netns)) return;
  for (const { tool, rule } of partitionRules(node)) {
    while (await hasRule(node, tool, rule)) await run(ruleArgv(node, tool, '-D', rule));
  }
}

/** True when any of partitionNode's rules is present in the node's namespace. */
export async function isPartitioned(ref: NodeRef): Promise<boolean> {
  const node = labNode(ref);
  for (const { tool, rule } of partitionRules(node)) {
    if (await hasRule(node, tool, rule)) return true;
  }
  return false;
}
