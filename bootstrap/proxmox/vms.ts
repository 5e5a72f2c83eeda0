/**
 * The Proxmox VE side of bootstrap, over the contract-checked ProxmoxClient: the Talos ISO on the storage, one VM
 * per node created or adopted and brought to the profile's configuration, started, and its maintenance-mode
 * address read through the guest agent. Every asynchronous call's task (UPID) is polled to its end, and a failed
 * task throws with its exit status.
 *
 * Ownership: a VM is bootstrap's when it has the node's VM id, the node's name and the clusterproof tag. A VM id
 * taken by anything else stops the run; destroy touches only owned VMs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../core/errors.ts';
import { contains, parseCidr, parseIpv4 } from '../../core/net/ipv4.ts';
import { PveApiError } from '../../providers/proxmox/api-errors.ts';
import type { PveClusterResource, PveVmStatus } from '../../providers/proxmox/api-types.ts';
import type { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { isoVolid, type BootstrapNode, type BootstrapSettings } from '../config.ts';
import { desiredVm, diffVm, formatParams } from './vm-config.ts';

export interface ProxmoxStepOptions {
  log: (line: string) => void;
  /** how long a VM create/config/start/stop/delete task may run (default 5 min) */
  taskTimeoutMs?: number;
  /** how long the ISO download may run (default 20 min) */
  downloadTimeoutMs?: number;
  /** how long to wait for the guest agent to report an address (default 5 min) */
  agentTimeoutMs?: number;
  /** guest agent polling interval (default 5 s) */
  agentPollMs?: number;
}

const seg = (s: string | number) => encodeURIComponent(String(s));
const qemu = (node: string, vmid?: number) => `/nodes/${seg(node)}/qemu${vmid === undefined ? '' : `/${vmid}`}`;

export function tagsOf(r: { tags?: string }): string[] {
  return (r.tags ?? '').split(/[;, ]+/).filter(Boolean);
}

/** Wait for a UPID returned by an async call; `null` (nothing to do) resolves at once. */
async function waitFor(px: ProxmoxClient, node: string, upid: unknown, timeoutMs: number): Promise<void> {
  if (upid === null || upid === undefined || upid === '') return;
  if (typeof upid !== 'string') throw new Error(`Proxmox answered ${JSON.stringify(upid)} where a task UPID was expected`);
  await px.waitTask(node, upid, { timeoutMs });
}

/** The Talos ISO is on `isoStorage` of every Proxmox node that runs a VM: listed first, downloaded only if absent. */
export async function ensureIso(px: ProxmoxClient, settings: BootstrapSettings, opts: ProxmoxStepOptions): Promise<void> {
  const storage = settings.spec.proxmox.isoStorage;
  const volid = isoVolid(settings);
  for (const node of [...new Set(settings.nodes.map((n) => n.pveNode))]) {
    const content = await px.call<Array<{ volid: string }>>('GET', `/nodes/${seg(node)}/storage/${seg(storage)}/content`, { content: 'iso' }, {
      privilege: 'Datastore.Audit',
      object: `/storage/${storage}`,
    });
    if (content.some((c) => c.volid === volid)) {
      opts.log(`${node}: ${volid} is already there`);
      continue;
    }
    opts.log(`${node}: downloading ${settings.isoUrl} to ${volid}`);
    const upid = await px.call<string>(
      'POST',
      `/nodes/${seg(node)}/storage/${seg(storage)}/download-url`,
      { url: settings.isoUrl, filename: settings.isoFile, content: 'iso' },
      { privilege: 'Datastore.AllocateTemplate and Sys.AccessNetwork (or Sys.Audit + Sys.Modify on /)', object: `/storage/${storage}` },
    );
    await waitFor(px, node, upid, opts.downloadTimeoutMs ?? 20 * 60_000);
    opts.log(`${node}: ${volid} downloaded`);
  }
}

export type VmOutcome =
  | { node: string; vmid: number; action: 'created' }
  | { node: string; vmid: number; action: 'unchanged' }
  | { node: string; vmid: number; action: 'updated'; changes: string[]; pendingUntilRestart: boolean };

