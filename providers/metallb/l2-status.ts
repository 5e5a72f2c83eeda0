/**
 * Which node answers ARP for a LoadBalancer address, as MetalLB itself reports it: one ServiceL2Status per node
 * and Service that node's speaker announces (metallb.io/v1beta1, since v0.14.4; status.node, serviceName,
 * serviceNamespace). A speaker deletes its own status when it stops announcing, so a node that lost power leaves
 * a stale one behind: callers tell "another node took over" from "the dead node still listed".
 */
import * as k8s from '@kubernetes/client-node';
import type { KubeAccess } from '../kube.ts';

interface ServiceL2Status {
  metadata?: { name?: string; namespace?: string };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name?: string }> };
}

export interface L2Announcement {
  node: string;
  interfaces: string[];
}

export async function l2Announcements(kube: KubeAccess, service: { namespace: string; name: string }): Promise<L2Announcement[]> {
  const api = kube.config.makeApiClient(k8s.CustomObjectsApi);
  const list = (await api.listClusterCustomObject({ group: 'metallb.io', version: 'v1beta1', plural: 'servicel2statuses' })) as { items?: ServiceL2Status[] };
  return (list.items ?? [])
    .filter((s) => s.status?.serviceName === service.name && s.status?.serviceNamespace === service.namespace && s.status.node)
    .map((s) => ({ node: s.status!.node!, interfaces: (s.status!.interfaces ?? []).map((i) => i.name ?? '?') }))
    .sort((a, b) => a.node.localeCompare(b.node));
}
