/**
 * A real worker's cgroup subtree on this cgroup-v1 host: the same path (e.g. /clusterproof/w1) in every mounted
 * hierarchy, so kubelet (cgroupfs driver, cgroupRoot) and runc put pods under it and the node's own daemons join
 * `<root>/system`. Everything the node runs is then somewhere below the root, which is what makes power-off
 * total: the freezer stops the whole subtree at once, every process in it gets SIGKILL, nothing escapes by forking.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mount points of every cgroup hierarchy (v1 controllers, named ones, and the unified v2 tree of a hybrid host). */
export function cgroupMounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const mounts: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    const fsType = post?.split(' ')[0];
    const mountPoint = pre?.split(' ')[4];
    if (mountPoint && (fsType === 'cgroup' || fsType === 'cgroup2')) mounts.push(mountPoint);
  }
  return mounts;
}

export class CgroupTree {
  private readonly mounts: string[];

  /** @param path absolute cgroup path, e.g. /clusterproof/w1 */
  constructor(
    readonly path: string,
    mounts: string[] = cgroupMounts(),
  ) {
    if (!path.startsWith('/') || path.split('/').includes('..')) throw new Error(`cgroup path must be absolute and plain: ${path}`);
    this.mounts = mounts;
  }

  private freezerDir(sub = ''): string {
    const freezer = this.mounts.find((m) => m.endsWith('/freezer'));
    if (!freezer) throw new Error('no cgroup v1 freezer hierarchy is mounted: a lab worker cannot be frozen or powered off as a whole');
    return join(freezer, this.path, sub);
  }

  /** The directories of `sub` (relative to the root) in every hierarchy. */
  dirs(sub = ''): string[] {
    return this.mounts.map((m) => join(m, this.path, sub));
  }

  /** Creates the root and `sub` in every hierarchy; cpuset's cpus/mems are copied down (they start empty). */
  ensure(sub = ''): void {
    const parts = join(this.path, sub).split('/').filter(Boolean);
    for (const mount of this.mounts) {
      let dir = mount;
      for (const part of parts) {
        const parent = dir;
        dir = join(dir, part);
        if (!existsSync(dir)) mkdirSync(dir);
        if (mount.endsWith('/cpuset')) {
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            if (readFileSync(join(dir, f), 'utf8').trim() === '') writeFileSync(join(dir, f), readFileSync(join(parent, f), 'utf8'));
          }
        }
      }
    }
  }

  /** The `cgroup.procs` files a process writes its pid into to join `sub` everywhere. */
  procsFiles(sub: string): string[] {
    return this.dirs(sub).map((d) => join(d, 'cgroup.procs'));
  }

  /** Every pid anywhere in the subtree (read from the freezer hierarchy, where runc puts every container too). */
  pids(): number[] {
    const root = this.freezerDir();
    if (!existsSync(root)) return [];
    const out = new Set<number>();
    const walk = (dir: string) => {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) out.add(Number(line));
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    };
    walk(root);
    return [...out];
  }

  freezerState(): 'THAWED' | 'FREEZING' | 'FROZEN' | 'absent' {
    const file = join(this.freezerDir(), 'freezer.state');
    return existsSync(file) ? (readFileSync(file, 'utf8').trim() as 'THAWED' | 'FREEZING' | 'FROZEN') : 'absent';
  }

  /** Stops every process of the subtree where it stands (a grey failure: alive, holding its sockets, silent). */
  async freeze(timeoutMs = 10_000): Promise<void> {
    // cgroup v1's freezer can stay FREEZING when a task was busy (a fork, a page fault) at the one attempt a write
    // makes: write FROZEN again on every poll, and now and then thaw briefly so new children get caught too (what
    // runc's freezer does; seen here: FREEZING for 10 s after a single write)
    const state = join(this.freezerDir(), 'freezer.state');
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      writeFileSync(state, 'FROZEN');
      if (this.freezerState() === 'FROZEN') return;
      if (Date.now() > deadline) throw new Error(`cgroup ${this.path} did not reach FROZEN within ${timeoutMs / 1000} s (state ${this.freezerState()}, ${attempt} attempts)`);
      if (attempt % 50 === 0) {
        writeFileSync(state, 'THAWED');
        await sleep(10);
      } else await sleep(20);
    }
  }

  thaw(): void {
    if (this.freezerState() !== 'absent') writeFileSync(join(this.freezerDir(), 'freezer.state'), 'THAWED');
  }

  /**
   * Power loss: freeze (so nothing forks while it is being killed), SIGKILL every pid, thaw (a frozen process
   * cannot die), and wait until the subtree is empty. Returns how many processes were killed.
   */
  async killAll(timeoutMs = 10_000): Promise<number> {
    if (this.freezerState() === 'absent') return 0;
    await this.freeze(timeoutMs);
    const pids = this.pids();
    for (const pid of pids) signal(pid, 'SIGKILL');
    this.thaw();
    await this.waitEmpty(timeoutMs);
    return pids.length;
  }

  /** ACPI-style shutdown of whatever is left: SIGTERM to every pid, then SIGKILL after `graceMs`. */
  async terminateAll(graceMs: number): Promise<void> {
    if (this.freezerState() === 'absent') return;
    this.thaw();
    for (const pid of this.pids()) signal(pid, 'SIGTERM');
    try {
      await this.waitEmpty(graceMs);
    } catch {
      await this.killAll();
    }
  }

  private async waitEmpty(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = this.pids();
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`cgroup ${this.path} still holds ${left.length} process(es) after ${timeoutMs / 1000} s: ${left.slice(0, 10).join(', ')}`);
      await sleep(50);
    }
  }

  /** Removes the subtree's directories, deepest first, in every hierarchy. Call once it is empty. */
  remove(): string[] {
    const removed: string[] = [];
    for (const dir of this.dirs()) {
      if (!existsSync(dir)) continue;
      const walk = (d: string) => {
        for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
        rmdirSync(d);
      };
      walk(dir);
      removed.push(dir);
    }
    return removed;
  }

  /** Removes the parent too when nothing else is left in it (e.g. /clusterproof once every worker is gone). */
  removeEmptyParent(): void {
    const parent = this.path.split('/').slice(0, -1).join('/');
    if (!parent) return;
    for (const mount of this.mounts) {
      const dir = join(mount, parent);
      if (existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir, { withFileTypes: true }).every((e) => !e.isDirectory())) {
        try {
          rmdirSync(dir);
        } catch {
          // still holds processes or another lab's subtree: leave it
        }
      }
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
