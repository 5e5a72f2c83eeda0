/**
 * What a node's VM must look like on Proxmox VE, as API parameters (qm.conf syntax), and how an existing VM's
 * configuration differs from it. Only the keys bootstrap manages are compared; anything else on the VM (a
 * description, extra disks, the MAC address PVE picked) is left as it is.
 */
import { isoVolid, type BootstrapNode, type BootstrapSettings } from '../config.ts';

/** Parameters of POST /nodes/{node}/qemu (and, for the keys that differ, of POST .../config). */
export type VmParams = Record<string, string | number>;

export const BOOT_ORDER = 'order=scsi0;ide2;net0';

/**
 * The VM as the profile describes it. Boot order: the system disk first, then the Talos ISO: on first boot the
 * empty disk falls through to the ISO (maintenance mode), and once Talos is installed the disk boots, so the ISO
 * can stay attached and a rerun changes nothing.
 */
export function desiredVm(node: BootstrapNode, settings: BootstrapSettings): VmParams {
  const px = settings.spec.proxmox;
  return {
    name: node.name,
    tags: node.tag,
    ostype: 'l26',
    // Talos needs the x86-64-v2 microarchitecture level (Talos docs, virtualized-platforms/proxmox)
    cpu: px.cpuType,
    sockets: 1,
    cores: node.cores,
    memory: String(node.memoryMiB),
    // Talos does not support memory hot-plug; a fixed size also keeps the kubelet's view of memory stable
    balloon: 0,
    scsihw: 'virtio-scsi-single',
    scsi0: `${px.diskStorage}:${node.diskGiB},iothread=1`,
    ide2: `${isoVolid(settings)},media=cdrom`,
    net0: `virtio,bridge=${px.bridge}${px.vlan !== undefined ? `,tag=${px.vlan}` : ''}`,
    // the QEMU guest agent: the ISO carries the siderolabs/qemu-guest-agent extension
    agent: 'enabled=1',
    boot: BOOT_ORDER,
    onboot: 1,
  };
}

/** A PVE property string ("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=40") as key -> value; a bare part goes to `defaultKey`. */
export function parsePropertyString(value: string, defaultKey: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) out[defaultKey] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet'];

/** net[n]: "virtio=MAC,bridge=...,tag=..." or "model=virtio,macaddr=MAC,...": normalised to model/macaddr/bridge/tag. */
export function parseNet(value: string): { model?: string; macaddr?: string; bridge?: string; tag?: string; rest: Record<string, string> } {
  const raw = parsePropertyString(value, 'model');
  const out: { model?: string; macaddr?: string; bridge?: string; tag?: string; rest: Record<string, string> } = { rest: {} };
  for (const [k, v] of Object.entries(raw)) {
    if (NIC_MODELS.includes(k)) {
      out.model = k;
      if (v) out.macaddr = v;
    } else if (k === 'model') out.model = v;
    else if (k === 'macaddr') out.macaddr = v;
    else if (k === 'bridge') out.bridge = v;
    else if (k === 'tag') out.tag = v;
    else out.rest[k] = v;
  }
  return out;
}

