/**
 * Cluster addons after Talos: Cilium (Helm, with the values the Talos docs give), MetalLB (its native manifest,
 * then an IPAddressPool and an L2Advertisement for the profile's pools), ArgoCD (its install manifest, the server
 * on the profile's NodePort, the poll interval and webhook secret), and the gitops repository registered with the
 * app of apps (bootstrap/gitops/argocd).
 */
import { UserError } from '../../core/errors.ts';
import { contains, formatIpv4, parseIpv4, parsePoolEntry } from '../../core/net/ipv4.ts';
import { KUBEPRISM_PORT, type BootstrapSettings, type OutputFiles } from '../config.ts';
import type { ToolName } from '../tools.ts';

export interface AddonCommand {
  tool: ToolName;
  args: string[];
}

export const CILIUM_REPO = 'https://helm.cilium.io/';

/**
 * Helm values for Cilium on Talos (siderolabs/talos v1.11 docs, kubernetes-guides/network/deploying-cilium):
 * kube-proxy replacement, the API server through KubePrism on localhost:7445 (Talos' per-node API load balancer,
 * so Cilium does not depend on the VIP), cgroup v2 already mounted by Talos, and the agent's capabilities without
 * SYS_MODULE, which Talos forbids.
 */
export function ciliumValues(): Record<string, unknown> {
  return {
    ipam: { mode: 'kubernetes' },
    kubeProxyReplacement: true,
    securityContext: {
      capabilities: {
        ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
        cleanCiliumState: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'],
      },
    },
    cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
    k8sServiceHost: 'localhost',
    k8sServicePort: KUBEPRISM_PORT,
  };
}

export function ciliumInstallCommand(settings: BootstrapSettings, files: OutputFiles): AddonCommand {
  return {
    tool: 'helm',
    args: [
      'upgrade',
      '--install',
      'cilium',
      'cilium',
      '--repo',
      CILIUM_REPO,
      '--version',
      settings.spec.addons.ciliumVersion,
      '--namespace',
      'kube-system',
      '--values',
      files.ciliumValues,
      '--kubeconfig',
      files.kubeconfig,
      '--wait',
      '--timeout',
      '15m',
    ],
  };
}

export const metallbManifestUrl = (version: string) => `https://raw.githubusercontent.com/metallb/metallb/${version}/config/manifests/metallb-native.yaml`;
export const argocdManifestUrl = (version: string) => `https://raw.githubusercontent.com/argoproj/argo-cd/${version}/manifests/install.yaml`;

/**
 * IPAddressPool per profile pool and one L2Advertisement for the l2 pools. Lint has already refused a pool holding
 * the VIP (vip-in-lb-pool); this checks again, so the manifest can never hand the API address to a Service.
 */
export function metallbPoolManifests(settings: BootstrapSettings): Record<string, unknown>[] {
  const vip = parseIpv4(settings.vip)!;
  const pools = settings.profile.network.loadBalancerPools;
  for (const pool of pools) {
    for (const entry of pool.addresses) {
      const range = parsePoolEntry(entry);
      if (!range) throw new UserError(`network.loadBalancerPools: pool "${pool.name}" entry "${entry}" is neither a CIDR nor a range`);
      if (contains(range, vip)) {
        throw new UserError(
          `refusing to give MetalLB pool "${pool.name}" (${entry}) the API VIP ${formatIpv4(vip)}: run clusterproof lint --profile for the fix`,
        );
      }
    }
  }
  const docs: Record<string, unknown>[] = pools.map((pool) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: pool.name, namespace: 'metallb-system' },
    spec: { addresses: pool.addresses },
  }));
  const l2 = pools.filter((p) => p.mode === 'l2').map((p) => p.name);
  if (l2.length) {
    docs.push({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'l2', namespace: 'metallb-system' },
      spec: { ipAddressPools: l2 },
    });
  }
  return docs;
}

const kubectl = (files: OutputFiles, ...args: string[]): AddonCommand => ({ tool: 'kubectl', args: ['--kubeconfig', files.kubeconfig, ...args] });

