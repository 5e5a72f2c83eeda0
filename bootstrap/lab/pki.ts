/**
 * The lab's PKI, laid out like kubeadm's: a cluster CA, an etcd CA, a front-proxy CA, the serving and client
 * certificates signed by them, the service-account key pair, and kubeconfigs for the admin and each component.
 *
 * ensureLabPki is idempotent: material that is still valid for what the plan asks is reused, so re-running
 * `lab up` never rotates a CA (a CA is only replaced when it is missing, broken or about to expire, and then every
 * leaf it signed is reissued because it no longer verifies).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { labPaths } from '../../providers/lab/paths.ts';
import { writeKubeconfig, type KubeconfigSpec } from './kubeconfig.ts';
import {
  apiserverUrl,
  controlPlaneNames,
  kubeNodeNames,
  labNode,
  labPlan,
  type ControlPlaneName,
  type KubeNodeName,
} from '../../providers/lab/plan.ts';
import { KUBE_PRISM_PORT } from './worker/api-lb.ts';
import { caIsUsable, createCa, ensureKeyPair, issueCert, leafProblem, type CertFiles, type CertSpec } from './x509.ts';

export type { CertFiles } from './x509.ts';

const caDays = 3650;
const leafDays = 365;
const clusterName = 'clusterproof-lab';

export interface LabPkiPaths {
  dir: string;
  /** the cluster CA: signs the apiserver, its kubelet client and every kubeconfig client certificate */
  ca: CertFiles;
  apiserver: CertFiles;
  apiserverKubeletClient: CertFiles;
  frontProxyCa: CertFiles;
  frontProxyClient: CertFiles;
  serviceAccount: { key: string; pub: string };
  etcd: {
    ca: CertFiles;
    server: Record<ControlPlaneName, CertFiles>;
    peer: Record<ControlPlaneName, CertFiles>;
    apiserverClient: CertFiles;
    kubeVipClient: CertFiles;
    /** for the test harness and etcdctl */
    harnessClient: CertFiles;
  };
  clients: {
    admin: CertFiles;
    controllerManager: CertFiles;
    scheduler: CertFiles;
    nodes: Record<KubeNodeName, CertFiles>;
    kubeProxy: CertFiles;
  };
  /** each kubelet's serving certificate (real workers): the node's name and address */
  kubeletServing: Record<KubeNodeName, CertFiles>;
  kubeconfigs: {
    /** points at the VIP */
    admin: string;
    /** each points at its own control-plane node's apiserver */
    controllerManager: Record<ControlPlaneName, string>;
    scheduler: Record<ControlPlaneName, string>;
    /** each points at the VIP */
    kwok: Record<KubeNodeName, string>;
    /** a real worker's kubelet and kube-proxy: the node-local API load balancer (KubePrism), never the VIP */
    kubelet: Record<KubeNodeName, string>;
    kubeProxy: Record<KubeNodeName, string>;
  };
}

export interface LabPkiResult {
  paths: LabPkiPaths;
  /** what was (re)generated, with the reason, e.g. "etcd/cp1-peer (missing or key does not match)" */
  issued: string[];
  reused: string[];
}

export function defaultPkiDir(): string {
  return labPaths.pki();
}