/** Every VM the token can see. */
export function listVms(px: ProxmoxClient): Promise<PveClusterResource[]> {
  return px.call<PveClusterResource[]>('GET', '/cluster/resources', { type: 'vm' });
}

/**
 * Which VM is the node's: its VM id with its name and tag. Throws when the id is taken by another VM, when the
 * node's name and tag sit on another id, or when the VM runs on another Proxmox node than the profile says.
 */
export function ownedVm(node: BootstrapNode, vms: PveClusterResource[]): PveClusterResource | undefined {
  const byId = vms.find((v) => v.vmid === node.vmid);
  if (byId) {
    const mine = byId.name === node.name && tagsOf(byId).includes(node.tag);
    if (!mine) {
      throw new UserError(
        `VM ${node.vmid} exists as "${byId.name ?? '(no name)'}" with tags [${tagsOf(byId).join(', ')}], not "${node.name}" tagged ` +
          `${node.tag}: it is not a VM clusterproof manages, so it is left alone. Give ${node.name} a free VM id in ` +
          `nodes[].hypervisor.vmid, or if that VM really is ${node.name}, name it so and add the tag ${node.tag}.`,
      );
    }
    if (byId.node !== node.pveNode) {
      throw new UserError(`VM ${node.vmid} (${node.name}) runs on Proxmox node ${byId.node}, the profile says ${node.pveNode}: fix nodes[].hypervisor.node`);
    }
    if (byId.template === 1) throw new UserError(`VM ${node.vmid} (${node.name}) is a template, not a VM`);
    return byId;
  }
  const elsewhere = vms.find((v) => v.name === node.name && tagsOf(v).includes(node.tag));
  if (elsewhere) {
    throw new UserError(
      `${node.name} (tagged ${node.tag}) exists as VM ${elsewhere.vmid} on ${elsewhere.node}, but the profile says VM ${node.vmid}: ` +
        `set nodes[].hypervisor.vmid to ${elsewhere.vmid} (power faults use that id)`,
    );
  }
  return undefined;
}

