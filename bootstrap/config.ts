/**
 * Everything bootstrap derives from a profile, resolved once: the `bootstrap` block with its defaults, the
 * Image Factory URLs, the cluster endpoint, the output files, and per node its VM and its Talos role.
 * Pure: nothing is read from the environment (secrets are resolved by the steps that use them) and nothing is
 * contacted.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { parseCidr } from '../core/net/ipv4.ts';
import { BootstrapSpec, type NodeSpec, type Profile } from '../core/profile/schema.ts';
import { stateDir } from '../core/state-dir.ts';

export const IMAGE_FACTORY = 'https://factory.talos.dev';
/** Talos KubePrism: the API server load balancer on every node, on by default since Talos 1.6 */
export const KUBEPRISM_PORT = 7445;

export interface BootstrapNode {
  spec: NodeSpec;
  name: string;
  role: 'control-plane' | 'worker';
  ip: string;
  /** Proxmox host running the VM */
  pveNode: string;
  vmid: number;
  /** the tag that marks the VM as managed by clusterproof */
  tag: string;
  cores: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface BootstrapSettings {
  profile: Profile;
  spec: BootstrapSpec;
  clusterName: string;
  /** https://<vip>:6443 */
  endpoint: string;
  vip: string;
  /** prefix length of network.subnet, for the static node addresses */
  prefix: number;
  gateway?: string;
  /** the control-plane interface as the profile names it; absent: the first physical link */
  interface?: string;
  isoFile: string;
  isoUrl: string;
  installerImage: string;
  outputDir: string;
  nodes: BootstrapNode[];
  controlPlanes: BootstrapNode[];
  workers: BootstrapNode[];
  /** problems that stop execution (not the dry run): the plan shows them up front */
  blockers: string[];
  /** things that execution works around but a person should know */
  warnings: string[];
}

const DEFAULT_RESOURCES = {
  'control-plane': { cores: 2, memoryMiB: 4096, diskGiB: 20 },
  worker: { cores: 4, memoryMiB: 8192, diskGiB: 50 },
} as const;

/** Talos' documented minimums (introduction/system-requirements): 2 GiB for control planes, 1 GiB for workers, 10 GiB disk. */
const MINIMUM = { 'control-plane': { memoryMiB: 2048 }, worker: { memoryMiB: 1024 }, diskGiB: 10 } as const;

export function bootstrapSettings(profile: Profile, profileDir: string): BootstrapSettings {
  const spec = BootstrapSpec.parse(profile.bootstrap ?? {});
  const blockers: string[] = [];
  const warnings: string[] = [];
  const { version, schematicId } = spec.talos;
  const subnet = parseCidr(profile.network.subnet);
  if (!subnet) throw new UserError(`network.subnet: "${profile.network.subnet}" is not a CIDR`);

  if (profile.target.kind !== 'talos-proxmox') {
    blockers.push(
      `target.kind is "${profile.target.kind}": bootstrap builds Talos on Proxmox VE (talos-proxmox) only; the lab is built by \`clusterproof lab up\``,
    );
  }
  if (!profile.access.proxmox) blockers.push('access.proxmox is missing: bootstrap needs the Proxmox VE API URL and an API token');
  if (!profile.network.gateway) {
    warnings.push(
      'network.gateway is not set: the node interfaces keep DHCP for their default route and DNS and get their static ' +
        'address besides it (kubelet and etcd are pinned to the static address); set network.gateway to turn DHCP off',
    );
  }

  const nodes: BootstrapNode[] = profile.nodes.map((n, i) => {
    const defaults = DEFAULT_RESOURCES[n.role];
    const res = n.resources ?? defaults;
    if (!n.resources) warnings.push(`nodes[${i}].resources is not set: ${n.name} gets ${res.cores} cores, ${res.memoryMiB} MiB, ${res.diskGiB} GiB`);
    if (res.memoryMiB < MINIMUM[n.role].memoryMiB) {
      blockers.push(`nodes[${i}].resources.memoryMiB: ${res.memoryMiB} MiB is below Talos' minimum of ${MINIMUM[n.role].memoryMiB} MiB for a ${n.role} node`);
    }
    if (res.diskGiB < MINIMUM.diskGiB) blockers.push(`nodes[${i}].resources.diskGiB: ${res.diskGiB} GiB is below Talos' minimum of ${MINIMUM.diskGiB} GiB`);
    if (!n.hypervisor) blockers.push(`nodes[${i}].hypervisor is missing: bootstrap needs the Proxmox node and VM id of ${n.name}`);
    return {
      spec: n,
      name: n.name,
      role: n.role,
      ip: n.ip,
      pveNode: n.hypervisor?.node ?? '(unset)',
      vmid: n.hypervisor?.vmid ?? 0,
      tag: n.hypervisor?.tag ?? spec.proxmox.tag,
      ...res,
    };
  });
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
  if (controlPlanes.length === 0) blockers.push('no control-plane node: bootstrap needs at least one (three for HA)');

  const written = spec.outputDir;
  const outputDir = written
    ? written === '~' || written.startsWith('~/')
      ? join(homedir(), written.slice(1))
      : isAbsolute(written)
        ? written
        : resolve(profileDir, written)
    : join(stateDir(), 'bootstrap', profile.metadata.name);

  return {
    profile,
    spec,
    clusterName: profile.metadata.name,
    endpoint: `https://${profile.network.vip}:6443`,
    vip: profile.network.vip,
    prefix: subnet.prefix,
    gateway: profile.network.gateway,
    interface: profile.network.interface,
    isoFile: `talos-${version}-${schematicId.slice(0, 12)}-metal-amd64.iso`,
    isoUrl: `${IMAGE_FACTORY}/image/${schematicId}/${version}/metal-amd64.iso`,
    installerImage: `factory.talos.dev/installer/${schematicId}:${version}`,
    outputDir,
    nodes,
    controlPlanes,
    workers: nodes.filter((n) => n.role === 'worker'),
    blockers,
    warnings,
  };
}

/** The ISO's volume id on a storage: STORAGE:iso/FILE */
export function isoVolid(settings: BootstrapSettings): string {
  return `${settings.spec.proxmox.isoStorage}:iso/${settings.isoFile}`;
}

/** Files bootstrap writes below outputDir. */
export function outputFiles(settings: BootstrapSettings) {
  const dir = settings.outputDir;
  const talos = join(dir, 'talos');
  return {
    dir,
    talosDir: talos,
    secrets: join(talos, 'secrets.yaml'),
    talosconfig: join(talos, 'talosconfig'),
    controlplaneBase: join(talos, 'controlplane.yaml'),
    workerBase: join(talos, 'worker.yaml'),
    patchAll: join(talos, 'patch-all.yaml'),
    patchControlPlane: join(talos, 'patch-controlplane.yaml'),
    patchNode: (name: string) => join(talos, `patch-node-${name}.yaml`),
    nodeConfig: (name: string) => join(talos, `${name}.yaml`),
    kubeconfig: join(dir, 'kubeconfig'),
    addonsDir: join(dir, 'addons'),
    ciliumValues: join(dir, 'addons', 'cilium-values.yaml'),
    metallbPool: join(dir, 'addons', 'metallb-pool.yaml'),
    argocdNamespace: join(dir, 'addons', 'argocd-namespace.yaml'),
    argocdPatches: join(dir, 'addons', 'argocd-config.yaml'),
    gitopsRepository: join(dir, 'addons', 'gitops-repository.yaml'),
    gitopsRoot: join(dir, 'addons', 'gitops-root.yaml'),
    /** the gitops repository content rendered for gitops.repo, to push */
    gitopsRepoDir: join(dir, 'gitops-repo'),
  };
}
export type OutputFiles = ReturnType<typeof outputFiles>;