function pair(dir: string, name: string): CertFiles {
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

function perNode<N extends string, T>(names: readonly N[], make: (name: N) => T): Record<N, T> {
  return Object.fromEntries(names.map((n) => [n, make(n)])) as Record<N, T>;
}

/** Every path of the lab PKI under `dir`; pure, touches nothing. */
export function labPki(dir: string = defaultPkiDir()): LabPkiPaths {
  const etcdDir = join(dir, 'etcd');
  const clientsDir = join(dir, 'clients');
  const kubeconfigDir = join(dir, 'kubeconfig');
  const kubeconfig = (name: string) => join(kubeconfigDir, `${name}.kubeconfig`);
  return {
    dir,
    ca: pair(dir, 'ca'),
    apiserver: pair(dir, 'apiserver'),
    apiserverKubeletClient: pair(dir, 'apiserver-kubelet-client'),
    frontProxyCa: pair(dir, 'front-proxy-ca'),
    frontProxyClient: pair(dir, 'front-proxy-client'),
    serviceAccount: { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') },
    etcd: {
      ca: pair(etcdDir, 'ca'),
      server: perNode(controlPlaneNames, (n) => pair(etcdDir, `${n}-server`)),
      peer: perNode(controlPlaneNames, (n) => pair(etcdDir, `${n}-peer`)),
      apiserverClient: pair(etcdDir, 'apiserver-etcd-client'),
      kubeVipClient: pair(etcdDir, 'kube-vip-etcd-client'),
      harnessClient: pair(etcdDir, 'harness-etcd-client'),
    },
    clients: {
      admin: pair(clientsDir, 'admin'),
      controllerManager: pair(clientsDir, 'kube-controller-manager'),
      scheduler: pair(clientsDir, 'kube-scheduler'),
      nodes: perNode(kubeNodeNames, (n) => pair(clientsDir, `node-${n}`)),
      kubeProxy: pair(clientsDir, 'kube-proxy'),
    },
    kubeletServing: perNode(kubeNodeNames, (n) => pair(join(dir, 'kubelet'), `${n}-serving`)),
    kubeconfigs: {
      admin: join(dir, 'admin.kubeconfig'),
      controllerManager: perNode(controlPlaneNames, (n) => kubeconfig(`kube-controller-manager-${n}`)),
      scheduler: perNode(controlPlaneNames, (n) => kubeconfig(`kube-scheduler-${n}`)),
      kwok: perNode(kubeNodeNames, (n) => kubeconfig(`kwok-${n}`)),
      kubelet: perNode(kubeNodeNames, (n) => kubeconfig(`kubelet-${n}`)),
      kubeProxy: perNode(kubeNodeNames, (n) => kubeconfig(`kube-proxy-${n}`)),
    },
  };
}

interface Leaf {
  id: string;
  files: CertFiles;
  ca: CertFiles;
  spec: CertSpec;
}

const client = (cn: string, o?: string[]): CertSpec => ({ subject: { cn, o }, usage: ['client'], days: leafDays });

/** The SANs an apiserver must answer to: through the VIP, on each node, on loopback and as the in-cluster service. */
export function apiserverSans(): { dnsNames: string[]; ips: string[] } {
  return {
    dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
    ips: [labPlan.vip, ...controlPlaneNames.map((n) => labNode(n).ip), '127.0.0.1', labPlan.kubernetesServiceIp],
  };
}

function leaves(p: LabPkiPaths): Leaf[] {
  const etcdMember = (n: ControlPlaneName): CertSpec => ({
    subject: { cn: n },
    usage: ['server', 'client'],
    dnsNames: [n, 'localhost'],
    ips: [labNode(n).ip, '127.0.0.1'],
    days: leafDays,
  });
  return [
    { id: 'apiserver', files: p.apiserver, ca: p.ca, spec: { subject: { cn: 'kube-apiserver' }, usage: ['server'], ...apiserverSans(), days: leafDays } },
    { id: 'apiserver-kubelet-client', files: p.apiserverKubeletClient, ca: p.ca, spec: client('kube-apiserver-kubelet-client', ['system:masters']) },
    { id: 'front-proxy-client', files: p.frontProxyClient, ca: p.frontProxyCa, spec: client('front-proxy-client') },
    ...controlPlaneNames.flatMap((n) => [
      { id: `etcd/${n}-server`, files: p.etcd.server[n], ca: p.etcd.ca, spec: etcdMember(n) },
      { id: `etcd/${n}-peer`, files: p.etcd.peer[n], ca: p.etcd.ca, spec: etcdMember(n) },
    ]),
    { id: 'etcd/apiserver-etcd-client', files: p.etcd.apiserverClient, ca: p.etcd.ca, spec: client('kube-apiserver-etcd-client') },
    { id: 'etcd/kube-vip-etcd-client', files: p.etcd.kubeVipClient, ca: p.etcd.ca, spec: client('kube-vip') },
    { id: 'etcd/harness-etcd-client', files: p.etcd.harnessClient, ca: p.etcd.ca, spec: client('clusterproof-harness') },
    { id: 'clients/admin', files: p.clients.admin, ca: p.ca, spec: client('kubernetes-admin', ['system:masters']) },
    { id: 'clients/kube-controller-manager', files: p.clients.controllerManager, ca: p.ca, spec: client('system:kube-controller-manager') },
    { id: 'clients/kube-scheduler', files: p.clients.scheduler, ca: p.ca, spec: client('system:kube-scheduler') },
    ...kubeNodeNames.map((n) => ({
      id: `clients/node-${n}`,
      files: p.clients.nodes[n],
      ca: p.ca,
      spec: client(`system:node:${n}`, ['system:nodes']),
    })),
    // bound to the built-in system:node-proxier role by the API server's bootstrap policy
    { id: 'clients/kube-proxy', files: p.clients.kubeProxy, ca: p.ca, spec: client('system:kube-proxy') },
    ...kubeNodeNames.map((n) => ({
      id: `kubelet/${n}-serving`,
      files: p.kubeletServing[n],
      ca: p.ca,
      spec: { subject: { cn: `system:node:${n}`, o: ['system:nodes'] }, usage: ['server'], dnsNames: [n], ips: [labNode(n).ip], days: leafDays } satisfies CertSpec,
    })),
  ];
}

function kubeconfigs(p: LabPkiPaths): KubeconfigSpec[] {
  const vip = apiserverUrl(labPlan.vip);
  const kubePrism = `https://127.0.0.1:${KUBE_PRISM_PORT}`;
  const spec = (path: string, server: string, clientFiles: CertFiles, user: string): KubeconfigSpec => ({
    path,
    server,
    caCert: p.ca.cert,
    client: clientFiles,
    user,
    clusterName,
  });
  return [
    spec(p.kubeconfigs.admin, vip, p.clients.admin, 'kubernetes-admin'),
    ...controlPlaneNames.flatMap((n) => [
      spec(p.kubeconfigs.controllerManager[n], apiserverUrl(labNode(n).ip), p.clients.controllerManager, 'system:kube-controller-manager'),
      spec(p.kubeconfigs.scheduler[n], apiserverUrl(labNode(n).ip), p.clients.scheduler, 'system:kube-scheduler'),
    ]),
    ...kubeNodeNames.map((n) => spec(p.kubeconfigs.kwok[n], vip, p.clients.nodes[n], `system:node:${n}`)),
    ...kubeNodeNames.flatMap((n) => [
      spec(p.kubeconfigs.kubelet[n], kubePrism, p.clients.nodes[n], `system:node:${n}`),
      spec(p.kubeconfigs.kubeProxy[n], kubePrism, p.clients.kubeProxy, 'system:kube-proxy'),
    ]),
  ];
}

/** Generates whatever of the lab PKI is missing or no longer valid under `dir`, reusing the rest. */
export async function ensureLabPki(dir: string = defaultPkiDir()): Promise<LabPkiResult> {
  const paths = labPki(dir);
  const result: LabPkiResult = { paths, issued: [], reused: [] };
  for (const sub of [dir, join(dir, 'etcd'), join(dir, 'clients'), join(dir, 'kubeconfig'), join(dir, 'kubelet')]) {
    await mkdir(sub, { recursive: true, mode: 0o700 });
  }
  const cas: [string, CertFiles, string][] = [
    ['ca', paths.ca, 'kubernetes'],
    ['etcd/ca', paths.etcd.ca, 'etcd-ca'],
    ['front-proxy-ca', paths.frontProxyCa, 'front-proxy-ca'],
  ];
  for (const [id, files, cn] of cas) {
    if (await caIsUsable(files)) {
      await chmod(files.key, 0o600);
      result.reused.push(id);
    } else {
      await createCa(files, cn, caDays);
      result.issued.push(`${id} (missing, broken or expiring)`);
    }
  }
  for (const leaf of leaves(paths)) {
    const problem = await leafProblem(leaf.files, leaf.ca, leaf.spec);
    if (problem === undefined) {
      await chmod(leaf.files.key, 0o600);
      result.reused.push(leaf.id);
    } else {
      await issueCert(leaf.files, leaf.ca, leaf.spec);
      result.issued.push(`${leaf.id} (${problem})`);
    }
  }
  if ((await ensureKeyPair(paths.serviceAccount)) === 'created') result.issued.push('sa');
  else result.reused.push('sa');
  for (const kc of kubeconfigs(paths)) {
    const id = kc.path.slice(dir.length + 1);
    if (await writeKubeconfig(kc)) result.issued.push(id);
    else result.reused.push(id);
  }
  return result;
}
