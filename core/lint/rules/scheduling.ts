/**
 * Replicas against the nodes that may run them. Control-plane nodes carry node-role.kubernetes.io/control-plane
 * NoSchedule (Talos default), so only workers count.
 */
import { error, warning, type Finding } from '../finding.ts';
import type { Topology } from '../topology.ts';

const HOSTNAME_KEY = 'kubernetes.io/hostname';
const CP_TAINT =
  'control-plane nodes carry the node-role.kubernetes.io/control-plane:NoSchedule taint, so only workers run app pods';

export function checkScheduling(t: Topology): Finding[] {
  const findings: Finding[] = [];
  const workers = t.workers.length;
  const workerNames = t.workers.map((w) => w.spec.name).join(', ');
  t.profile.apps.forEach((app, i) => {
    const { replicas, antiAffinity, kind } = app.workload;
    const topologyKey = app.workload.topologyKey ?? HOSTNAME_KEY;
    const path = `apps[${i}].workload`;
    const what = `${app.name}: ${kind ?? 'Deployment'} ${app.workload.name}`;
    if (replicas > 0 && workers === 0) {
      findings.push(
        error('no-schedulable-nodes', `${path}.replicas`, `${what} wants ${replicas} replica(s) but the profile declares no worker node`, {
          explanation: `Every replica stays Pending: ${CP_TAINT}.`,
          suggestion: 'declare the worker nodes (role: worker)',
        }),
      );
      return;
    }
    if (antiAffinity === 'none' || topologyKey !== HOSTNAME_KEY) return;
    if (antiAffinity === 'required' && replicas > workers) {
      findings.push(
        error(
          'anti-affinity-unsatisfiable',
          `${path}.replicas`,
          `${what} has ${replicas} replicas with required anti-affinity on ${HOSTNAME_KEY}, but only ${workers} schedulable node(s) (${workerNames})`,
          {
            explanation:
              `Required anti-affinity allows one replica per node and ${CP_TAINT}: ${replicas - workers} replica(s) stay Pending ` +
              `forever ("didn't match pod anti-affinity rules"), and the Deployment never becomes Available at full size.`,
            suggestion: `lower replicas to ${workers}, add ${replicas - workers} worker(s), or use preferred anti-affinity`,
          },
        ),
      );
    } else if (antiAffinity === 'preferred' && replicas > workers) {
      findings.push(
        warning(
          'anti-affinity-colocated',
          `${path}.replicas`,
          `${what} has ${replicas} replicas with preferred anti-affinity but only ${workers} schedulable node(s): some replicas will share a node`,
          {
            explanation: `Preferred anti-affinity lets the scheduler co-locate replicas when it must (${CP_TAINT}); losing a worker then takes several replicas down at once.`,
            suggestion: `accept it, or add ${replicas - workers} worker(s) so every replica gets its own node`,
          },
        ),
      );
    } else if (antiAffinity === 'required' && replicas === workers && (kind ?? 'Deployment') === 'Deployment' && defaultMaxUnavailable(replicas) === 0) {
      findings.push(
        warning(
          'anti-affinity-rollout-stall',
          `${path}.replicas`,
          `${what} has ${replicas} replicas with required anti-affinity on exactly ${workers} schedulable node(s): with the default strategy a rolling update cannot place its surge pod`,
          {
            explanation:
              'The default RollingUpdate strategy (maxSurge 25% rounded up, maxUnavailable 25% rounded down) creates a new pod ' +
              `before removing an old one; with every worker already holding a replica the new pod stays Pending and the rollout ` +
              'stalls until progressDeadlineSeconds (600s). The same holds while a worker is down: its replica cannot be replaced.',
            suggestion: 'set strategy.rollingUpdate.maxUnavailable: 1 and maxSurge: 0 in the Deployment, or add a worker',
          },
        ),
      );
    }
  });
  return findings;
}

/** maxUnavailable 25% rounds down: 0 for 1-3 replicas, so nothing old is removed before the surge pod runs. */
function defaultMaxUnavailable(replicas: number): number {
  return replicas > 0 ? Math.floor(replicas * 0.25) : -1;
}
