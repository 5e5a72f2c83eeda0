/**
 * Pure parsing for the homelab VIP holder probe (vip-holder.ts): iproute2's JSON (`ip -j neigh show`,
 * `ip -j route get`) and Proxmox VM network device strings. No I/O here.
 *
 * Formats:
 *  - `ip -j neigh show <addr>` (iproute2 ip/ipneigh.c print_neigh): an array of
 *    `{"dst":"198.18.40.60","dev":"cp-br0","lladdr":"02:00:c6:12:28:3d","state":["REACHABLE"]}`; `dev` is left
 *    out when the query named the device, `lladdr` when the address is unresolved (state FAILED or INCOMPLETE);
 *    `[]` when the table has no entry. Samples recorded from iproute2 6.1.0.
 *  - `ip -j route get <addr>`: `[{"dst":"…","dev":"eth0","prefsrc":"…","flags":[],"uid":0,"cache":[]}]`, with
 *    `"gateway"` when the address is reached through a router and `"type":"local"` for the machine's own address.
 *  - PVE `net[n]` (pve-api-subset.json GET /nodes/{node}/qemu/{vmid}/config, returns.properties["net[n]"]):
 *    `[model=]<enum>[,bridge=<bridge>][,firewall=<1|0>][,link_down=<1|0>][,macaddr=<XX:XX:XX:XX:XX:XX>]…`, where
 *    a model name used as a key is an alias for the MAC (`virtio=BC:24:11:5E:2A:01,bridge=vmbr0`).
 */
import { UserError } from '../../core/errors.ts';

/** A MAC as iproute2 prints it: lowercase, colon-separated. Undefined for anything else. */
export function normaliseMac(mac: string | undefined): string | undefined {
  if (typeof mac !== 'string') return undefined;
  const m = mac.trim().toLowerCase();
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) ? m : undefined;
}

export interface NeighbourEntry {
  dst: string;
  dev?: string;
  lladdr?: string;
  /** NUD states: REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, NOARP, PERMANENT */
  state: string[];
}

function parseJsonArray(json: string, what: string): unknown[] {
  let data: unknown;
  try {
    data = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch (err) {
    throw new Error(`${what}: not JSON (${(err as Error).message}): ${json.slice(0, 200)}`);
  }
  if (!Array.isArray(data)) throw new Error(`${what}: expected a JSON array, got ${json.slice(0, 200)}`);
  return data;
}

/** `ip -j neigh show …` */
export function parseNeighbours(json: string): NeighbourEntry[] {
  return parseJsonArray(json, 'ip -j neigh show').flatMap((raw): NeighbourEntry[] => {
    if (!raw || typeof raw !== 'object') return [];
    const e = raw as Record<string, unknown>;
    if (typeof e.dst !== 'string') return [];
    const state = Array.isArray(e.state) ? e.state.filter((s): s is string => typeof s === 'string') : typeof e.state === 'string' ? [e.state] : [];
    return [{ dst: e.dst, dev: typeof e.dev === 'string' ? e.dev : undefined, lladdr: normaliseMac(e.lladdr as string | undefined), state }];
  });
}

export interface RouteToAddress {
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  /** "local" when the address is this machine's own; absent for unicast */
  type?: string;
}

/** `ip -j route get <addr>`: the route the kernel would use. */
export function parseRouteGet(json: string): RouteToAddress | undefined {
  const first = parseJsonArray(json, 'ip -j route get')[0] as Record<string, unknown> | undefined;
  if (!first || typeof first.dst !== 'string') return undefined;
  const str = (k: string) => (typeof first[k] === 'string' ? (first[k] as string) : undefined);
  return { dst: first.dst, dev: str('dev'), gateway: str('gateway'), prefsrc: str('prefsrc'), type: str('type') };
}

/** States in which the entry holds no usable link-layer address. */
const UNRESOLVED = new Set(['FAILED', 'INCOMPLETE', 'NONE']);

/**
 * The neighbour entry for `address` (on `dev` when given) that holds a MAC, or undefined when the table has
 * none or only an unresolved one.
 */
export function neighbourFor(entries: NeighbourEntry[], address: string, dev?: string): NeighbourEntry | undefined {
  return entries.find(
    (e) => e.dst === address && (dev === undefined || e.dev === undefined || e.dev === dev) && e.lladdr !== undefined && !e.state.some((s) => UNRESOLVED.has(s)),
  );
}

/** The NIC models PVE accepts as keys standing for `model=<name>,macaddr=<value>` (net[n] format aliases). */
const NIC_MODELS = new Set([
  'e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
  'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3',
]);

export interface PveNic {
  /** the config key: net0, net1, ... */
  key: string;
  model?: string;
  /** lowercase; undefined when the string carries none (PVE writes the generated one into the stored config) */
  mac?: string;
  bridge?: string;
  tag?: number;
  /** link_down=1: the virtual cable is pulled, the NIC answers nothing */
  linkDown: boolean;
}

/** One `net[n]` value, e.g. `virtio=BC:24:11:5E:2A:01,bridge=vmbr0,firewall=1`. */
export function parsePveNet(key: string, value: string): PveNic {
  const nic: PveNic = { key, linkDown: false };
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? undefined : part.slice(eq + 1);
    if (v === undefined) {
      // a bare value is the default key, model
      nic.model = k;
    } else if (NIC_MODELS.has(k)) {
      nic.model = k;
      nic.mac = normaliseMac(v);
    } else if (k === 'model') {
      nic.model = v;
    } else if (k === 'macaddr') {
      nic.mac = normaliseMac(v);
    } else if (k === 'bridge') {
      nic.bridge = v;
    } else if (k === 'tag') {
      nic.tag = Number(v);
    } else if (k === 'link_down') {
      nic.linkDown = v === '1';
    }
  }
  return nic;
}

/** Every network device of a VM config (GET …/qemu/{vmid}/config), in key order. */
export function vmNics(config: Record<string, unknown>): PveNic[] {
  return Object.entries(config)
    .filter((e): e is [string, string] => /^net\d+$/.test(e[0]) && typeof e[1] === 'string')
    .sort(([a], [b]) => Number(a.slice(3)) - Number(b.slice(3)))
    .map(([key, value]) => parsePveNet(key, value));
}

export interface VmNics {
  /** profile node name */
  name: string;
  /** where it runs, for messages: pve/161 */
  vm: string;
  nics: PveNic[];
}

/**
 * MAC -> node name over every VM's NICs. Two VMs sharing a MAC would make the holder ambiguous: a UserError
 * naming both.
 */
export function macIndex(vms: VmNics[]): Map<string, string> {
  const index = new Map<string, { name: string; where: string }>();
  for (const vm of vms) {
    for (const nic of vm.nics) {
      if (!nic.mac) continue;
      const seen = index.get(nic.mac);
      if (seen && seen.name !== vm.name) {
        throw new UserError(
          `VMs ${seen.where} and ${vm.vm} ${nic.key} share the MAC ${nic.mac}: the VIP holder cannot be told apart; give each VM a unique MAC`,
        );
      }
      index.set(nic.mac, { name: vm.name, where: `${vm.vm} ${nic.key}` });
    }
  }
  return new Map([...index].map(([mac, v]) => [mac, v.name]));
}

/** What holders() reports for a MAC no VM of the profile has: an outsider answers for the VIP. */
export function unknownHolder(mac: string): string {
  return `unknown (MAC ${mac}, no VM of the profile)`;
}
