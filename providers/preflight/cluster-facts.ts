/**
 * The facts a drain simulation needs, read through the Kubernetes API: nodes (readiness, taints, labels,
 * allocatable), pods (their controller at the top, requests, tolerations, required anti-affinity), PDBs with the
 * disruptions they allow now, and the replicas each workload asks for.
 */
import * as k8s from '@kubernetes/client-node';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import { KubeAccess } from '../kube.ts';
import type { NodeFacts, PdbFacts, PodFacts, WorkloadFacts } from '../../core/preflight/drain.ts';

const num = (q: string | undefined, fallback = 0) => (q === undefined ? fallback : Number(quantityToScalar(q)));
const milli = (q: string | undefined) => (q === undefined ? 0 : Math.round(Number(quantityToScalar(q)) * 1000));

export interface ClusterFacts {
  nodes: NodeFacts[];
  pods: PodFacts[];
  pdbs: PdbFacts[];
  workloads: WorkloadFacts[];
}

export async function readClusterFacts(kube: KubeAccess): Promise<ClusterFacts> {
  const policy = kube.config.makeApiClient(k8s.PolicyV1Api);
  const [nodes, pods, pdbs, rss, deployments, statefulsets] = await Promise.all([
    kube.core.listNode(),
    kube.core.listPodForAllNamespaces(),
    policy.listPodDisruptionBudgetForAllNamespaces(),
    kube.apps.listReplicaSetForAllNamespaces(),
    kube.apps.listDeploymentForAllNamespaces(),
    kube.apps.listStatefulSetForAllNamespaces(),
  ]);
  const rsOwner = new Map(rss.items.map((rs) => [`${rs.metadata?.namespace}/${rs.metadata?.name}`, rs.metadata?.ownerReferences?.find((o) => o.controller)]));
  return {
    nodes: nodes.items.map((n) => ({
      name: n.metadata!.name!,
      ready: KubeAccess.isReady(n),
      unschedulable: !!n.spec?.unschedulable,
      labels: n.metadata?.labels ?? {},
      taints: (n.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
      allocatable: { cpuMilli: milli(n.status?.allocatable?.cpu), memoryBytes: num(n.status?.allocatable?.memory), pods: num(n.status?.allocatable?.pods, 110) },
    })),
    pods: pods.items.map((p): PodFacts => {
      const ns = p.metadata!.namespace!;
      let owner = p.metadata?.ownerReferences?.find((o) => o.controller);
      if (owner?.kind === 'ReplicaSet') owner = rsOwner.get(`${ns}/${owner.name}`) ?? owner;
      const requests = (p.spec?.containers ?? []).reduce(
        (a, c) => ({ cpuMilli: a.cpuMilli + milli(c.resources?.requests?.cpu), memoryBytes: a.memoryBytes + num(c.resources?.requests?.memory) }),
        { cpuMilli: 0, memoryBytes: 0 },
      );
      return {
        namespace: ns,
        name: p.metadata!.name!,
        node: p.spec?.nodeName,
        phase: p.status?.phase ?? 'Unknown',
        labels: p.metadata?.labels ?? {},
        owner: owner ? { kind: owner.kind, name: owner.name } : undefined,
        requests,
        tolerations: (p.spec?.tolerations ?? []).map((t) => ({ key: t.key, operator: t.operator, value: t.value, effect: t.effect })),
        nodeSelector: p.spec?.nodeSelector ?? {},
        requiredAntiAffinity: (p.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
          topologyKey: t.topologyKey,
          labelSelector: t.labelSelector ? { matchLabels: t.labelSelector.matchLabels, matchExpressions: t.labelSelector.matchExpressions } : undefined,
          namespaces: t.namespaces ?? [],
        })),
        mirror: !!p.metadata?.annotations?.['kubernetes.io/config.mirror'],
      };
    }),
    pdbs: pdbs.items.map((b) => ({
      namespace: b.metadata!.namespace!,
      name: b.metadata!.name!,
      selector: { matchLabels: b.spec?.selector?.matchLabels, matchExpressions: b.spec?.selector?.matchExpressions },
      disruptionsAllowed: b.status?.disruptionsAllowed ?? 0,
    })),
    workloads: [
      ...deployments.items.map((d) => ({ kind: 'Deployment', namespace: d.metadata!.namespace!, name: d.metadata!.name!, replicas: d.spec?.replicas ?? 1 })),
      ...statefulsets.items.map((s) => ({ kind: 'StatefulSet', namespace: s.metadata!.namespace!, name: s.metadata!.name!, replicas: s.spec?.replicas ?? 1 })),
    ],
  };
}