/** The native manifest labels metallb-system privileged, which Talos' baseline PodSecurity needs for the speakers. */
export function metallbCommands(settings: BootstrapSettings, files: OutputFiles): AddonCommand[] {
  return [
    kubectl(files, 'apply', '--server-side', '--field-manager', 'clusterproof', '-f', metallbManifestUrl(settings.spec.addons.metallbVersion)),
    kubectl(files, 'wait', '--for', 'condition=Established', '--timeout', '120s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io'),
    // the pool is admitted by the controller's webhook: the controller must be up first
    kubectl(files, '-n', 'metallb-system', 'rollout', 'status', 'deployment/controller', '--timeout', '5m'),
    kubectl(files, '-n', 'metallb-system', 'rollout', 'status', 'daemonset/speaker', '--timeout', '5m'),
    kubectl(files, 'apply', '--server-side', '--field-manager', 'clusterproof', '-f', files.metallbPool),
  ];
}

/** argocd-server on the NodePort, the reconciliation interval, and the webhook secret (a patch file: never on a command line). */
export function argocdConfigPatches(settings: BootstrapSettings, webhookSecret?: string): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'argocd-server', namespace: 'argocd' },
      spec: { type: 'NodePort', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 8080, nodePort: settings.spec.addons.argocdNodePort }] },
    },
  ];
  const poll = settings.profile.gitops?.pollIntervalSeconds;
  if (poll !== undefined) {
    docs.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cm', namespace: 'argocd' },
      data: { 'timeout.reconciliation': `${poll}s` },
    });
  }
  if (webhookSecret !== undefined) {
    docs.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: 'argocd' },
      stringData: { 'webhook.github.secret': webhookSecret },
    });
  }
  return docs;
}

export function argocdCommands(settings: BootstrapSettings, files: OutputFiles): AddonCommand[] {
  const manifest = argocdManifestUrl(settings.spec.addons.argocdVersion);
  const cmds = [
    kubectl(files, 'apply', '--server-side', '--field-manager', 'clusterproof', '-f', files.argocdNamespace),
    // ArgoCD 3.x docs install with server-side apply (its CRDs are too large for client-side apply's annotation)
    kubectl(files, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'clusterproof', '-n', 'argocd', '-f', manifest),
    kubectl(files, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'clusterproof', '-f', files.argocdPatches),
  ];
  if (settings.profile.gitops?.pollIntervalSeconds !== undefined) {
    // timeout.reconciliation is read at start: restart the repo-server and the controller (argocd-cm.yaml docs)
    cmds.push(kubectl(files, '-n', 'argocd', 'rollout', 'restart', 'deployment/argocd-repo-server', 'statefulset/argocd-application-controller'));
  }
  for (const w of ['deployment/argocd-server', 'deployment/argocd-repo-server', 'statefulset/argocd-application-controller']) {
    cmds.push(kubectl(files, '-n', 'argocd', 'rollout', 'status', w, '--timeout', '10m'));
  }
  return cmds;
}

/** The gitops repository as an ArgoCD repository Secret (a public repository: no credentials). */
export function repositorySecret(settings: BootstrapSettings): Record<string, unknown> {
  const repo = settings.profile.gitops!.repo;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'gitops-repository', namespace: 'argocd', labels: { 'argocd.argoproj.io/secret-type': 'repository' } },
    stringData: { type: 'git', url: repo },
  };
}

export function gitopsCommands(files: OutputFiles): AddonCommand[] {
  return [
    kubectl(files, 'apply', '--server-side', '--field-manager', 'clusterproof', '-f', files.gitopsRepository),
    // --force-conflicts: ArgoCD created the default project; locking it takes over the fields it set
    kubectl(files, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'clusterproof', '-f', files.gitopsRoot),
    kubectl(files, '-n', 'argocd', 'wait', 'application/root', '--for', 'jsonpath={.status.sync.status}=Synced', '--timeout', '10m'),
  ];
}
