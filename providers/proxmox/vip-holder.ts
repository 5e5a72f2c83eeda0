/**
 * VipProbe for a Talos-on-Proxmox homelab. The holder is the VM whose MAC the runner's neighbour table shows
 * for the VIP (`ip -j neigh show <vip>`), matched to the MACs of the profile's VMs read from Proxmox
 * (GET /nodes/{node}/qemu/{vmid}/config, its net[n] devices: in the PVE schema subset). readyz goes through
 * the VIP with the cluster CA from the kubeconfig, as kubectl would.
 *
 * What the table can and cannot say:
 *  - The runner must be on the cluster LAN: through a router the table holds the router's MAC. The route to the
 *    VIP is checked (`ip -j route get`, no packet sent) and a routed VIP is an error saying so.
 *  - Before reading the table, holders() makes one readyz attempt through the VIP, which refreshes the entry.
 *    The MAC is reported only if that attempt was answered by someone (an HTTP status, a refused or reset
 *    connection, a TLS failure): an entry left over from a holder that has just lost power stays REACHABLE or
 *    STALE for seconds to tens of seconds, and is not evidence that it still holds the VIP. Unanswered: [].
 *  - A neighbour entry holds one MAC, so at most one holder is ever reported: two nodes answering ARP for the
 *    VIP at once (split brain) cannot be seen from here; that would take listening for several ARP replies
 *    (arping, raw sockets, root), which this probe does not do.
 *  - Every VM of the profile is indexed, workers included, so a worker answering for the VIP (MetalLB handing
 *    out the VIP as a LoadBalancer IP) is named; a MAC no VM has is reported as "unknown (MAC …)".
 */
