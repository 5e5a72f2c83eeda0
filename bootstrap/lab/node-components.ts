/**
 * What runs on each lab node, in start order, as argv: the same upstream binaries and flags a kubeadm or
 * Talos control plane uses. Timings are upstream defaults unless the lab settings state otherwise.
 */
import { join } from 'node:path';
import { controlPlaneNodes, labNode, labPlan, type LabNode } from '../../providers/lab/plan.ts';
import type { ProcessSpec } from './process-manager.ts';

/** Files each component needs; produced by the lab PKI step. */
export interface LabTlsFiles {
  ca: { cert: string; key: string };
  etcdCa: { cert: string };
  etcdPeer: (node: string) => { cert: string; key: string };
  etcdServer: (node: string) => { cert: string; key: string };
  /** the API servers' etcd client certificate */
  etcdClient: { cert: string; key: string };
  kubeVipEtcdClient: { cert: string; key: string };
  harnessEtcdClient: { cert: string; key: string };
  apiserver: { cert: string; key: string };
  apiserverKubeletClient: { cert: string; key: string };
  frontProxyCa: { cert: string };
  frontProxyClient: { cert: string; key: string };
  serviceAccount: { pub: string; key: string };
  kubeconfig: {
    controllerManager: (node: string) => string;
    scheduler: (node: string) => string;
    kwok: (node: string) => string;
    /** real workers: through the node-local API load balancer */
    kubelet: (node: string) => string;
    kubeProxy: (node: string) => string;
  };
  kubeletServing: (node: string) => { cert: string; key: string };
}

export interface LabSettings {
  /** kube-controller-manager --node-monitor-grace-period (upstream 50 s) */
  nodeMonitorGracePeriodSeconds: number;
  /** kube-apiserver --default-{not-ready,unreachable}-toleration-seconds (upstream 300 s) */
  defaultTolerationSeconds: number;
  /** kube-vip etcd election lease (Talos: 60 s) */
  vipLeaseSeconds: number;
  /** kwok node lease duration (kubelet: 40 s) */
  nodeLeaseSeconds: number;
}

export interface LabBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  /** argv prefix running this project's CLI (node + entry point), for the VIP agent */
  clusterproof: string[];
  kwok: string;
  kwokStages: string[];
}

const etcdPeerUrl = (n: LabNode) => `https://${n.ip}:2380`;
export const etcdClientUrl = (n: LabNode) => `https://${n.ip}:2379`;

function etcd(node: LabNode, tls: LabTlsFiles, bin: LabBinaries, dataDir: string): string[] {
  const peer = tls.etcdPeer(node.name);
  const server = tls.etcdServer(node.name);
  return [
    bin.etcd,
    `--name=${node.name}`,
    `--data-dir=${join(dataDir, node.name, 'etcd')}`,
    `--listen-client-urls=${etcdClientUrl(node)},https://127.0.0.1:2379`,
    `--advertise-client-urls=${etcdClientUrl(node)}`,
    `--listen-peer-urls=${etcdPeerUrl(node)}`,
    `--initial-advertise-peer-urls=${etcdPeerUrl(node)}`,
    `--initial-cluster=${controlPlaneNodes().map((n) => `${n.name}=${etcdPeerUrl(n)}`).join(',')}`,
    '--initial-cluster-state=new',
    '--initial-cluster-token=clusterproof-lab',
    '--listen-metrics-urls=http://127.0.0.1:2381',
    '--client-cert-auth=true',
    `--trusted-ca-file=${tls.etcdCa.cert}`,
    `--cert-file=${server.cert}`,
    `--key-file=${server.key}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${tls.etcdCa.cert}`,
    `--peer-cert-file=${peer.cert}`,
    `--peer-key-file=${peer.key}`,
    '--snapshot-count=10000',
    '--quota-backend-bytes=1073741824',
  ];
}

