/**
 * A Proxmox VE test double for bootstrap: the shared PVE server (bootstrap/lab/pve-server/pve-server.ts,
 * which judges every request against the PVE 9 schema subset, checks the token and the method's permission, and
 * checks answers against `returns`) with the subset routes bootstrap uses served over a simulated cluster: VM
 * create/config/resize/delete, cluster resources with tags, nextid, storage content and download-url, the guest
 * agent's interfaces, and power. Every asynchronous call is a task (UPID) that can be made to fail or hang.
 */
import type { ProxmoxClientOptions } from '../../providers/proxmox/client.ts';
import type { PveClusterResource } from '../../providers/proxmox/api-types.ts';
import { PveContract } from '../../providers/proxmox/contract.ts';
import {
  PveHttpError,
  startPveServer,
  type PveExchange,
  type PveRoute,
  type PveServer,
  type PveServerToken,
  type VmPowerBackend,
} from '../../bootstrap/lab/pve-server/pve-server.ts';
import { ADMIN_TOKEN, AUDIT_TOKEN } from '../proxmox/pve-contract.ts';
import { makeTestPki, type TestPki } from '../proxmox/test-pki.ts';

export { ADMIN_TOKEN, AUDIT_TOKEN };

/** May create and configure VMs but not download to a storage (no Datastore.AllocateTemplate, no Sys.*). */
export const VM_ONLY_TOKEN: PveServerToken = {
  id: 'bootstrap@pve!vms',
  secret: '2b4d6f80-1a3c-4e5f-8a9b-0c1d2e3f4a5b',
  privileges: [
    'VM.Allocate', 'VM.Audit', 'VM.PowerMgmt', 'VM.GuestAgent.Audit', 'VM.Config.Disk', 'VM.Config.CDROM', 'VM.Config.CPU',
    'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'Datastore.Audit', 'Datastore.AllocateSpace',
  ],
};

/** May read VMs and storages, change nothing. */
export const READ_ONLY_TOKEN: PveServerToken = {
  id: 'monitor@pve!bootstrap-ro',
  secret: '3c5e7a91-2b4d-4f6a-9c8e-1d2f3a4b5c6d',
  privileges: ['VM.Audit', 'Sys.Audit', 'Datastore.Audit'],
};

export interface SimVm {
  vmid: number;
  name: string;
  status: 'running' | 'stopped';
  /** semicolon-separated, as PVE lists them */
  tags?: string;
  /** qm.conf keys as GET .../config returns them */
  config: Record<string, string | number>;
  /** the token cannot see it (no VM.Audit): missing from /cluster/resources */
  hidden?: boolean;
  /** where the guest agent says the guest is, once running; undefined: the agent does not answer */
  guestAddress?: string;
}

export interface PveVmDoubleOptions {
  node?: string;
  vms?: SimVm[];
  /** volids on the ISO storage, e.g. local:iso/foo.iso */
  isos?: string[];
  /** how long a simulated task runs (default 15 ms) */
  taskMs?: number;
  /** what the guest agent of a VM bootstrap started reports: its DHCP address (default 192.168.40.1xx, xx = vmid % 100) */
  dhcpAddress?: (vmid: number) => string | undefined;
}

const CREATE_PARAMS = PveContract.load().schemaFor('POST', '/nodes/{node}/qemu')?.parameters?.properties ?? {};

let macCounter = 0;
const mac = () => `BC:24:11:00:00:${(++macCounter % 256).toString(16).toUpperCase().padStart(2, '0')}`;

export class PveVmDouble {
  readonly requests: PveExchange[] = [];
  readonly vms = new Map<number, SimVm>();
  readonly isos: Set<string>;
  private readonly failNext = new Map<string, string | 'hang'>();
  private digestCounter = 0;

  private constructor(
    private server: PveServer | undefined,
    private readonly pki: TestPki,
    readonly node: string,
    private readonly taskMs: number,
    private readonly dhcp: (vmid: number) => string | undefined,
    opts: PveVmDoubleOptions,
  ) {
    for (const vm of opts.vms ?? []) this.vms.set(vm.vmid, structuredClone(vm));
    this.isos = new Set(opts.isos ?? []);
  }

  static async start(opts: PveVmDoubleOptions = {}): Promise<PveVmDouble> {
    const pki = makeTestPki();
    const double = new PveVmDouble(undefined, pki, opts.node ?? 'pve', opts.taskMs ?? 15, opts.dhcpAddress ?? ((id) => `192.168.40.1${String(id % 100).padStart(2, '0')}`), opts);
    double.server = await startPveServer({
      node: double.node,
      backend: double.backend(),
      cert: pki.certPem,
      key: pki.keyPem,
      tokens: [ADMIN_TOKEN, AUDIT_TOKEN, VM_ONLY_TOKEN, READ_ONLY_TOKEN],
      onExchange: (e) => double.requests.push(e),
      extraRoutes: ({ tasks }) => double.routes(tasks),
    });
    return double;
  }

