/**
 * The configuration files of a real lab worker, as text: containerd's config.toml, kubelet's KubeletConfiguration,
 * the CNI network (bridge + host-local) and kube-proxy's KubeProxyConfiguration. Pure functions of the plan and
 * the paths; worker-node.ts writes them. Every value that differs from upstream's default says why.
 */
import { stringify } from 'yaml';
import { labNode, labPlan, type NodeRef } from '../../../providers/lab/plan.ts';
import { LAB_IMAGES } from '../images/lab-images.ts';
import { KUBE_PRISM_PORT } from './api-lb.ts';

/** Where one worker keeps its disk (under the lab's data dir) and what it finds inside its own /run. */
export interface WorkerPaths {
  /** <data>/<node>: the node's "disk" */
  disk: string;
  containerdRoot: string;
  kubeletRoot: string;
  kubeletCertDir: string;
  cniConfDir: string;
  cniDataDir: string;
  /** bound on /var/log inside the node */
  varLog: string;
  etc: string;
  containerdConfig: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
  /** inside the node's mount namespace (a tmpfs /run) */
  containerdSocket: '/run/containerd/containerd.sock';
}

export function workerPaths(dataDir: string, node: NodeRef): WorkerPaths {
  const disk = `${dataDir}/${labNode(node).name}`;
  return {
    disk,
    containerdRoot: `${disk}/containerd`,
    kubeletRoot: `${disk}/kubelet`,
    kubeletCertDir: `${disk}/kubelet/pki`,
    cniConfDir: `${disk}/cni/net.d`,
    cniDataDir: `${disk}/cni/networks`,
    varLog: `${disk}/log`,
    etc: `${disk}/etc`,
    containerdConfig: `${disk}/etc/containerd.toml`,
    kubeletConfig: `${disk}/etc/kubelet.yaml`,
    kubeProxyConfig: `${disk}/etc/kube-proxy.yaml`,
    containerdSocket: '/run/containerd/containerd.sock',
  };
}

/** The kubelet cgroup root of a worker; the node's own daemons run in `<root>/system`. */
export const workerCgroupRoot = (node: NodeRef) => `/clusterproof/${labNode(node).name}`;

/** The cluster DNS Service address kubelet hands to pods (10th address of the Service range, as kubeadm does). */
export const clusterDnsIp = '198.18.128.10';

/** The pod sandbox: our own pause image, imported into every worker. */
export const sandboxImage = (): string => LAB_IMAGES.find((i) => i.program === 'pause')!.ref;

export function containerdConfig(paths: WorkerPaths, bin: { runc: string; cniBinDir: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return `version = 3
root = ${q(paths.containerdRoot)}
state = "/run/containerd"

[grpc]
  address = ${q(paths.containerdSocket)}

[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  # there is no registry: the sandbox image is imported and pinned, never pulled or collected
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = ${q(sandboxImage())}

[plugins.'io.containerd.cri.v1.runtime']
  # no CAP_SYS_RESOURCE here: negative oom_score_adj (pause asks for -998) is clamped to containerd's own
  restrict_oom_score_adj = true
  # pod network namespaces under the node's own /run, not the host's /run/netns
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = ${q(bin.runc)}
        # cgroup v1 with kubelet's cgroupfs driver
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dir = ${q(bin.cniBinDir)}
    conf_dir = ${q(paths.cniConfDir)}

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

export function kubeletConfig(node: NodeRef, paths: WorkerPaths, tls: { ca: string; servingCert: string; servingKey: string }, leaseSeconds: number): string {
  const n = labNode(node);
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: n.ip,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: tls.ca } },
    authorization: { mode: 'Webhook' },
    // serving certificate signed by the lab CA, so the API server's logs/exec/port-forward reach a known kubelet
    tlsCertFile: tls.servingCert,
    tlsPrivateKeyFile: tls.servingKey,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    // each worker its own subtree: two kubelets on one root would kill each other's pods
    cgroupRoot: workerCgroupRoot(n),
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    // this host runs cgroup v1; kubelet 1.34 still supports it when told so (1.35 refuses by default)
    failCgroupV1: false,
    failSwapOn: false,
    // no CAP_SYS_RESOURCE: kubelet cannot lower its own oom_score_adj
    oomScoreAdj: 0,
    // every worker sees the host's one disk: disk-pressure eviction and image GC would act on what other
    // processes do, and a collected image cannot be pulled back (no registry)
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    podLogsDir: '/var/log/pods',
    clusterDomain: 'cluster.local',
    clusterDNS: [clusterDnsIp],
    // pods never learn the host's resolvers: lab traffic stays in the lab
    resolvConf: '',
    nodeLeaseDurationSeconds: leaseSeconds,
    protectKernelDefaults: false,
    maxPods: 110,
    serializeImagePulls: false,
  });
}

/** One bridge per node with the node's pod CIDR; routes to the other nodes' pods are added per node. */
export function cniConflist(node: NodeRef, paths: WorkerPaths): string {
  const n = labNode(node);
  if (!n.podCidr) throw new Error(`${n.name} has no pod CIDR`);
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'lab-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          // a pod reaching itself through its own Service comes back on the port it left from
          hairpinMode: true,
          // pod traffic to other nodes keeps the pod's address: every lab node routes the pod CIDRs
          ipMasq: false,
          ipam: {
            type: 'host-local',
            dataDir: paths.cniDataDir,
            ranges: [[{ subnet: n.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeProxyConfig(node: NodeRef, kubeconfig: string): string {
  const n = labNode(node);
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    hostnameOverride: n.name,
    bindAddress: n.ip,
    mode: 'iptables',
    clusterCIDR: labPlan.podCidr,
    // nf_conntrack_max and the hash size are read-only outside the host's network namespace: leave them
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // no route_localnet (NodePorts on 127.0.0.1); NodePorts on the node's own address only
    iptables: { localhostNodePorts: false },
    nodePortAddresses: ['primary'],
    healthzBindAddress: `${n.ip}:10256`,
    metricsBindAddress: '127.0.0.1:10249',
  });
}

export { KUBE_PRISM_PORT };
