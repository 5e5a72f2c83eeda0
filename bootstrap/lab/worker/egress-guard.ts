/**
 * A real worker runs software that reaches out by itself (containerd resolving and pulling an image it lacks, a
 * container doing whatever it does). Lab traffic must stay inside 198.18.0.0/15 and loopback, so each real worker's
 * network namespace rejects, in its own firewall, any packet it sends or forwards elsewhere — before it reaches the
 * host, which would drop it anyway (its bridge does not forward). The node's resolv.conf (mount-namespace.ts) points
 * at its own loopback, so a lookup fails at once instead of timing out against a resolver outside the lab.
 */
import { run, tryRun } from '../../../core/command.ts';
import { labNode, labPlan, type NodeRef } from '../../../providers/lab/plan.ts';

export const EGRESS_CHAIN = 'CP-LAB-EGRESS';

const ipt = (netns: string, args: string[]) => ['ip', 'netns', 'exec', netns, 'iptables', '-w', ...args];

/** Installs (idempotently) the chain and the jumps from OUTPUT and FORWARD, first in each. */
export async function guardEgress(node: NodeRef): Promise<void> {
  const { netns } = labNode(node);
  if ((await tryRun(ipt(netns, ['-n', '-L', EGRESS_CHAIN]))).code !== 0) await run(ipt(netns, ['-N', EGRESS_CHAIN]));
  await run(ipt(netns, ['-F', EGRESS_CHAIN]));
  for (const dst of ['127.0.0.0/8', labPlan.range]) await run(ipt(netns, ['-A', EGRESS_CHAIN, '-d', dst, '-j', 'RETURN']));
  await run(ipt(netns, ['-A', EGRESS_CHAIN, '-j', 'REJECT', '--reject-with', 'icmp-net-prohibited']));
  for (const chain of ['OUTPUT', 'FORWARD']) {
    if ((await tryRun(ipt(netns, ['-C', chain, '-j', EGRESS_CHAIN]))).code !== 0) await run(ipt(netns, ['-I', chain, '1', '-j', EGRESS_CHAIN]));
  }
}

/** True when the node rejects traffic leaving the lab range (what a test checks before trusting the lab). */
export async function egressGuarded(node: NodeRef): Promise<boolean> {
  const { netns } = labNode(node);
  const rules = await tryRun(ipt(netns, ['-S', EGRESS_CHAIN]));
  if (rules.code !== 0 || !rules.stdout.includes('REJECT')) return false;
  for (const chain of ['OUTPUT', 'FORWARD']) if ((await tryRun(ipt(netns, ['-C', chain, '-j', EGRESS_CHAIN]))).code !== 0) return false;
  return true;
}