/** "20G", "512M", "1T" -> GiB */
export function sizeToGiB(size: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(size ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  const factor = { '': 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return n * factor;
}

export interface VmDiff {
  /** keys to send to POST .../config, with their new values */
  set: VmParams;
  /** human-readable "key: old -> new" for each of them */
  changes: string[];
  /** the system disk must grow to this size (PUT .../resize) */
  growDiskGiB?: number;
  /** differences bootstrap will not fix, said out loud */
  notes: string[];
}

const PLAIN_KEYS = ['name', 'ostype', 'sockets', 'cores', 'balloon', 'scsihw', 'boot', 'onboot'] as const;

/**
 * The changes that bring `current` (GET .../config) to `desired`. Tags are merged (the user's other tags stay);
 * the NIC keeps its MAC address (DHCP reservations depend on it); the disk is grown, never shrunk or moved.
 */
export function diffVm(current: Record<string, unknown>, desired: VmParams): VmDiff {
  const set: VmParams = {};
  const changes: string[] = [];
  const notes: string[] = [];
  const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  const change = (key: string, from: unknown, to: string | number) => {
    set[key] = to;
    changes.push(`${key}: ${str(from) ?? '(unset)'} -> ${to}`);
  };

  for (const key of PLAIN_KEYS) {
    const want = desired[key];
    const have = str(current[key]);
    const fallback = key === 'sockets' || key === 'cores' ? '1' : key === 'onboot' ? '0' : undefined;
    if (String(want) !== (have ?? fallback)) change(key, have, want);
  }

  // memory: "[current=]<MiB>"
  const memHave = str(current.memory);
  const memNow = memHave === undefined ? undefined : parsePropertyString(memHave, 'current').current;
  if (String(desired.memory) !== memNow) change('memory', memHave ?? '512 (default)', desired.memory);

  // cpu: "[cputype=]<type>,flags=..."
  const cpuHave = str(current.cpu);
  const cpuType = cpuHave === undefined ? 'kvm64 (default)' : parsePropertyString(cpuHave, 'cputype').cputype;
  if (cpuType !== String(desired.cpu)) change('cpu', cpuHave ?? 'kvm64 (default)', desired.cpu);

  // agent: "[enabled=]<0|1>,..."
  const agentHave = str(current.agent);
  if ((agentHave === undefined ? '0' : parsePropertyString(agentHave, 'enabled').enabled) !== '1') change('agent', agentHave, desired.agent);

  // tags: a set, separated by ; , or space
  const tagsHave = (str(current.tags) ?? '').split(/[;, ]+/).filter(Boolean);
  const tagsWant = String(desired.tags).split(/[;, ]+/).filter(Boolean);
  const missingTags = tagsWant.filter((t) => !tagsHave.includes(t));
  if (missingTags.length) change('tags', current.tags, [...tagsHave, ...missingTags].join(';'));

  // ide2: the Talos ISO as a CD-ROM
  const isoWant = parsePropertyString(String(desired.ide2), 'file');
  const isoHave = str(current.ide2) === undefined ? undefined : parsePropertyString(str(current.ide2)!, 'file');
  if (isoHave?.file !== isoWant.file || isoHave?.media !== 'cdrom') change('ide2', current.ide2, desired.ide2);

  // net0: model, bridge, VLAN; the MAC address PVE generated is kept
  const netWant = parseNet(String(desired.net0));
  const netHaveText = str(current.net0);
  if (netHaveText === undefined) {
    change('net0', undefined, desired.net0);
  } else {
    const netHave = parseNet(netHaveText);
    if (netHave.model !== netWant.model || netHave.bridge !== netWant.bridge || netHave.tag !== netWant.tag) {
      const parts = [`${netWant.model}${netHave.macaddr ? `=${netHave.macaddr}` : ''}`, `bridge=${netWant.bridge}`];
      if (netWant.tag) parts.push(`tag=${netWant.tag}`);
      for (const [k, v] of Object.entries(netHave.rest)) parts.push(`${k}=${v}`);
      change('net0', netHaveText, parts.join(','));
    }
  }

  // scsi0: the system disk; created when missing, grown when smaller, never shrunk nor moved
  const diskWant = /^([^:]+):(\d+)/.exec(String(desired.scsi0))!;
  const [storageWant, sizeWant] = [diskWant[1], Number(diskWant[2])];
  const diskHaveText = str(current.scsi0);
  if (diskHaveText === undefined) {
    change('scsi0', undefined, desired.scsi0);
  } else {
    const disk = parsePropertyString(diskHaveText, 'file');
    const storageHave = disk.file.split(':')[0];
    const sizeHave = sizeToGiB(disk.size);
    if (storageHave !== storageWant) {
      notes.push(`scsi0 is on storage ${storageHave}, the profile says ${storageWant}: left where it is (move it with qm disk move if you want)`);
    }
    if (sizeHave === undefined) notes.push(`scsi0 reports no size (${diskHaveText}); not resized`);
    else if (sizeHave < sizeWant) notes.push(`scsi0 grows from ${disk.size} to ${sizeWant}G`);
    else if (sizeHave > sizeWant) notes.push(`scsi0 is ${disk.size}, larger than the profile's ${sizeWant} GiB: disks are never shrunk`);
    return { set, changes, notes, growDiskGiB: sizeHave !== undefined && sizeHave < sizeWant ? sizeWant : undefined };
  }
  return { set, changes, notes };
}

/** Parameters rendered "key=value" in a stable order, for the plan and the log. */
export function formatParams(params: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