/** Create the node's VM, or adopt the existing one and change only what differs from the profile. */
export async function reconcileVm(
  px: ProxmoxClient,
  node: BootstrapNode,
  settings: BootstrapSettings,
  vms: PveClusterResource[],
  opts: ProxmoxStepOptions,
): Promise<VmOutcome> {
  const timeoutMs = opts.taskTimeoutMs ?? 5 * 60_000;
  const desired = desiredVm(node, settings);
  const existing = ownedVm(node, vms);
  const where = `${node.name} (VM ${node.vmid} on ${node.pveNode})`;

  if (!existing) {
    // a VM the token may not see (no VM.Audit) would be missing from the listing: nextid asserts the id is free
    try {
      await px.call('GET', '/cluster/nextid', { vmid: node.vmid });
    } catch (err) {
      if (err instanceof PveApiError && err.status === 400) {
        throw new UserError(
          `VM id ${node.vmid} for ${node.name} is taken (${err.message}) by a VM this token cannot see: choose another nodes[].hypervisor.vmid`,
        );
      }
      throw err;
    }
    opts.log(`${where}: creating: ${formatParams(desired)}`);
    const upid = await px.call<string>('POST', qemu(node.pveNode), { vmid: node.vmid, ...desired }, {
      privilege: 'VM.Allocate (and Datastore.AllocateSpace on the storage, SDN.Use on the bridge)',
      object: `/vms/${node.vmid}`,
    });
    await waitFor(px, node.pveNode, upid, timeoutMs);
    opts.log(`${where}: created`);
    return { node: node.name, vmid: node.vmid, action: 'created' };
  }

  const current = await px.call<Record<string, unknown>>('GET', `${qemu(node.pveNode, node.vmid)}/config`, undefined, {
    privilege: 'VM.Audit',
    object: `/vms/${node.vmid}`,
  });
  const diff = diffVm(current, desired);
  for (const note of diff.notes) opts.log(`${where}: ${note}`);
  if (diff.changes.length === 0 && diff.growDiskGiB === undefined) {
    opts.log(`${where}: adopted, already as the profile says`);
    return { node: node.name, vmid: node.vmid, action: 'unchanged' };
  }
  const changes = [...diff.changes];
  if (Object.keys(diff.set).length > 0) {
    opts.log(`${where}: adopted; changing ${diff.changes.join('; ')}`);
    const digest = typeof current.digest === 'string' ? current.digest : undefined;
    const upid = await px.call<string | null>('POST', `${qemu(node.pveNode, node.vmid)}/config`, { ...diff.set, digest }, {
      privilege: 'VM.Config.* (CPU, Memory, Network, Disk, CDROM, Options, HWType)',
      object: `/vms/${node.vmid}`,
    });
    await waitFor(px, node.pveNode, upid, timeoutMs);
  }
  if (diff.growDiskGiB !== undefined) {
    opts.log(`${where}: growing scsi0 to ${diff.growDiskGiB}G`);
    const upid = await px.call<string | null>('PUT', `${qemu(node.pveNode, node.vmid)}/resize`, { disk: 'scsi0', size: `${diff.growDiskGiB}G` }, {
      privilege: 'VM.Config.Disk',
      object: `/vms/${node.vmid}`,
    });
    await waitFor(px, node.pveNode, upid, timeoutMs);
    changes.push(`scsi0 grown to ${diff.growDiskGiB}G`);
  }
  const running = vms.find((v) => v.vmid === node.vmid)?.status === 'running';
  const coldKeys = Object.keys(diff.set).filter((k) => ['cpu', 'sockets', 'cores', 'memory', 'balloon', 'scsihw', 'ostype', 'agent'].includes(k));
  if (running && coldKeys.length) {
    opts.log(`${where}: ${coldKeys.join(', ')} take effect at the VM's next power cycle; bootstrap does not restart a running node`);
  }
  return { node: node.name, vmid: node.vmid, action: 'updated', changes, pendingUntilRestart: running && coldKeys.length > 0 };
}

/** Start the node's VM unless it runs already. */
export async function startVm(px: ProxmoxClient, node: BootstrapNode, opts: ProxmoxStepOptions): Promise<'started' | 'running'> {
  const status = await px.vmStatus(node.pveNode, node.vmid);
  if (status.status === 'running') {
    opts.log(`${node.name}: already running`);
    return 'running';
  }
  await px.waitTask(node.pveNode, await px.vmStart(node.pveNode, node.vmid), { timeoutMs: opts.taskTimeoutMs ?? 5 * 60_000 });
  opts.log(`${node.name}: started`);
  return 'started';
}

interface AgentInterface {
  name?: string;
  'hardware-address'?: string;
  'ip-addresses'?: Array<{ 'ip-address'?: string; 'ip-address-type'?: string; prefix?: number }>;
}

/** The IPv4 addresses inside `subnet` the guest agent reports on a non-loopback interface. */
export function agentAddresses(answer: unknown, subnet: string): string[] {
  const result = (answer as { result?: AgentInterface[] } | undefined)?.result;
  const cidr = parseCidr(subnet);
  if (!Array.isArray(result) || !cidr) return [];
  return result
    .filter((i) => i.name !== 'lo')
    .flatMap((i) => i['ip-addresses'] ?? [])
    .filter((a) => a['ip-address-type'] === 'ipv4' && a['ip-address'] !== undefined)
    .map((a) => a['ip-address']!)
    .filter((ip) => {
      const n = parseIpv4(ip);
      return n !== undefined && contains(cidr, n);
    });
}

/**
 * Where Talos answers on the LAN: the profile's address once the node is configured, otherwise the address DHCP
 * gave the maintenance-mode ISO, as the QEMU guest agent (the ISO's qemu-guest-agent extension) reports it.
 */
