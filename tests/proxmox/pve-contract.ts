/**
 * The Proxmox VE test double: an HTTPS server on 127.0.0.1 with a throwaway CA (pinned by the client) that
 * judges every request against the PVE 9 schema subset before serving it, records every exchange, and
 * simulates VMs and their power tasks (suspend and resume included), including failures, slow tasks, 401/403 and
 * transient errors.
 *
 * A request the contract does not allow is answered as PVE would (501 "not in contract", 400 "Parameter
 * verification failed.") and recorded as a violation; `assertNoViolations()` fails the test loudly.
 */
import type { ProxmoxClientOptions } from '../../providers/proxmox/client.ts';
import {
  startPveServer,
  type PveExchange,
  type PveServer,
  type PveServerToken,
  type VmPowerBackend,
} from '../../bootstrap/lab/pve-server/pve-server.ts';
import { makeTestPki, type TestPki } from './test-pki.ts';

/** All privileges. */
export const ADMIN_TOKEN: PveServerToken = { id: 'root@pam!clusterproof', secret: '6f1c2b9e-4d4a-4c8e-9a57-0b7d2f3e8a11' };
/** May look (VM.Audit) but not touch power. */
export const AUDIT_TOKEN: PveServerToken = {
  id: 'monitor@pve!readonly',
  secret: '1e0f9a3c-7b52-4f61-8d2e-5c4b3a291807',
  privileges: ['VM.Audit', 'Sys.Audit'],
};
/** May power VMs but not read their status. */
export const POWER_ONLY_TOKEN: PveServerToken = {
  id: 'chaos@pve!power',
  secret: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  privileges: ['VM.PowerMgmt'],
};

export interface DoubleVm {
  vmid: number;
  name: string;
  /** paused: suspended by status/suspend (PVE: status running, qmpstatus paused) */
  status: 'running' | 'paused' | 'stopped';
  /** the guest ignores the ACPI power button: a shutdown runs into its timeout */
  ignoresAcpi?: boolean;
}

type PowerOp = 'start' | 'stop' | 'shutdown' | 'suspend' | 'resume';

export interface TaskOutcome {
  /** the task ends stopped with this exit status (the error PVE would report) */
  fail?: string;
  /** how long the task runs; 'forever' never ends */
  delayMs?: number | 'forever';
}

class SimulatedVms implements VmPowerBackend {
  readonly vms = new Map<number, DoubleVm>();
  readonly calls: string[] = [];
  private readonly next = new Map<PowerOp, TaskOutcome>();

  constructor(
    vms: DoubleVm[],
    private readonly taskMs: number,
  ) {
    for (const vm of vms) this.vms.set(vm.vmid, { ...vm });
  }

  setNext(op: PowerOp, outcome: TaskOutcome): void {
    this.next.set(op, outcome);
  }

  list() {
    return [...this.vms.values()].map(({ vmid, name }) => ({ vmid, name }));
  }

  status(vmid: number) {
    return this.vms.get(vmid)!.status;
  }

  start(vmid: number) {
    return this.run('start', vmid, () => this.set(vmid, 'running'));
  }

  stop(vmid: number) {
    return this.run('stop', vmid, () => this.set(vmid, 'stopped'));
  }

  shutdown(vmid: number, timeoutS: number) {
    if (this.vms.get(vmid)!.ignoresAcpi) {
      this.calls.push(`shutdown ${vmid}`);
      return new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('VM quit/powerdown failed - got timeout')), timeoutS * 1000),
      );
    }
    return this.run('shutdown', vmid, () => this.set(vmid, 'stopped'));
  }

  suspend(vmid: number) {
    return this.run('suspend', vmid, () => this.set(vmid, 'paused'));
  }

  resume(vmid: number) {
    return this.run('resume', vmid, () => this.set(vmid, 'running'));
  }

  private set(vmid: number, status: DoubleVm['status']) {
    this.vms.get(vmid)!.status = status;
  }

  private async run(op: PowerOp, vmid: number, effect: () => void): Promise<void> {
    this.calls.push(`${op} ${vmid}`);
    const outcome = this.next.get(op) ?? {};
    this.next.delete(op);
    const delayMs = outcome.delayMs ?? this.taskMs;
    if (delayMs === 'forever') return new Promise<void>(() => {});
    await new Promise((r) => setTimeout(r, delayMs));
    if (outcome.fail) throw new Error(outcome.fail);
    effect();
  }
}

