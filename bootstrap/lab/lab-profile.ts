/**
 * The lab's own profile, written by `lab up`, so `clusterproof run --target lab` needs no other setup.
 * It is validated with the same schema as any user profile before it is written.
 */
import { writeFileSync } from 'node:fs';
import { relative, dirname } from 'node:path';
import { stringify } from 'yaml';
import { validateProfile } from '../../core/profile/load.ts';
import type { Profile } from '../../core/profile/schema.ts';
import { etcdClientUrl, type LabSettings } from './node-components.ts';
import { controlPlaneNodes, kubeNodeNames, labNode, labPlan } from '../../providers/lab/plan.ts';
import { LAB_PVE_NODE, labVmidOf } from './pve-endpoint.ts';
import { LAB_PVE_PORT, type LabGitopsSettings } from './lab-settings.ts';
import { labAppsProfile } from '../gitops/apps.ts';
import { LAB_OVERLAY } from './addons/endpoints.ts';
import { DEFAULT_WORKER_MODE, type WorkerMode } from './worker/worker-mode.ts';
import { GITOPS_BRANCH, gitopsPaths, labGitops } from './addons/endpoints.ts';

export interface LabProfileFiles {
  adminKubeconfig: string;
  ca: string;
  etcdCa: string;
  etcdClientCert: string;
  etcdClientKey: string;
  pveTokenIdFile: string;
  pveTokenSecretFile: string;
}

/**
 * Worst case of the poll path for these settings. A refresh can still use the repo-server's cached `ls-remote` answer
 * (up to revisionCacheSeconds old) and miss the commit; the controller looks for expired comparisons only when its
 * informer resyncs (every interval) and then waits up to the jitter, and an app refreshed late in one round is not
 * due at the next resync, so the next refresh can come two intervals + jitter later. Plus 30 s for sync and health.
 * Measured on the lab with upstream defaults: 343 s for a limit of 510 s (docs/BENCHMARKS.md).
 */
export function gitopsPollSlo(g: LabGitopsSettings): number {
  return g.revisionCacheSeconds + 2 * g.pollSeconds + g.pollJitterSeconds + 30;
}

export function labProfile(files: LabProfileFiles, settings: LabSettings, gitops: LabGitopsSettings, profilePath: string, workers: WorkerMode = DEFAULT_WORKER_MODE): Profile {
  const rel = (p: string) => relative(dirname(profilePath), p);
  const data = {
    apiVersion: 'clusterproof/v1',
    kind: 'Profile',
    metadata: {
      name: 'lab',
      description:
        workers === 'real'
          ? 'The embedded lab: real etcd, kube-apiserver, controller-manager, scheduler and an etcd-election VIP agent on kwok control-plane nodes; real workers w1 w2 (kubelet, containerd, runc, CNI bridge, kube-proxy, CoreDNS, MetalLB speakers) in network namespaces; a git server, ArgoCD and the MetalLB controller'
          : 'The embedded lab: real etcd, kube-apiserver, controller-manager, scheduler, an etcd-election VIP agent and kwok nodes in network namespaces; a git server, ArgoCD and the MetalLB controller',
    },
    target: {
      kind: 'lab',
      // dataplane: pods are real containers that serve (real workers); with kwok workers nothing serves
      capabilities: ['lab', 'vip', 'etcd-direct', 'node-power', 'argocd', 'metallb', 'gitops-push', ...(workers === 'real' ? (['dataplane'] as const) : [])],
      // built here from Debian's busybox-static (bootstrap/lab/images/lab-images.ts) and imported into each worker
      probeImage: 'lab.local/busybox:1.35.0',
    },
    network: {
      subnet: labPlan.lan.cidr,
      gateway: labPlan.bridge.ip,
      vip: labPlan.vip,
      interface: 'eth0',
      podCIDR: labPlan.podCidr,
      serviceCIDR: labPlan.serviceCidr,
      loadBalancerPools: [{ name: 'lab-pool', addresses: [labPlan.lbPool], mode: 'l2' }],
    },
    nodes: kubeNodeNames.map((name) => ({
      name,
      role: labNode(name).role,
      ip: labNode(name).ip,
      hypervisor: { node: LAB_PVE_NODE, vmid: labVmidOf(name)! },
    })),
    access: {
      kubernetes: { server: `https://${labPlan.vip}:${labPlan.apiserverPort}`, kubeconfig: { file: rel(files.adminKubeconfig) } },
      proxmox: {
        url: `https://127.0.0.1:${LAB_PVE_PORT}`,
        tokenId: { file: rel(files.pveTokenIdFile) },
        tokenSecret: { file: rel(files.pveTokenSecretFile) },
        caFile: rel(files.ca),
      },
      etcd: {
        endpoints: controlPlaneNodes().map((n) => ({ node: n.name, url: etcdClientUrl(n) })),
        caFile: rel(files.etcdCa),
        certFile: rel(files.etcdClientCert),
        keyFile: rel(files.etcdClientKey),
      },
      // argocd-server runs with --disable-auth in the lab (reachable only inside this machine's lab namespaces)
      argocd: { url: labGitops.argocdURL() },
    },
    gitops: {
      repo: labGitops.repoURL(),
      branch: GITOPS_BRANCH,
      path: 'apps',
      webhook: { url: labGitops.webhookURL(), secret: { file: rel(gitopsPaths.webhookSecret()) } },
      pollIntervalSeconds: gitops.pollSeconds,
      pollJitterSeconds: gitops.pollJitterSeconds,
    },
    apps: labAppsProfile(LAB_OVERLAY),
    slo: {
      // etcd: heartbeat 100 ms, election timeout 1000 ms (etcd tuning guide); a few elections of margin
      etcdLeaderElectionSeconds: 5,
      // first write through a surviving API server once etcd has a leader
      apiWriteRecoverySeconds: 10,
      quorumLossWriteFailureSeconds: 15,
      // the VIP agent's etcd election with Talos' 60 s lease: the stale lease must expire, plus margin
      vipFailoverHardSeconds: settings.vipLeaseSeconds + 15,
      // graceful: the holder resigns the election on SIGTERM
      vipFailoverGracefulSeconds: 10,
      // node-monitor-grace-period plus one node-monitor period and margin
      nodeNotReadySeconds: settings.nodeMonitorGracePeriodSeconds + 20,
      // the lab's default toleration (stated in lab settings) plus margin
      podEvictionSeconds: settings.defaultTolerationSeconds + 30,
      nodeRecoverySeconds: 90,
      // the target on the lab: push -> Synced at that commit and Healthy, webhook path
      gitopsWebhookConvergenceSeconds: 15,
      // revision cache + two intervals + jitter + 30 s (gitopsPollSlo says why)
      gitopsPollConvergenceSeconds: gitopsPollSlo(gitops),
      selfHealSeconds: 15,
      loadBalancerFailoverSeconds: 10,
      // failover budget: slo.loadBalancerFailoverSeconds of full outage in load/guestbook's 120 s failover load is 1/12
      load: { p95Ms: 200, p99Ms: 500, maxErrorRate: 0.01, failoverErrorBudget: 0.1 },
    },
    safety: { allowDestructive: true, allowQuorumLoss: true, maxNodesDown: 2, protectedNodes: [], maxLoadRps: 100, maxLoadSeconds: 180 },
  };
  return validateProfile(data, 'lab profile');
}

export function writeLabProfile(path: string, profile: Profile): void {
  writeFileSync(path, `# Written by \`clusterproof lab up\`; regenerated on every lab up.\n${stringify(profile)}`);
}
