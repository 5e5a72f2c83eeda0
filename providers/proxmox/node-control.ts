/**
 * NodeControl through the Proxmox API: power-off is a hard `stop`, shutdown an ACPI `shutdown`, power-on a
 * `start`, freeze a `suspend` (to RAM) and thaw a `resume`; each waits for its task to finish and fails with the
 * task's exit status. The lab serves the same API, so this code path is what CI exercises.
 */
import { UserError } from '../../core/errors.ts';
import type { NodeSpec } from '../../core/profile/schema.ts';
import type { NodeControl, PowerState } from '../interfaces.ts';
import type { ProxmoxClient } from './client.ts';

export interface ProxmoxNodeControlOptions {
  /** how long a power task may run (default 120 s; a shutdown also gets its own timeout plus 30 s) */
  taskTimeoutMs?: number;
  /** how long the guest gets to power down after the ACPI event (default 120 s) */
  shutdownTimeoutS?: number;
  /** hard-stop the VM when the guest ignores the ACPI shutdown (default false: the shutdown fails instead) */
  forceStopAfterShutdownTimeout?: boolean;
}

/** Where a profile node runs on Proxmox, or a UserError naming the missing profile field. */
export function vmOf(node: NodeSpec): { node: string; vmid: number } {
  if (!node.hypervisor) {
    throw new UserError(
      `node ${node.name} has no Proxmox VM reference: set nodes[name=${node.name}].hypervisor to { node: <PVE node>, vmid: <VM id> } in the profile`,
    );
  }
  return { node: node.hypervisor.node, vmid: node.hypervisor.vmid };
}

export class ProxmoxNodeControl implements NodeControl {
  private readonly taskTimeoutMs: number;
  private readonly shutdownTimeoutS: number;
  private readonly forceStop: boolean;

  constructor(
    readonly client: ProxmoxClient,
    opts: ProxmoxNodeControlOptions = {},
  ) {
    this.taskTimeoutMs = opts.taskTimeoutMs ?? 120_000;
    this.shutdownTimeoutS = opts.shutdownTimeoutS ?? 120;
    this.forceStop = opts.forceStopAfterShutdownTimeout ?? false;
  }

  async powerOff(node: NodeSpec): Promise<void> {
    const vm = vmOf(node);
    const upid = await this.client.vmStop(vm.node, vm.vmid);
    await this.client.waitTask(vm.node, upid, { timeoutMs: this.taskTimeoutMs });
  }

  /** Idempotent: a VM that already runs is left alone (PVE would fail the start task "already running"). */
  async powerOn(node: NodeSpec): Promise<void> {
    const vm = vmOf(node);
    const current = await this.client.vmStatus(vm.node, vm.vmid);
    if (current.status === 'running') return;
    const upid = await this.client.vmStart(vm.node, vm.vmid);
    await this.client.waitTask(vm.node, upid, { timeoutMs: this.taskTimeoutMs });
  }

  async shutdown(node: NodeSpec): Promise<void> {
    const vm = vmOf(node);
    const upid = await this.client.vmShutdown(vm.node, vm.vmid, { timeoutS: this.shutdownTimeoutS, forceStop: this.forceStop });
    const timeoutMs = Math.max(this.taskTimeoutMs, (this.shutdownTimeoutS + 30) * 1000);
    await this.client.waitTask(vm.node, upid, { timeoutMs });
  }

  async suspend(node: NodeSpec): Promise<void> {
    const vm = vmOf(node);
    const upid = await this.client.vmSuspend(vm.node, vm.vmid);
    await this.client.waitTask(vm.node, upid, { timeoutMs: this.taskTimeoutMs });
  }

  async resume(node: NodeSpec): Promise<void> {
    const vm = vmOf(node);
    const upid = await this.client.vmResume(vm.node, vm.vmid);
    await this.client.waitTask(vm.node, upid, { timeoutMs: this.taskTimeoutMs });
  }

  /**
   * running only when QEMU runs and the guest is not paused; paused when QMP says so (what `status/suspend`
   * leaves); any other QMP state (suspended by the guest, prelaunch, ...) is 'unknown'
   */
  async status(node: NodeSpec): Promise<PowerState> {
    const vm = vmOf(node);
    const s = await this.client.vmStatus(vm.node, vm.vmid);
    if (s.status === 'stopped') return 'stopped';
    if (s.status !== 'running') return 'unknown';
    if (s.qmpstatus === undefined || s.qmpstatus === 'running') return 'running';
    return s.qmpstatus === 'paused' ? 'paused' : 'unknown';
  }
}