import { execFile } from 'node:child_process';
import { MissingPrerequisiteError, RefusedError, UserError } from '../../core/errors.ts';
import type { VipProbe } from '../interfaces.ts';
import { httpsRequest, type HttpsResult } from '../https-json.ts';
import { TLS_VERIFY_CODES, type ProxmoxClient } from './client.ts';
import { macIndex, neighbourFor, parseNeighbours, parseRouteGet, unknownHolder, vmNics, type RouteToAddress, type VmNics } from './vip-holder-parse.ts';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ip` with these arguments; rejects only when `ip` cannot run. */
export type IpRunner = (args: string[]) => Promise<CommandResult>;

/** The config of one VM, as GET /nodes/{node}/qemu/{vmid}/config returns it. */
export type VmConfigReader = (node: string, vmid: number) => Promise<Record<string, unknown>>;

/** GET /nodes/{node}/qemu/{vmid}/config?current=1 (the running config, not pending changes); needs VM.Audit. */
export function proxmoxVmConfigReader(client: ProxmoxClient): VmConfigReader {
  return (node, vmid) => {
    if (!Number.isInteger(vmid)) throw new UserError(`Proxmox vmid must be an integer, got ${vmid}`);
    return client.call<Record<string, unknown>>('GET', `/nodes/${encodeURIComponent(node)}/qemu/${vmid}/config`, { current: true }, {
      privilege: 'VM.Audit',
      object: `/vms/${vmid}`,
    });
  };
}

export const execIp: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 5000 }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') {
        reject(new MissingPrerequisiteError('`ip` (iproute2) is not installed; the VIP holder probe reads the neighbour table with it', 'apt-get install -y iproute2'));
        return;
      }
      resolve({ exitCode: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

type HttpsFn = (url: string, opts: { ca?: string | Buffer; timeoutMs?: number; allowRemote?: boolean }) => Promise<HttpsResult>;

export interface HomelabVipProbeOptions {
  /** the VIP */
  address: string;
  /** every node of the profile; those with a hypervisor reference are indexed by MAC */
  nodes: Array<{ name: string; hypervisor?: { node: string; vmid: number } }>;
  vmConfig: VmConfigReader;
  /** PEM of the cluster CA (from the kubeconfig) */
  ca?: string | Buffer;
  /** API server port behind the VIP (default 6443) */
  port?: number;
  /** the cluster LAN, for the message when the VIP is routed */
  subnet?: string;
  allowRemote?: boolean;
  /** injected in tests */
  ip?: IpRunner;
  https?: HttpsFn;
  /** timeout of the readyz attempt that refreshes the neighbour entry (default 1000 ms) */
  refreshTimeoutMs?: number;
  /** an unknown MAC re-reads the VM configs at most this often (default 30 s) */
  reindexAfterMs?: number;
}

/** Errors meaning something at the VIP answered (so the neighbour entry was just used and confirmed). */
const ANSWERED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EPROTO', ...TLS_VERIFY_CODES]);

interface ReadyzOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  latencyMs: number;
  /** the VIP answered at all (any HTTP status, or a refusal/reset/TLS error) */
  answered: boolean;
}

export class HomelabVipProbe implements VipProbe {
  readonly address: string;
  private readonly ip: IpRunner;
  private readonly https: HttpsFn;
  private route: RouteToAddress | undefined;
  private index: Map<string, string> | undefined;
  private indexedAt = 0;

  constructor(private readonly opts: HomelabVipProbeOptions) {
    this.address = opts.address;
    this.ip = opts.ip ?? execIp;
    this.https = opts.https ?? httpsRequest;
  }

  private async probe(timeoutMs: number): Promise<ReadyzOutcome> {
    const started = performance.now();
    try {
      const res = await this.https(`https://${this.address}:${this.opts.port ?? 6443}/readyz`, {
        ca: this.opts.ca,
        timeoutMs,
        allowRemote: this.opts.allowRemote,
      });
      return { ok: res.status === 200, status: res.status, latencyMs: res.latencyMs, answered: true };
    } catch (err) {
      if (err instanceof RefusedError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, error: (err as Error).message, latencyMs: performance.now() - started, answered: code !== undefined && ANSWERED_CODES.has(code) };
    }
  }

  async readyz(timeoutMs = 2000) {
    try {
      const { answered: _answered, ...result } = await this.probe(timeoutMs);
      return result;
    } catch (err) {
      return { ok: false, error: (err as Error).message, latencyMs: 0 };
    }
  }

  /** The route to the VIP, checked once: it must be on-link, or the neighbour table cannot name the holder. */
  private async onLinkRoute(): Promise<RouteToAddress> {
    if (this.route) return this.route;
    const r = await this.ip(['-j', 'route', 'get', this.address]);
    const route = r.exitCode === 0 ? parseRouteGet(r.stdout) : undefined;
    if (!route) throw new UserError(`cannot find a route to the VIP ${this.address}: ${r.stderr.trim() || `ip route get exited with ${r.exitCode}`}`);
    const lan = this.opts.subnet ? ` on the cluster LAN ${this.opts.subnet}` : ' on the cluster LAN';
    if (route.gateway) {
      throw new UserError(
        `the VIP ${this.address} is reached through the gateway ${route.gateway} (dev ${route.dev ?? '?'}): this machine's neighbour table ` +
          `holds the gateway's MAC, not the VIP holder's. Run clusterproof from a machine${lan} to find the VIP holder`,
      );
    }
    if (route.type === 'local') {
      throw new UserError(`the VIP ${this.address} is an address of this machine: run clusterproof from a machine${lan} that is not a cluster node`);
    }
    this.route = route;
    return route;
  }

  /** MAC -> node name from the VMs' configs, read once and again (rate-limited) when an unknown MAC shows up. */
  private async macs(forceRefresh: boolean): Promise<Map<string, string>> {
    if (this.index && !(forceRefresh && performance.now() - this.indexedAt > (this.opts.reindexAfterMs ?? 30_000))) return this.index;
    const vms: VmNics[] = await Promise.all(
      this.opts.nodes
        .filter((n) => n.hypervisor)
        .map(async (n) => ({
          name: n.name,
          vm: `${n.hypervisor!.node}/${n.hypervisor!.vmid}`,
          nics: vmNics(await this.opts.vmConfig(n.hypervisor!.node, n.hypervisor!.vmid)),
        })),
    );
    this.index = macIndex(vms);
    this.indexedAt = performance.now();
    return this.index;
  }

  async holders(): Promise<string[]> {
    const route = await this.onLinkRoute();
    const refresh = await this.probe(this.opts.refreshTimeoutMs ?? 1000);
    if (!refresh.answered) return [];
    const args = ['-j', 'neigh', 'show', this.address, ...(route.dev ? ['dev', route.dev] : [])];
    const r = await this.ip(args);
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} exited with ${r.exitCode}: ${r.stderr.trim()}`);
    const entry = neighbourFor(parseNeighbours(r.stdout), this.address, route.dev);
    if (!entry?.lladdr) return [];
    const mac = entry.lladdr;
    let name = (await this.macs(false)).get(mac);
    if (name === undefined) name = (await this.macs(true)).get(mac);
    return [name ?? unknownHolder(mac)];
  }
}
