/** etcd runs on every control-plane node; only an odd count of at least 3 tolerates losing a member. */
import { error, warning, type Finding } from '../finding.ts';
import type { Topology } from '../topology.ts';

const QUORUM =
  'etcd accepts a write only when a majority of its members (quorum = floor(n/2) + 1) agree, so n members tolerate ' +
  'floor((n-1)/2) failures: 1 → 0, 2 → 0, 3 → 1, 4 → 1, 5 → 2. On Talos the VIP is elected through etcd too, ' +
  'so without quorum the API VIP stops moving as well.';

export function checkEtcdQuorum(t: Topology): Finding[] {
  const n = t.controlPlanes.length;
  const names = t.controlPlanes.map((c) => c.spec.name).join(', ');
  if (n === 0) {
    return [
      error('etcd-no-members', 'nodes', 'no node has role control-plane, so there is no etcd member and no API server', {
        explanation: QUORUM,
        suggestion: 'declare the 3 control-plane nodes with role: control-plane',
      }),
    ];
  }
  if (n < 3) {
    const detail =
      n === 2
        ? 'with 2 members the quorum is 2, so losing either one stops every write: twice the chance of an outage of a single member, and no tolerance gained'
        : 'a single member tolerates no failure';
    return [
      error('etcd-members-too-few', 'nodes', `${n} control-plane node${n === 1 ? '' : 's'} (${names}): ${detail}`, {
        explanation: QUORUM,
        suggestion: `run 3 control-plane nodes (add ${3 - n}); HA suites need at least 3`,
      }),
    ];
  }
  if (n % 2 === 0) {
    return [
      warning('etcd-members-even', 'nodes', `${n} control-plane nodes: an even etcd member count tolerates no more failures than ${n - 1}`, {
        explanation: QUORUM,
        suggestion: `run ${n - 1} or ${n + 1} control-plane nodes`,
      }),
    ];
  }
  return [];
}
