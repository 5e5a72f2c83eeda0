/**
 * Registers the five Kubernetes nodes as Talos would present them: labels, the control-plane taint, the
 * exclusion from external load balancers, and each node's pod CIDR. kwok then drives their status.
 */
import * as k8s from '@kubernetes/client-node';
import { kubeNodeNames, labNode } from '../../providers/lab/plan.ts';

export function nodeObject(name: string): k8s.V1Node {
  const node = labNode(name);
  const controlPlane = node.role === 'control-plane';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'clusterproof.io/lab': 'true',
        ...(controlPlane
          ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }
          : {}),
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {
      podCIDR: node.podCidr,
      podCIDRs: node.podCidr ? [node.podCidr] : undefined,
      taints: controlPlane ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : undefined,
    },
  };
}

/**
 * kwok plays the kubelet but, unlike a kubelet, lists nodes and pods cluster-wide to find its own. Grant the
 * node identities read access on top of the Node authorizer; NodeRestriction admission still limits every
 * write of system:node:<name> to its own Node, Lease and pods, as for a real kubelet.
 */
async function grantKwokReads(kubeconfig: k8s.KubeConfig): Promise<void> {
  const rbac = kubeconfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = 'clusterproof-lab:kwok-node';
  const role: k8s.V1ClusterRole = {
    metadata: { name },
    rules: [
      { apiGroups: [''], resources: ['nodes', 'pods', 'services', 'endpoints', 'configmaps', 'namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch'] },
    ],
  };
  const binding: k8s.V1ClusterRoleBinding = {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
  };
  await rbac.replaceClusterRole({ name, body: role }).catch(() => rbac.createClusterRole({ body: role }));
  await rbac.replaceClusterRoleBinding({ name, body: binding }).catch(() => rbac.createClusterRoleBinding({ body: binding }));
}

/** Create the Node objects that do not exist yet (re-running lab up keeps existing ones). */
export async function registerNodes(kubeconfig: k8s.KubeConfig): Promise<void> {
  await grantKwokReads(kubeconfig);
  const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  for (const name of kubeNodeNames) {
    try {
      await core.readNode({ name });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await core.createNode({ body: nodeObject(name) });
    }
  }
}
