/**
 * The suites clusterproof ships, with what each needs and the faults it applies: the one source of `run --dry-run`
 * plans, of the blast-radius check before anything runs, and of each suite's describe name and skip (every suite
 * file opens with `describeSuite(suite('<id>'), ...)`). A project test keeps this list and suites/ in step.
 */
import type { PlannedFault, SuiteInfo } from '../fixtures/suite-info.ts';

const powerOff = (target: string, extra: Partial<PlannedFault> = {}): PlannedFault => ({
  action: 'power-off',
  target,
  nodeDown: true,
  undo: 'power the node back on',
  ...extra,
});

/** A frozen node is down as far as the cluster can tell: it counts against maxNodesDown like a powered-off one. */
export const freeze = (target: string, extra: Partial<PlannedFault> = {}): PlannedFault => ({
  action: 'freeze',
  target,
  nodeDown: true,
  undo: 'thaw the node (resume it where it stopped)',
  ...extra,
});

export const CATALOGUE: SuiteInfo[] = [
  {
    id: 'conformance/cluster-health',
    file: 'suites/conformance/cluster-health.test.ts',
    title:
      'nodes Ready, control planes tainted, API live and ready (etcd included), etcd members healthy with one leader (etcd-direct), ' +
      'workloads available, Services with ready endpoints, LoadBalancer addresses from the pools',
    // the etcd test skips itself without etcd-direct, the LoadBalancer one without metallb when no address is assigned
    needs: [],
    faults: [],
  },
  {
    id: 'conformance/data-plane',
    file: 'suites/conformance/data-plane.test.ts',
    title:
      'from inside a pod every Service name resolves to its ClusterIP and every Service answers on its ClusterIP and ready endpoints; ' +
      'every LoadBalancer address answers from the runner',
    needs: ['dataplane'],
    faults: [
      {
        action: 'probe-pod',
        target: 'one probe pod (target.probeImage, restricted, 30 min deadline) in namespace default, per test',
        nodeDown: false,
        undo: 'delete the probe pod',
      },
    ],
  },
  {
    id: 'ha/etcd-quorum',
    file: 'suites/ha/etcd-quorum.test.ts',
    title: 'etcd keeps quorum with one control plane down, loses it with two, and recovers every key',
    needs: ['node-power', 'etcd-direct', 'etcd-keys'],
    faults: [
      powerOff('the etcd leader (a control-plane node)'),
      powerOff('an etcd follower (a control-plane node)'),
      powerOff('a second control-plane node', { quorumLoss: true }),
    ],
  },
  {
    id: 'ha/vip-failover',
    file: 'suites/ha/vip-failover.test.ts',
    title: 'the API VIP moves to another control plane after a hard power-off and after a graceful shutdown',
    needs: ['node-power', 'vip'],
    faults: [powerOff('the VIP holder (a control-plane node)'), { action: 'shutdown', target: 'the VIP holder', nodeDown: true, undo: 'power the node back on' }],
  },
  {
    id: 'ha/lb-failover',
    file: 'suites/ha/lb-failover.test.ts',
    title:
      'the LoadBalancer address is announced by another node after a hard power-off of its announcer and the Service answers again ' +
      'within the SLO; the requests a client lost meanwhile are counted',
    // dataplane: something must really serve behind the address (kwok pods answer nothing)
    needs: ['node-power', 'metallb', 'dataplane'],
    faults: [powerOff('the node announcing the LoadBalancer address (a worker)')],
  },
  {
    id: 'ha/anti-affinity',
    file: 'suites/ha/anti-affinity.test.ts',
    title: 'replicas stay on distinct nodes; the extra replica is refused by the scheduler; a worker loss is detected, tainted, evicted per tolerations',
    // the placement and scaling tests need no node power; the worker-loss test skips itself without node-power
    needs: [],
    faults: [
      {
        action: 'scale',
        target: 'each workload with anti-affinity, to one replica more than the schedulable topology domains',
        nodeDown: false,
        undo: 'scale back to the profile replicas',
      },
      powerOff('a worker running a replica of each workload with anti-affinity'),
    ],
  },
  {
    id: 'gitops/convergence',
    file: 'suites/gitops/convergence.test.ts',
    title:
      'a pushed commit converges (Synced at that commit, Healthy) through the webhook and through polling; a revert converges back; ' +
      'a removed resource is pruned; live drift is self-healed; a bad commit surfaces its error while the workload keeps running',
    needs: ['argocd', 'gitops-push'],
    faults: [
      {
        action: 'git-push',
        target: 'the branch suites may push to (the lab repository; gitops.testBranch on a real target): a rollout (pod-template annotation), a ConfigMap, one replica more, an invalid manifest',
        nodeDown: false,
        undo: "a new commit restoring the branch's starting content (history is never rewritten)",
      },
      { action: 'scale', target: 'the first app\'s workload, behind git\'s back (drift)', nodeDown: false, undo: 'scale back (self-heal should already have)' },
    ],
  },
  {
    id: 'load/guestbook',
    file: 'suites/load/guestbook.test.ts',
    title:
      'under open-model load (k6/guestbook.scenario.json, embedded engine): steady load meets the profile thresholds; the failed requests of an ' +
      'announcer power-off form one window closed within its bound; a VIP failover and a GitOps rollout fail no request',
    // dataplane: something must really serve behind the address; the failover tests skip themselves without node-power or vip
    needs: ['dataplane', 'metallb'],
    faults: [
      {
        action: 'load',
        target:
          "the first LoadBalancer app's address: the scenario's rate for its duration, then 20/s for 120 s per failover (at most safety.maxLoadSeconds), never above safety.maxLoadRps",
        nodeDown: false,
        undo: 'the load stops with the experiment',
      },
      powerOff('the node announcing the LoadBalancer address (a worker)'),
      powerOff('the VIP holder (a control-plane node)'),
      {
        action: 'git-push',
        target: "the LoadBalancer app's workload in the branch suites may push to: a pod-template annotation (a rollout)",
        nodeDown: false,
        undo: "a new commit restoring the branch's starting content",
      },
    ],
  },
  {
    id: 'upgrade/rolling',
    file: 'suites/upgrade/rolling.test.ts',
    title:
      'a Kubernetes minor upgrade rolled node by node (control planes, then cordon/drain/upgrade/uncordon each worker) keeps the API ' +
      'answering through the VIP (longest gap against slo.upgradeApiGapSeconds), etcd healthy after every node, and the LoadBalancer ' +
      'app under load within slo.load.failoverErrorBudget',
    needs: ['node-power', 'etcd-direct', 'vip', 'dataplane'],
    faults: [
      {
        action: 'upgrade',
        target: 'every node, one at a time: each rebooted into the new release (workers cordoned and drained first)',
        nodeDown: true,
        undo: 'none: the upgrade stays (on the lab, lab down, or lab up --kubernetes <version>, sets the release again)',
      },
      { action: 'load', target: 'the LoadBalancer app, during each node\'s turn', nodeDown: false, undo: 'stops by itself' },
    ],
    optIn: { option: '--upgrade-to', why: 'it upgrades every node of the cluster for good' },
  },
];

/** The catalogue entry of a suite, by id; a suite file names itself through this, so a typo fails at load. */
export function suite(id: string): SuiteInfo {
  const info = CATALOGUE.find((s) => s.id === id);
  if (!info) throw new Error(`suite "${id}" is not in suites/catalogue.ts (known: ${CATALOGUE.map((s) => s.id).join(', ')})`);
  return info;
}

export type { PlannedFault, SuiteInfo };
