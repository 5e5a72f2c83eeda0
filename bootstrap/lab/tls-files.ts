/** Maps the lab PKI layout onto what each component is started with. */
import { labPki, ensureLabPki as generate } from './pki.ts';
import type { LabTlsFiles } from './node-components.ts';
import type { ControlPlaneName, KubeNodeName } from '../../providers/lab/plan.ts';

export type LabTls = LabTlsFiles & {
  adminKubeconfig: string;
  /** the Proxmox-compatible endpoint on 127.0.0.1 serves the API server certificate (it lists 127.0.0.1) */
  pveServer: { cert: string; key: string };
};

export function labTlsFiles(dir: string): LabTls {
  const p = labPki(dir);
  return {
    ca: p.ca,
    etcdCa: p.etcd.ca,
    etcdPeer: (n) => p.etcd.peer[n as ControlPlaneName],
    etcdServer: (n) => p.etcd.server[n as ControlPlaneName],
    etcdClient: p.etcd.apiserverClient,
    kubeVipEtcdClient: p.etcd.kubeVipClient,
    harnessEtcdClient: p.etcd.harnessClient,
    apiserver: p.apiserver,
    apiserverKubeletClient: p.apiserverKubeletClient,
    frontProxyCa: p.frontProxyCa,
    frontProxyClient: p.frontProxyClient,
    serviceAccount: p.serviceAccount,
    kubeconfig: {
      controllerManager: (n) => p.kubeconfigs.controllerManager[n as ControlPlaneName],
      scheduler: (n) => p.kubeconfigs.scheduler[n as ControlPlaneName],
      kwok: (n) => p.kubeconfigs.kwok[n as KubeNodeName],
      kubelet: (n) => p.kubeconfigs.kubelet[n as KubeNodeName],
      kubeProxy: (n) => p.kubeconfigs.kubeProxy[n as KubeNodeName],
    },
    kubeletServing: (n) => p.kubeletServing[n as KubeNodeName],
    adminKubeconfig: p.kubeconfigs.admin,
    pveServer: p.apiserver,
  };
}

export async function ensureLabPki(dir: string): Promise<void> {
  await generate(dir);
}
