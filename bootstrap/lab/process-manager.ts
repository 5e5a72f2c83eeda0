/**
 * Runs the lab's node processes inside their network namespaces, like an init system per node:
 * start in order, restart a process that dies while its node is powered on (as machined/kubelet would),
 * and the two ways a node stops: SIGKILL everything (power loss) or SIGTERM in reverse order (shutdown).
 * A node can also be paused (SIGSTOP to each process, SIGCONT to continue): a stopped process is alive, keeps
 * its pid and its sockets, and is neither counted dead nor restarted.
 * Every pid is written to a state file with its start time, so `lab down` can end exactly these processes
 * even after the supervisor itself was killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSpec {
  node: string;
  /** component name, unique within the node: etcd, kube-apiserver, ... */
  name: string;
  netns: string;
  argv: string[];
  env?: Record<string, string>;
  /** argv prefix that enters the node; default `ip netns exec <netns>` (real workers need more: worker-node.ts) */
  launcher?: string[];
}

interface Running {
  spec: ProcessSpec;
  child?: ChildProcess;
  log: WriteStream;
  restarts: number;
  /** true while the node is meant to be up: an exit then triggers a restart */
  wanted: boolean;
  /** SIGSTOPped with its node: a restart waits until the node continues */
  paused: boolean;
  restartTimer?: NodeJS.Timeout;
}

export interface ProcessRecord {
  node: string;
  name: string;
  pid: number;
  startTime: string | null;
}

export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (c: ChildProcess | undefined): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null;

export class ProcessManager {
  private readonly procs = new Map<string, Running>();

  constructor(
    private readonly logDir: string,
    private readonly recordFile: string,
  ) {}

  private key(node: string, name: string) {
    return `${node}/${name}`;
  }

  private persist(): void {
    const records: ProcessRecord[] = [];
    for (const r of this.procs.values()) {
      if (r.child?.pid && r.child.exitCode === null) {
        records.push({ node: r.spec.node, name: r.spec.name, pid: r.child.pid, startTime: procStartTime(r.child.pid) });
      }
    }
    writeFileSync(this.recordFile, JSON.stringify(records, null, 2));
  }

  private launch(r: Running): void {
    const { spec } = r;
    r.log.write(`\n--- ${new Date().toISOString()} start ${spec.name} on ${spec.node} (restart ${r.restarts})\n`);
    const [file, ...args] = [...(spec.launcher ?? ['ip', 'netns', 'exec', spec.netns]), ...spec.argv];
    const child = spawn(file!, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    child.stdout?.pipe(r.log, { end: false });
    child.stderr?.pipe(r.log, { end: false });
    child.once('exit', (code, signal) => {
      r.log.write(`--- ${new Date().toISOString()} ${spec.name} exited code=${code} signal=${signal}\n`);
      this.persist();
      if (r.wanted && !r.paused && r.child === child) {
        const delay = Math.min(1000 * 2 ** Math.min(r.restarts, 4), 10_000);
        r.restarts += 1;
        r.restartTimer = setTimeout(() => r.wanted && !r.paused && this.launch(r), delay);
      }
    });
    this.persist();
  }

  start(spec: ProcessSpec): void {
    const key = this.key(spec.node, spec.name);
    let r = this.procs.get(key);
    if (!r) {
      r = { spec, log: createWriteStream(join(this.logDir, `${spec.node}-${spec.name}.log`), { flags: 'a' }), restarts: 0, wanted: true, paused: false };
      this.procs.set(key, r);
    }
    r.spec = spec;
    r.wanted = true;
    r.restarts = 0;
    if (!r.child || r.child.exitCode !== null || r.child.signalCode !== null) this.launch(r);
  }

  private ofNode(node: string): Running[] {
    return [...this.procs.values()].filter((r) => r.spec.node === node);
  }

  isRunning(node: string, name: string): boolean {
    return alive(this.procs.get(this.key(node, name))?.child);
  }

  components(node: string): Array<{ name: string; running: boolean; pid?: number; restarts: number }> {
    return this.ofNode(node).map((r) => ({ name: r.spec.name, running: this.isRunning(node, r.spec.name), pid: r.child?.pid, restarts: r.restarts }));
  }

  private async waitExit(r: Running, timeoutMs: number): Promise<boolean> {
    const child = r.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /**
   * Pause the node: SIGSTOP to each of its processes, which stay alive where they stand. A restart that was due
   * waits for `continueNode`; a process SIGKILLed while stopped dies as any other.
   */
  pauseNode(node: string): void {
    for (const r of this.ofNode(node)) {
      r.paused = true;
      clearTimeout(r.restartTimer);
      if (alive(r.child)) r.child.kill('SIGSTOP');
    }
  }

  /** SIGCONT to each stopped process of the node; one that died meanwhile, and is still wanted, starts again. */
  continueNode(node: string): void {
    for (const r of this.ofNode(node)) {
      if (!r.paused) continue;
      r.paused = false;
      if (alive(r.child)) r.child.kill('SIGCONT');
      else if (r.wanted) this.launch(r);
    }
  }

  /** The node's processes are no longer wanted: none is restarted when it exits (something else ends them). */
  release(node: string): void {
    for (const r of this.ofNode(node)) {
      r.wanted = false;
      clearTimeout(r.restartTimer);
    }
  }

  /** Power loss: every process of the node gets SIGKILL at the same instant. */
  async killNode(node: string): Promise<void> {
    const procs = this.ofNode(node);
    for (const r of procs) {
      r.wanted = false;
      r.paused = false;
      clearTimeout(r.restartTimer);
    }
    // SIGKILL ends a SIGSTOPped process too
    for (const r of procs) r.child?.kill('SIGKILL');
    await Promise.all(procs.map((r) => this.waitExit(r, 5000)));
    this.persist();
  }

  /** ACPI shutdown: SIGTERM in reverse start order, each given `graceMs` before SIGKILL. */
  async stopNode(node: string, graceMs = 10_000): Promise<void> {
    const procs = this.ofNode(node).reverse();
    for (const r of procs) {
      r.wanted = false;
      clearTimeout(r.restartTimer);
    }
    for (const r of procs) {
      r.child?.kill('SIGTERM');
      // a SIGSTOPped process would only see its SIGTERM once continued
      if (r.paused) r.child?.kill('SIGCONT');
      r.paused = false;
      if (!(await this.waitExit(r, graceMs))) {
        r.child?.kill('SIGKILL');
        await this.waitExit(r, 5000);
      }
    }
    this.persist();
  }

  async stopAll(graceMs = 10_000): Promise<void> {
    const nodes = [...new Set([...this.procs.values()].map((r) => r.spec.node))];
    await Promise.all(nodes.map((n) => this.stopNode(n, graceMs)));
    for (const r of this.procs.values()) r.log.end();
    await sleep(10);
  }
}

/** End processes recorded by a supervisor that is gone, checking each pid is still the process we started. */
export function killRecorded(recordFile: string): number {
  let records: ProcessRecord[] = [];
  try {
    records = JSON.parse(readFileSync(recordFile, 'utf8')) as ProcessRecord[];
  } catch {
    return 0;
  }
  let killed = 0;
  for (const r of records) {
    if (r.startTime && procStartTime(r.pid) === r.startTime) {
      try {
        process.kill(r.pid, 'SIGKILL');
        killed += 1;
      } catch {
        // already gone
      }
    }
  }
  return killed;
}