export interface PveDoubleOptions {
  /** PVE node name (default pve1) */
  node?: string;
  vms?: DoubleVm[];
  /** how long a simulated power task runs (default 20 ms) */
  taskMs?: number;
}

export class PveDouble {
  /** every exchange, in order, with its contract verdict */
  readonly requests: PveExchange[] = [];
  private pendingFaults: Array<{ how: number | 'reset' | 'hang'; template?: string }> = [];

  private constructor(
    private readonly server: PveServer,
    private readonly pki: TestPki,
    private readonly sim: SimulatedVms,
    readonly node: string,
  ) {}

  static async start(opts: PveDoubleOptions = {}): Promise<PveDouble> {
    const node = opts.node ?? 'pve1';
    const sim = new SimulatedVms(
      opts.vms ?? [
        { vmid: 101, name: 'cp1', status: 'running' },
        { vmid: 102, name: 'cp2', status: 'running' },
        { vmid: 104, name: 'w1', status: 'stopped' },
      ],
      opts.taskMs ?? 20,
    );
    const pki = makeTestPki();
    let double: PveDouble | undefined;
    const server = await startPveServer({
      node,
      backend: sim,
      cert: pki.certPem,
      key: pki.keyPem,
      tokens: [ADMIN_TOKEN, AUDIT_TOKEN, POWER_ONLY_TOKEN],
      onExchange: (e) => double!.requests.push(e),
      intercept: (r) => double!.takeFault(r.template),
    });
    double = new PveDouble(server, pki, sim, node);
    return double;
  }

  get url(): string {
    return this.server.url;
  }

  /** the PEM file of the double's CA, as access.proxmox.caFile would name pve-root-ca.pem */
  get caFile(): string {
    return this.pki.caFile;
  }

  get caPem(): string {
    return this.pki.caPem;
  }

  /** Client options that reach this double with the admin token, fast polling and fast retries. */
  clientOptions(overrides: Partial<ProxmoxClientOptions> = {}): ProxmoxClientOptions {
    return {
      url: this.url,
      tokenId: ADMIN_TOKEN.id,
      tokenSecret: ADMIN_TOKEN.secret,
      caFile: this.caFile,
      taskPollMs: 10,
      retryMinTimeoutMs: 10,
      requestTimeoutMs: 5000,
      ...overrides,
    };
  }

  vm(vmid: number): DoubleVm {
    const vm = this.sim.vms.get(vmid);
    if (!vm) throw new Error(`the double has no VM ${vmid}`);
    return vm;
  }

  /** power calls that reached the simulated hypervisor, e.g. "stop 101" */
  get powerCalls(): string[] {
    return this.sim.calls;
  }

  /** The next task of this kind fails or runs for delayMs. */
  nextTask(op: PowerOp, outcome: TaskOutcome): void {
    this.sim.setNext(op, outcome);
  }

  /** The next `count` valid requests (to `template`, if given) get this status, a dropped connection or no answer. */
  failNextRequests(count: number, how: number | 'reset' | 'hang', template?: string): void {
    for (let i = 0; i < count; i++) this.pendingFaults.push({ how, template });
  }

  /** Drop faults a test queued but did not consume, so they cannot leak into the next test. */
  clearPendingFaults(): void {
    this.pendingFaults = [];
  }

  private takeFault(template: string): number | 'reset' | 'hang' | undefined {
    const i = this.pendingFaults.findIndex((f) => f.template === undefined || f.template === template);
    if (i < 0) return undefined;
    return this.pendingFaults.splice(i, 1)[0].how;
  }

  /** "METHOD template" of every request, in order */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.template ?? r.path}`);
  }

  get violations(): PveExchange[] {
    return this.requests.filter((r) => r.violation);
  }

  assertNoViolations(): void {
    const v = this.violations;
    if (v.length === 0) return;
    const lines = v.map((r) => {
      const errors = r.violation!.errors ? ` ${JSON.stringify(r.violation!.errors)}` : '';
      return `  ${r.method} ${r.path} ${JSON.stringify(r.params)} -> ${r.status} ${r.violation!.kind}: ${r.violation!.message}${errors}`;
    });
    throw new Error(`the Proxmox double saw ${v.length} request(s) the PVE contract does not allow:\n${lines.join('\n')}`);
  }

  async close(): Promise<void> {
    await this.server.close();
    this.pki.remove();
  }
}