export async function discoverAddress(
  px: ProxmoxClient,
  node: BootstrapNode,
  subnet: string,
  opts: ProxmoxStepOptions,
): Promise<string> {
  const deadline = performance.now() + (opts.agentTimeoutMs ?? 5 * 60_000);
  let last = 'no answer yet';
  for (;;) {
    try {
      const answer = await px.call<unknown>('GET', `${qemu(node.pveNode, node.vmid)}/agent/network-get-interfaces`, undefined, {
        privilege: 'VM.GuestAgent.Audit',
        object: `/vms/${node.vmid}`,
      });
      const addresses = agentAddresses(answer, subnet);
      if (addresses.includes(node.ip)) return node.ip;
      if (addresses.length > 0) return addresses[0];
      last = `the agent reports no IPv4 address in ${subnet}`;
    } catch (err) {
      if (!(err instanceof PveApiError)) throw err;
      // 500 "QEMU guest agent is not running" while the VM boots
      last = err.message;
    }
    if (performance.now() > deadline) {
      throw new UserError(
        `${node.name}: no address in ${subnet} from the QEMU guest agent after ${Math.round((opts.agentTimeoutMs ?? 300_000) / 1000)} s (${last}). ` +
          `Check the VM console: the Talos ISO needs DHCP on the VM's bridge/VLAN in maintenance mode.`,
      );
    }
    await sleep(opts.agentPollMs ?? 5000);
  }
}

export interface DestroyCandidate {
  node: BootstrapNode;
  vm: PveClusterResource;
}

export interface DestroySelection {
  /** profile nodes whose VM carries the tag and the node's name: these will be destroyed */
  owned: DestroyCandidate[];
  /** what is left alone and why */
  skipped: string[];
}

/** The VMs `--destroy` may remove: the profile's, by id, name and tag. Nothing else is touched. */
export function selectForDestroy(settings: BootstrapSettings, vms: PveClusterResource[]): DestroySelection {
  const owned: DestroyCandidate[] = [];
  const skipped: string[] = [];
  for (const node of settings.nodes) {
    const vm = vms.find((v) => v.vmid === node.vmid && v.node === node.pveNode);
    if (!vm) {
      skipped.push(`${node.name}: no VM ${node.vmid} on ${node.pveNode} (nothing to destroy)`);
    } else if (!tagsOf(vm).includes(node.tag)) {
      skipped.push(`${node.name}: VM ${node.vmid} ("${vm.name ?? ''}") does not carry the tag ${node.tag}: left alone`);
    } else if (vm.name !== node.name) {
      skipped.push(`${node.name}: VM ${node.vmid} is named "${vm.name ?? ''}", not ${node.name}: left alone`);
    } else {
      owned.push({ node, vm });
    }
  }
  const profileIds = new Set(settings.nodes.map((n) => n.vmid));
  for (const vm of vms) {
    const tag = settings.spec.proxmox.tag;
    if (!profileIds.has(vm.vmid ?? -1) && tagsOf(vm).includes(tag)) {
      skipped.push(`VM ${vm.vmid} ("${vm.name ?? ''}") carries ${tag} but is not in this profile: left alone`);
    }
  }
  return { owned, skipped };
}

/** Hard-stop (if running) and delete one owned VM with its disks. */
export async function destroyVm(px: ProxmoxClient, c: DestroyCandidate, opts: ProxmoxStepOptions): Promise<void> {
  const timeoutMs = opts.taskTimeoutMs ?? 5 * 60_000;
  const { node } = c;
  const status: PveVmStatus = await px.vmStatus(node.pveNode, node.vmid);
  if (status.status === 'running') {
    opts.log(`${node.name}: stopping VM ${node.vmid}`);
    await px.waitTask(node.pveNode, await px.vmStop(node.pveNode, node.vmid), { timeoutMs });
  }
  opts.log(`${node.name}: deleting VM ${node.vmid} and its disks`);
  const upid = await px.call<string>('DELETE', qemu(node.pveNode, node.vmid), { purge: true, 'destroy-unreferenced-disks': true }, {
    privilege: 'VM.Allocate',
    object: `/vms/${node.vmid}`,
  });
  await waitFor(px, node.pveNode, upid, timeoutMs);
  opts.log(`${node.name}: VM ${node.vmid} destroyed`);
}
