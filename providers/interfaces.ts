/**
 * The interfaces suites program against. Providers implement them and each target kind (fixtures/targets/) picks
 * the implementations its profile allows: node power through the Proxmox API (lab and talos-proxmox), etcd through
 * member endpoints or talosctl, the VIP holder from the lab's namespaces or the neighbour table. Where a target has
 * none, the fixture is absent and the suite that needs it is skipped with the reason.
 */
import type { NodeSpec } from '../core/profile/schema.ts';

/** `paused`: suspended where it stood, processes and memory kept, nothing running (Proxmox: running, qmpstatus paused). */
export type PowerState = 'running' | 'paused' | 'stopped' | 'unknown';

/** Node power with Proxmox meanings. Every mutating call is recorded in the fault ledger by the fixture. */
export interface NodeControl {
  /** Hard power loss (Proxmox `status/stop`; lab: SIGKILL every process of the node, link down). */
  powerOff(node: NodeSpec): Promise<void>;
  /** Power on on the same disks / data directories. */
  powerOn(node: NodeSpec): Promise<void>;
  /** ACPI shutdown (Proxmox `status/shutdown`; lab: SIGTERM in reverse start order). */
  shutdown(node: NodeSpec): Promise<void>;
  /**
   * Freeze the node where it stands, a grey failure: alive, sockets open, nothing answers (Proxmox `status/suspend`
   * to RAM; lab: the cgroup freezer for a real worker, SIGSTOP to every process otherwise). status() is then 'paused'.
   */
  suspend(node: NodeSpec): Promise<void>;
  /** Let a suspended node run on from where it stopped (Proxmox `status/resume`). */
  resume(node: NodeSpec): Promise<void>;
  status(node: NodeSpec): Promise<PowerState>;
}

export interface EtcdMemberStatus {
  name: string;
  /** client URL the status was read from */
  endpoint: string;
  id: string;
  healthy: boolean;
  isLeader: boolean;
  raftIndex?: number;
  raftTerm?: number;
  error?: string;
}

/** etcd seen directly (member endpoints or Talos API), never through the VIP. */
export interface EtcdProbe {
  members(): Promise<EtcdMemberStatus[]>;
  /** The node name of the current leader, or undefined when no reachable member reports one. */
  leader(): Promise<string | undefined>;
  /** Write a key directly to etcd (quorum write); resolves false when the write is refused or times out. */
  put?(key: string, value: string, timeoutMs?: number): Promise<boolean>;
  get?(key: string): Promise<string | undefined>;
}

export interface VipProbe {
  address: string;
  /** Node names currently holding the VIP (more than one is a split-brain and a violation). */
  holders(): Promise<string[]>;
  /** GET /readyz through the VIP; resolves with the HTTP status or an error string. */
  readyz(timeoutMs?: number): Promise<{ ok: boolean; status?: number; error?: string; latencyMs: number }>;
}

/** One node's turn in a rolling upgrade, as it happened. */
export interface UpgradeStep {
  node: string;
  role: 'control-plane' | 'worker';
  from: string;
  to: string;
  /** ISO time the node's turn began and the seconds it took (drain to healthy again) */
  startedAt: string;
  seconds: number;
  /** the phases inside the turn: "cordon + drain 12.1 s", "reboot into v1.35.4 20.3 s", ... */
  phases: Array<{ name: string; seconds: number }>;
}

/**
 * A Kubernetes minor upgrade of the whole cluster, one node at a time: control planes first (stop, swap binaries,
 * start, wait healthy), then each worker (cordon, drain, upgrade kubelet and kube-proxy, uncordon). The lab does it
 * on its own nodes; a Talos homelab upgrades with `talosctl upgrade-k8s`, which clusterproof does not drive.
 */
export interface RollingUpgrade {
  /** the release each Kubernetes node runs now: kube-apiserver's on control planes, kubelet's on workers */
  versions(): Promise<Record<string, string>>;
  /** why `to` cannot be rolled out (not built, a downgrade), or undefined */
  cannotReach(to: string): Promise<string | undefined>;
  run(to: string, hooks: { onStepStart?(node: string): void; onStepDone?(step: UpgradeStep): Promise<void> | void }): Promise<UpgradeStep[]>;
}