function kubeApiserver(node: LabNode, tls: LabTlsFiles, bin: LabBinaries, settings: LabSettings): string[] {
  return [
    bin.kubeApiserver,
    `--advertise-address=${node.ip}`,
    `--secure-port=${labPlan.apiserverPort}`,
    '--etcd-servers=https://127.0.0.1:2379',
    `--etcd-cafile=${tls.etcdCa.cert}`,
    `--etcd-certfile=${tls.etcdClient.cert}`,
    `--etcd-keyfile=${tls.etcdClient.key}`,
    `--client-ca-file=${tls.ca.cert}`,
    `--tls-cert-file=${tls.apiserver.cert}`,
    `--tls-private-key-file=${tls.apiserver.key}`,
    `--kubelet-client-certificate=${tls.apiserverKubeletClient.cert}`,
    `--kubelet-client-key=${tls.apiserverKubeletClient.key}`,
    // kubeadm's choice: reach a kubelet at its node address, never by resolving its hostname through the host's DNS
    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${tls.serviceAccount.pub}`,
    `--service-account-signing-key-file=${tls.serviceAccount.key}`,
    `--service-cluster-ip-range=${labPlan.serviceCidr}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    `--requestheader-client-ca-file=${tls.frontProxyCa.cert}`,
    `--proxy-client-cert-file=${tls.frontProxyClient.cert}`,
    `--proxy-client-key-file=${tls.frontProxyClient.key}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-username-headers=X-Remote-User',
    `--default-not-ready-toleration-seconds=${settings.defaultTolerationSeconds}`,
    `--default-unreachable-toleration-seconds=${settings.defaultTolerationSeconds}`,
    '--profiling=false',
  ];
}

function controllerManager(node: LabNode, tls: LabTlsFiles, bin: LabBinaries, settings: LabSettings): string[] {
  const kubeconfig = tls.kubeconfig.controllerManager(node.name);
  return [
    bin.kubeControllerManager,
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${node.ip}`,
    '--leader-elect=true',
    '--use-service-account-credentials=true',
    '--controllers=*,bootstrapsigner,tokencleaner',
    `--service-account-private-key-file=${tls.serviceAccount.key}`,
    `--root-ca-file=${tls.ca.cert}`,
    `--cluster-signing-cert-file=${tls.ca.cert}`,
    `--cluster-signing-key-file=${tls.ca.key}`,
    `--requestheader-client-ca-file=${tls.frontProxyCa.cert}`,
    `--node-monitor-grace-period=${settings.nodeMonitorGracePeriodSeconds}s`,
    '--profiling=false',
  ];
}

function scheduler(node: LabNode, tls: LabTlsFiles, bin: LabBinaries): string[] {
  const kubeconfig = tls.kubeconfig.scheduler(node.name);
  return [
    bin.kubeScheduler,
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${node.ip}`,
    '--leader-elect=true',
    '--profiling=false',
  ];
}

/**
 * The VIP holder: an etcd election against the node's own etcd member with a 60 s session, as Talos does
 * (see vip-agent.ts for why this is not kube-vip).
 */
function vipAgent(node: LabNode, bin: LabBinaries, settings: LabSettings): string[] {
  return [
    ...bin.clusterproof,
    'lab',
    'vip-agent',
    `--node=${node.name}`,
    `--etcd=${etcdClientUrl(node)}`,
    `--lease=${settings.vipLeaseSeconds}`,
  ];
}

/** One kwok per node, inside that node's namespace: its heartbeats stop when the node loses power. */
function kwok(node: LabNode, tls: LabTlsFiles, bin: LabBinaries, settings: LabSettings): string[] {
  return [
    bin.kwok,
    `--kubeconfig=${tls.kubeconfig.kwok(node.name)}`,
    `--manage-single-node=${node.name}`,
    `--node-ip=${node.ip}`,
    `--node-name=${node.name}`,
    '--node-port=10250',
    `--server-address=${node.ip}:10250`,
    `--cidr=${node.podCidr}`,
    `--node-lease-duration-seconds=${settings.nodeLeaseSeconds}`,
    ...bin.kwokStages.flatMap((f) => ['-c', f]),
  ];
}

export function nodeProcesses(
  nodeName: string,
  ctx: { tls: LabTlsFiles; bin: LabBinaries; settings: LabSettings; dataDir: string },
): ProcessSpec[] {
  const node = labNode(nodeName);
  const spec = (name: string, argv: string[]): ProcessSpec => ({ node: node.name, name, netns: node.netns, argv });
  const { tls, bin, settings, dataDir } = ctx;
  if (node.role === 'control-plane') {
    return [
      spec('etcd', etcd(node, tls, bin, dataDir)),
      spec('kube-apiserver', kubeApiserver(node, tls, bin, settings)),
      spec('kube-controller-manager', controllerManager(node, tls, bin, settings)),
      spec('kube-scheduler', scheduler(node, tls, bin)),
      spec('vip-agent', vipAgent(node, bin, settings)),
      spec('kwok', kwok(node, tls, bin, settings)),
    ];
  }
  if (node.role === 'worker') return [spec('kwok', kwok(node, tls, bin, settings))];
  return [];
}
