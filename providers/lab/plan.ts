/**
 * The lab's address plan and names, as data. Every lab module reads topology from here; nothing else hard-codes
 * an address, a namespace or a link name.
 *
 * Everything lives in 198.18.0.0/15 (reserved for network testing) and every namespace and link the lab creates
 * is named `cp-...`, so what belongs to the lab is recognisable on any host.
 */
import { UserError } from '../../core/errors.ts';

export type LabNodeRole = 'control-plane' | 'worker' | 'forge' | 'addons';

export const labNodeNames = ['cp1', 'cp2', 'cp3', 'w1', 'w2', 'forge', 'addons'] as const;
export type LabNodeName = (typeof labNodeNames)[number];
export type ControlPlaneName = 'cp1' | 'cp2' | 'cp3';
export type KubeNodeName = ControlPlaneName | 'w1' | 'w2';

export interface LabNode {
  name: LabNodeName;
  role: LabNodeRole;
  ip: string;
  /** network namespace, `ip netns` name */
  netns: string;
  /** the veth end left in the host namespace and enslaved to the bridge */
  hostVeth: string;
  /** the veth end inside the node's namespace */
  nodeVeth: 'eth0';
  /** MAC of the node's eth0, derived from its IP so neighbour entries can be told apart in tests */
  mac: string;
  /** MAC of the host-side veth end */
  hostVethMac: string;
  /** pod CIDR of Kubernetes nodes (a /24 of 198.19.0.0/16); undefined for forge and addons */
  podCidr?: string;
}

/** The routing-protocol number tagging host routes the lab adds, so `lab down` removes only its own. */
export const labRouteProtocol = 201;

const lanPrefix = '198.18.40';

function macFor(kind: 0 | 1, ip: string): string {
  const bytes = [0x02, kind, ...ip.split('.').map(Number)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function node(name: LabNodeName, role: LabNodeRole, lastOctet: number, kube: boolean): LabNode {
  const ip = `${lanPrefix}.${lastOctet}`;
  return {
    name,
    role,
    ip,
    netns: `cp-${name}`,
    hostVeth: `cp-${name}`,
    nodeVeth: 'eth0',
    mac: macFor(0, ip),
    hostVethMac: macFor(1, ip),
    podCidr: kube ? `198.19.${lastOctet}.0/24` : undefined,
  };
}

export const labPlan = {
  /** the whole range the lab may use; while the lab is up the host routes all of it into the lab */
  range: '198.18.0.0/15',
  lan: {
    cidr: `${lanPrefix}.0/24`,
    prefixLength: 24,
  },
  bridge: {
    name: 'cp-br0',
    /** the host is the admin workstation on the node LAN */
    ip: `${lanPrefix}.1`,
    mac: macFor(0, `${lanPrefix}.1`),
  },
  vip: `${lanPrefix}.60`,
  lbPool: `${lanPrefix}.70/32`,
  serviceCidr: '198.18.128.0/20',
  kubernetesServiceIp: '198.18.128.1',
  podCidr: '198.19.0.0/16',
  apiserverPort: 6443,
  nodes: [
    node('forge', 'forge', 10, false),
    node('addons', 'addons', 20, false),
    node('cp1', 'control-plane', 61, true),
    node('cp2', 'control-plane', 62, true),
    node('cp3', 'control-plane', 63, true),
    node('w1', 'worker', 64, true),
    node('w2', 'worker', 65, true),
  ] as readonly LabNode[],
} as const;

export const controlPlaneNames: readonly ControlPlaneName[] = ['cp1', 'cp2', 'cp3'];
export const kubeNodeNames: readonly KubeNodeName[] = ['cp1', 'cp2', 'cp3', 'w1', 'w2'];

/** A node name (checked at run time by labNode, so CLI input can be passed as is) or its plan entry. */
export type NodeRef = string | LabNode;

/** Resolves a node name (e.g. from the CLI) to its plan entry; unknown names are a UserError listing the valid ones. */
export function labNode(ref: NodeRef): LabNode {
  if (typeof ref === 'object') return ref;
  const found = labPlan.nodes.find((n) => n.name === ref);
  if (!found) throw new UserError(`unknown lab node "${ref}"; lab nodes are ${labNodeNames.join(', ')}`);
  return found;
}

export function controlPlaneNodes(): LabNode[] {
  return labPlan.nodes.filter((n) => n.role === 'control-plane');
}

export function apiserverUrl(host: string): string {
  return `https://${host}:${labPlan.apiserverPort}`;
}
