/**
 * Which implementation serves each fixture interface, per target kind. A capability with no provider
 * for this kind is reported as missing with the reason, so suites skip honestly instead of pretending.
 */
import type { Capability, Profile } from '../core/profile/schema.ts';
import { resolveFileRef, resolveSecret } from '../core/profile/load.ts';
import type { EtcdProbe, NodeControl, VipProbe } from './interfaces.ts';
import { EtcdGatewayProbe } from './etcd-gateway.ts';
import { KubeAccess } from './kube.ts';
import { LabVipProbe } from './lab/vip-probe.ts';
import { ProxmoxNodeControl } from './proxmox/node-control.ts';
import { ProxmoxClient } from './proxmox/client.ts';
import { HomelabVipProbe, proxmoxVmConfigReader } from './proxmox/vip-holder.ts';
import { TalosEtcdProbe } from './talos/etcd-probe.ts';
import { dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { labNode } from './lab/plan.ts';
import { ArgoCDApps } from './gitops/argocd.ts';
import { ForgeWebhookDeliveries, type WebhookDeliveries } from './gitops/webhook-deliveries.ts';
import { gitopsPushTarget, type GitopsPushTarget } from '../core/profile/gitops-target.ts';

export type { GitopsPushTarget };


export interface Providers {
  kube: KubeAccess;
  nodeControl?: NodeControl;
  etcd?: EtcdProbe;
  vip?: VipProbe;
  argocd?: ArgoCDApps;
  gitops?: GitopsPushTarget;
  webhookDeliveries?: WebhookDeliveries;
  missing: Map<Capability, string>;
}

const ARGOCD_NAMESPACE = 'argocd';


/** The cluster CA from the kubeconfig, so probes through the VIP verify the API server like kubectl does. */
function kubeCa(kube: KubeAccess): string | undefined {
  const cluster = kube.config.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString();
  return cluster?.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
}

/** The API server port behind the VIP: the one access.kubernetes.server names when it points at the VIP, else 6443. */
function apiPortBehindVip(profile: Profile): number {
  try {
    const url = new URL(profile.access.kubernetes.server);
    if (url.hostname === profile.network.vip && url.port) return Number(url.port);
  } catch {
    // the schema validated it; fall through to the default
  }
  return 6443;
}

export async function providersFor(profile: Profile, profilePath: string, opts: { allowRemote?: boolean }): Promise<Providers> {
  const rel = (p: string) => resolve(dirname(profilePath), p);
  const missing = new Map<Capability, string>();
  const kubeconfigRef = profile.access.kubernetes.kubeconfig;
  const kubeconfig = kubeconfigRef?.file ? rel(kubeconfigRef.file) : kubeconfigRef?.env ? process.env[kubeconfigRef.env] : undefined;
  if (!kubeconfig) throw new Error(`access.kubernetes.kubeconfig is not set for target ${profile.metadata.name}`);
  const kube = KubeAccess.fromFile(kubeconfig, opts);

  let nodeControl: NodeControl | undefined;
  let proxmox: ProxmoxClient | undefined;
  if (profile.access.proxmox) {
    const px = profile.access.proxmox;
    const client = new ProxmoxClient({
      url: px.url,
      tokenId: await resolveSecret(px.tokenId, 'access.proxmox.tokenId'),
      tokenSecret: await resolveSecret(px.tokenSecret, 'access.proxmox.tokenSecret'),
      caFile: px.caFile ? rel(px.caFile) : undefined,
      allowRemote: opts.allowRemote,
    });
    nodeControl = new ProxmoxNodeControl(client);
    proxmox = client;
  } else {
    missing.set('node-power', 'access.proxmox is not configured');
  }

  let etcd: EtcdProbe | undefined;
  if (profile.access.etcd) {
    const e = profile.access.etcd;
    etcd = new EtcdGatewayProbe(e.endpoints, { caFile: rel(e.caFile), certFile: rel(e.certFile), keyFile: rel(e.keyFile) });
  } else if (profile.target.kind === 'talos-proxmox' && profile.access.talos) {
    // talosctl against each control-plane node's own address, never the VIP; talosctl itself is looked up on
    // first use, so a runner without it fails the etcd suites with MissingPrerequisiteError, not the whole target
    etcd = new TalosEtcdProbe({
      talosconfig: resolveFileRef(profile.access.talos.talosconfig, 'access.talos.talosconfig', { baseDir: dirname(profilePath) }),
      nodes: profile.nodes.filter((n) => n.role === 'control-plane').map((n) => ({ name: n.name, ip: n.ip })),
      vip: profile.network.vip,
      allowRemote: opts.allowRemote,
    });
  } else {
    missing.set(
      'etcd-direct',
      `no etcd probe for target kind ${profile.target.kind}: access.etcd is not configured${profile.target.kind === 'talos-proxmox' ? ' and neither is access.talos (the talosctl etcd probe needs it)' : ''}`,
    );
  }

  let vip: VipProbe | undefined;
  if (profile.target.kind === 'lab') {
    vip = new LabVipProbe(
      profile.network.vip,
      profile.nodes.filter((n) => n.role === 'control-plane').map((n) => ({ name: n.name, netns: labNode(n.name).netns })),
      { ca: kubeCa(kube) },
    );
  } else if (profile.target.kind === 'talos-proxmox' && proxmox) {
    // the MAC this machine's neighbour table shows for the VIP, matched to the VMs' MACs read from Proxmox
    vip = new HomelabVipProbe({
      address: profile.network.vip,
      nodes: profile.nodes,
      vmConfig: proxmoxVmConfigReader(proxmox),
      ca: kubeCa(kube),
      port: apiPortBehindVip(profile),
      subnet: profile.network.subnet,
      allowRemote: opts.allowRemote,
    });
  } else {
    missing.set(
      'vip',
      profile.target.kind === 'talos-proxmox'
        ? 'access.proxmox is not configured: the VIP holder is found by matching the MAC the neighbour table shows for the VIP to the VMs\' MACs read from Proxmox'
        : `no VIP holder probe for target kind ${profile.target.kind} yet (ARP/MAC matching is implemented for talos-proxmox targets only)`,
    );
  }
  let argocd: ArgoCDApps | undefined;
  if (profile.target.capabilities.includes('argocd')) {
    const a = profile.access.argocd;
    argocd = new ArgoCDApps(
      kube,
      ARGOCD_NAMESPACE,
      // the token is read when the REST API is first used: Application status comes from the Kubernetes API
      a ? { url: a.url, token: a.token ? () => resolveSecret(a.token!, 'access.argocd.token') : undefined, allowRemote: opts.allowRemote } : undefined,
    );
  }
  const push = gitopsPushTarget(profile, opts.allowRemote);
  const gitops = typeof push === 'string' ? undefined : push;
  if (typeof push === 'string') missing.set('gitops-push', push);
  const webhookDeliveries = profile.target.kind === 'lab' && gitops ? new ForgeWebhookDeliveries(new URL(gitops.url).origin) : undefined;
  return { kube, nodeControl, etcd, vip, argocd, gitops, webhookDeliveries, missing };
}