  get url(): string {
    return this.server!.url;
  }

  get caFile(): string {
    return this.pki.caFile;
  }

  clientOptions(overrides: Partial<ProxmoxClientOptions> = {}): ProxmoxClientOptions {
    return {
      url: this.url,
      tokenId: ADMIN_TOKEN.id,
      tokenSecret: ADMIN_TOKEN.secret,
      caFile: this.caFile,
      taskPollMs: 5,
      retryMinTimeoutMs: 5,
      retries: 1,
      requestTimeoutMs: 5000,
      ...overrides,
    };
  }

  /** The next task of this type (qmcreate, qmconfig, resize, qmstart, qmstop, qmdestroy, download) fails with `exitstatus`, or never ends. */
  failNextTask(type: string, exitstatus: string | 'hang'): void {
    this.failNext.set(type, exitstatus);
  }

  /** "METHOD template" of every request */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.template ?? r.path}`);
  }

  /** requests that change something */
  get writes(): PveExchange[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  assertNoViolations(): void {
    const v = this.requests.filter((r) => r.violation);
    if (v.length === 0) return;
    throw new Error(
      `the Proxmox double saw ${v.length} request(s) the PVE contract does not allow:\n` +
        v.map((r) => `  ${r.method} ${r.path} ${JSON.stringify(r.params)} -> ${r.status} ${r.violation!.kind}: ${r.violation!.message} ${JSON.stringify(r.violation!.errors ?? {})}`).join('\n'),
    );
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.pki.remove();
  }

  // ------------------------------------------------------------------------------------------- simulation ---

  private vm(params: Record<string, string>): SimVm {
    if (params.node !== this.node) throw new PveHttpError(500, `hostname lookup '${params.node}' failed - Name or service not known`);
    const vm = this.vms.get(Number(params.vmid));
    if (!vm) throw new PveHttpError(500, `Configuration file 'nodes/${this.node}/qemu-server/${params.vmid}.conf' does not exist`);
    return vm;
  }

  private backend(): VmPowerBackend {
    return {
      list: () => [...this.vms.values()].map(({ vmid, name }) => ({ vmid, name })),
      status: (vmid) => this.vms.get(vmid)!.status,
      start: async (vmid) => {
        await this.task('qmstart');
        this.vms.get(vmid)!.status = 'running';
      },
      stop: async (vmid) => {
        await this.task('qmstop');
        this.vms.get(vmid)!.status = 'stopped';
      },
      shutdown: async (vmid) => {
        await this.task('qmshutdown');
        this.vms.get(vmid)!.status = 'stopped';
      },
      // bootstrap never pauses or resumes a VM
      suspend: (vmid) => Promise.reject(new Error(`the bootstrap double does not simulate suspend (VM ${vmid})`)),
      resume: (vmid) => Promise.reject(new Error(`the bootstrap double does not simulate resume (VM ${vmid})`)),
    };
  }

  /** The body of a simulated task: waits, then fails if told to. */
  private async task(type: string): Promise<void> {
    const outcome = this.failNext.get(type);
    this.failNext.delete(type);
    if (outcome === 'hang') return new Promise<void>(() => {});
    await new Promise((r) => setTimeout(r, this.taskMs));
    if (outcome) throw new Error(outcome);
  }

  private nextDigest(): string {
    return (++this.digestCounter).toString(16).padStart(40, '0');
  }

  /** qm.conf as PVE stores it: a new disk `STORAGE:SIZE` becomes a volume with size=, a NIC gets a MAC */
  private applyConfig(vm: SimVm, params: Record<string, string>): void {
    for (const [key, raw] of Object.entries(params)) {
      if (['node', 'vmid', 'digest', 'background_delay', 'start'].includes(key)) continue;
      let value: string = raw;
      if (/^(scsi|virtio|sata|ide)\d+$/.test(key) && !value.includes('media=cdrom')) {
        const m = /^([^:,]+):(\d+)(,.*)?$/.exec(value);
        if (m) value = `${m[1]}:vm-${vm.vmid}-disk-0${m[3] ?? ''},size=${m[2]}G`;
      }
      if (/^net\d+$/.test(key)) {
        value = value.replace(/^(virtio|e1000)(?=,|$)/, (model) => `${model}=${mac()}`);
      }
      if (key === 'name') vm.name = value;
      if (key === 'tags') vm.tags = value;
      // stored, and answered by GET .../config, with the schema's types (integers and booleans as numbers)
      const type = CREATE_PARAMS[key]?.type ?? CREATE_PARAMS[key.replace(/\d+$/, '[n]')]?.type;
      vm.config[key] = type === 'integer' || type === 'boolean' || type === 'number' ? Number(value) : value;
    }
    vm.config.digest = this.nextDigest();
  }

  private routes(tasks: { start(type: string, id: string, user: string, work: (log: (l: string) => void) => Promise<void>): string }): Record<string, PveRoute> {
    const resource = (vm: SimVm): PveClusterResource => ({
      id: `qemu/${vm.vmid}`,
      type: 'qemu',
      vmid: vm.vmid,
      name: vm.name,
      node: this.node,
      status: vm.status,
      template: 0,
      ...(vm.tags ? { tags: vm.tags } : {}),
    });
    const privileged = (user: string, privilege: string) => {
      const token = [ADMIN_TOKEN, AUDIT_TOKEN, VM_ONLY_TOKEN, READ_ONLY_TOKEN].find((t) => t.id === user);
      return !token?.privileges || token.privileges.includes(privilege);
    };
    return {
      'GET /cluster/resources': ({ params }) => {
        const vms = [...this.vms.values()].filter((v) => !v.hidden).map(resource);
        return params.type === undefined || params.type === 'vm' ? vms : [];
      },
      'GET /cluster/nextid': ({ params }) => {
        if (params.vmid !== undefined) {
          if (this.vms.has(Number(params.vmid))) {
            throw new PveHttpError(400, 'Parameter verification failed.', { vmid: `VM ${params.vmid} already exists` });
          }
          return Number(params.vmid);
        }
        let id = 100;
        while (this.vms.has(id)) id++;
        return id;
      },
      'POST /nodes/{node}/qemu': ({ params, user }) => {
        // the schema states this check only in words ("You need 'VM.Allocate' permissions on /vms/{vmid}")
        if (!privileged(user, 'VM.Allocate')) throw new PveHttpError(403, `Permission check failed (/vms/${params.vmid}, VM.Allocate)`);
        const vmid = Number(params.vmid);
        if (this.vms.has(vmid)) throw new PveHttpError(500, `unable to create VM ${vmid}: config file already exists`);
        return tasks.start('qmcreate', String(vmid), user, async () => {
          await this.task('qmcreate');
          const vm: SimVm = { vmid, name: params.name ?? `VM ${vmid}`, status: 'stopped', config: {} };
          this.applyConfig(vm, params);
          this.vms.set(vmid, vm);
        });
      },
      'GET /nodes/{node}/qemu/{vmid}/config': ({ params }) => ({ ...this.vm(params).config }),
      'POST /nodes/{node}/qemu/{vmid}/config': ({ params, user }) => {
        const vm = this.vm(params);
        return tasks.start('qmconfig', String(vm.vmid), user, async () => {
          await this.task('qmconfig');
          if (params.digest !== undefined && params.digest !== vm.config.digest) {
            throw new Error('detected modified configuration - file changed by other user? Try again.');
          }
          this.applyConfig(vm, params);
        });
      },
      'PUT /nodes/{node}/qemu/{vmid}/resize': ({ params, user }) => {
        const vm = this.vm(params);
        return tasks.start('resize', String(vm.vmid), user, async () => {
          await this.task('resize');
          const disk = String(vm.config[params.disk] ?? '');
          if (!disk) throw new Error(`disk '${params.disk}' does not exist`);
          vm.config[params.disk] = disk.replace(/size=[^,]+/, `size=${params.size.replace(/^\+/, '')}`);
          vm.config.digest = this.nextDigest();
        });
      },
      'DELETE /nodes/{node}/qemu/{vmid}': ({ params, user }) => {
        const vm = this.vm(params);
        return tasks.start('qmdestroy', String(vm.vmid), user, async () => {
          await this.task('qmdestroy');
          if (vm.status === 'running') throw new Error(`VM ${vm.vmid} is running - destroy failed`);
          this.vms.delete(vm.vmid);
        });
      },
      'GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces': ({ params }) => {
        const vm = this.vm(params);
        if (vm.status !== 'running') throw new PveHttpError(500, `VM ${vm.vmid} is not running`);
        const address = vm.guestAddress ?? this.dhcp(vm.vmid);
        if (!address) throw new PveHttpError(500, 'QEMU guest agent is not running');
        return {
          result: [
            { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 }] },
            { name: 'eth0', 'hardware-address': 'bc:24:11:00:00:01', 'ip-addresses': [{ 'ip-address': address, 'ip-address-type': 'ipv4', prefix: 24 }] },
          ],
        };
      },
      'GET /nodes/{node}/storage/{storage}/content': ({ params }) =>
        [...this.isos]
          .filter((v) => v.startsWith(`${params.storage}:`) && (params.content === undefined || params.content === 'iso'))
          .map((volid) => ({ volid, format: 'iso', size: 104857600, content: 'iso', ctime: 1760000000 })),
      'POST /nodes/{node}/storage/{storage}/download-url': ({ params, user }) =>
        tasks.start('download', params.storage, user, async (log) => {
          log(`downloading ${params.url} to ${params.filename}`);
          await this.task('download');
          this.isos.add(`${params.storage}:iso/${params.filename}`);
        }),
    };
  }
}
