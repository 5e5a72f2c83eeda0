/** `lab status`: what runs where, etcd's view, and who holds the VIP; also the readiness check used by tests. */
import { existsSync } from 'node:fs';
import { EtcdGatewayProbe } from '../../providers/etcd-gateway.ts';
import { LabVipProbe } from '../../providers/lab/vip-probe.ts';
import type { EtcdMemberStatus } from '../../providers/interfaces.ts';
import { labIsUp } from '../../core/safety/destinations.ts';
import { etcdClientUrl } from './node-components.ts';
import { isRoot } from '../../core/command.ts';
import { networkStatus } from './network.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { controlPlaneNodes, kubeNodeNames, labNode, labPlan } from '../../providers/lab/plan.ts';
import { labTlsFiles } from './tls-files.ts';
import { runningProcesses } from './lab.ts';
import { currentWorkerMode } from './worker/worker-mode.ts';

const CP_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'vip-agent', 'kwok'];
/** a real worker's own processes (its containers run under containerd's shims, in the node's cgroup subtree) */
const REAL_WORKER_COMPONENTS = ['api-lb', 'containerd', 'kubelet', 'kube-proxy'];
/** the two service namespaces: the git server, and ArgoCD + the MetalLB controller */
const SERVICE_COMPONENTS = {
  forge: ['git-server'],
  addons: ['redis', 'argocd-repo-server', 'argocd-application-controller', 'argocd-server', 'metallb-controller'],
} as const;

export interface LabStatus {
  up: boolean;
  profile?: string;
  nodes: Array<{
    name: string;
    role: string;
    ip: string;
    /** real: kubelet + containerd run pods; kwok: kwok plays the kubelet (pods on paper) */
    kubelet: 'real' | 'kwok';
    link: 'up' | 'down' | 'absent';
    components: Array<{ name: string; running: boolean; pid?: number }>;
  }>;
  /** forge (git server) and addons (ArgoCD, MetalLB controller): not Kubernetes nodes */
  services: Array<{ name: string; ip: string; components: Array<{ name: string; running: boolean; pid?: number }> }>;
  etcd: { members: EtcdMemberStatus[]; leader?: string };
  vip: { address: string; holders: string[] };
}

export async function labStatus(): Promise<LabStatus> {
  const up = labIsUp() && existsSync(labPaths.profile());
  const procs = runningProcesses();
  const net = isRoot() ? await networkStatus().catch(() => undefined) : undefined;
  const workers = currentWorkerMode();
  const nodes = kubeNodeNames.map((name) => {
    const node = labNode(name);
    const real = node.role === 'worker' && workers === 'real';
    const expected = node.role === 'control-plane' ? CP_COMPONENTS : real ? REAL_WORKER_COMPONENTS : ['kwok'];
    return {
      name,
      role: node.role,
      ip: node.ip,
      kubelet: real ? ('real' as const) : ('kwok' as const),
      link: net?.nodes.find((n) => n.name === name)?.link ?? ('absent' as const),
      components: expected.map((c) => {
        const p = procs.find((r) => r.node === name && r.name === c);
        return { name: c, running: !!p, pid: p?.pid };
      }),
    };
  });
  const services = (Object.keys(SERVICE_COMPONENTS) as Array<keyof typeof SERVICE_COMPONENTS>).map((name) => ({
    name,
    ip: labNode(name).ip,
    components: SERVICE_COMPONENTS[name].map((c) => {
      const p = procs.find((r) => r.node === name && r.name === c);
      return { name: c, running: !!p, pid: p?.pid };
    }),
  }));
  let members: EtcdMemberStatus[] = [];
  let holders: string[] = [];
  const tls = labTlsFiles(labPaths.pki());
  if (up) {
    const etcd = new EtcdGatewayProbe(
      controlPlaneNodes().map((n) => ({ node: n.name, url: etcdClientUrl(n) })),
      { caFile: tls.etcdCa.cert, certFile: tls.harnessEtcdClient.cert, keyFile: tls.harnessEtcdClient.key },
    );
    const vip = new LabVipProbe(labPlan.vip, controlPlaneNodes().map((n) => ({ name: n.name, netns: n.netns })), {});
    [members, holders] = await Promise.all([etcd.members(), vip.holders()]);
  }
  return {
    up,
    profile: up ? labPaths.profile() : undefined,
    nodes,
    services,
    etcd: { members, leader: members.find((m) => m.isLeader && m.healthy)?.name },
    vip: { address: labPlan.vip, holders },
  };
}

export function formatLabStatus(s: LabStatus): string {
  if (!s.up) return 'lab: down (start it with `clusterproof lab up`)';
  const lines = [`lab: up (profile ${s.profile})`, ''];
  for (const n of s.nodes) {
    const comps = n.components.map((c) => `${c.name}:${c.running ? 'up' : 'DOWN'}`).join(' ');
    lines.push(`  ${n.name.padEnd(4)} ${n.role.padEnd(14)} ${n.ip.padEnd(13)} ${`${n.kubelet} kubelet`.padEnd(13)} link ${n.link.padEnd(6)} ${comps}`);
  }
  for (const n of s.services) {
    const comps = n.components.map((c) => `${c.name}:${c.running ? 'up' : 'DOWN'}`).join(' ');
    lines.push(`  ${n.name.padEnd(6)} ${'service'.padEnd(12)} ${n.ip.padEnd(13)} ${comps}`);
  }
  lines.push('', '  etcd members:');
  for (const m of s.etcd.members) {
    lines.push(`    ${m.name} ${m.healthy ? 'healthy' : 'UNHEALTHY'}${m.isLeader ? ' (leader)' : ''} raft index ${m.raftIndex ?? '-'}${m.error ? ` ${m.error}` : ''}`);
  }
  lines.push(`  etcd leader: ${s.etcd.leader ?? 'none'}`, `  VIP ${s.vip.address} held by: ${s.vip.holders.join(', ') || 'nobody'}`);
  return lines.join('\n');
}
