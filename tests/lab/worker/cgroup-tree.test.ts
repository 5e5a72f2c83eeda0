/**
 * A real worker's cgroup subtree on this host's real hierarchies (root only): created in every controller with
 * cpuset filled in, joined by a process, frozen (a process stops making progress) and thawed, killed as a whole —
 * children forked in the background included — and removed without leaving a directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CgroupTree, cgroupMounts } from '../../../bootstrap/lab/worker/cgroup-tree.ts';

describe('cgroupMounts', () => {
  test('lists v1 and v2 hierarchies from mountinfo, nothing else', () => {
    const mountinfo = [
      '30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
      '33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct',
      '34 30 0:30 / /sys/fs/cgroup/freezer rw,nosuid - cgroup cgroup rw,freezer',
      '40 24 0:40 / /proc rw - proc proc rw',
    ].join('\n');
    expect(cgroupMounts(mountinfo)).toEqual(['/sys/fs/cgroup/unified', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/freezer']);
  });

  test('refuses a relative or climbing path', () => {
    expect(() => new CgroupTree('clusterproof/w1', [])).toThrow(/absolute/);
    expect(() => new CgroupTree('/clusterproof/../w1', [])).toThrow(/plain/);
  });
});

const notRoot = process.getuid?.() !== 0;
const hasFreezer = cgroupMounts().some((m) => m.endsWith('/freezer'));

describe.skipIf(notRoot || !hasFreezer)('CgroupTree on this host', () => {
  const tree = new CgroupTree(`/clusterproof-test-${process.pid}/node`);
  const dir = mkdtempSync(join(tmpdir(), 'clusterproof-cgroup-'));
  afterAll(async () => {
    await tree.killAll().catch(() => undefined);
    tree.remove();
    tree.removeEmptyParent();
    rmSync(dir, { recursive: true, force: true });
  });

  test('created in every hierarchy, with cpuset cpus and mems copied down', () => {
    tree.ensure('system');
    for (const d of tree.dirs('system')) expect(existsSync(d), d).toBe(true);
    const cpuset = tree.dirs('system').find((d) => d.includes('/cpuset/'));
    if (cpuset) expect(readFileSync(join(cpuset, 'cpuset.cpus'), 'utf8').trim()).not.toBe('');
  });

  test('a process that joins, and what it forks, are frozen, thawed and killed as one', async () => {
    const counter = join(dir, 'counter');
    const join_ = tree.procsFiles('system').map((f) => `echo $$ > ${f}`).join('; ');
    // the parent forks two sleepers in the background and counts, so that progress can be seen
    const child = spawn('sh', ['-c', `${join_}; sleep 300 & sleep 300 & i=0; while true; do i=$((i+1)); echo $i > ${counter}; sleep 0.05; done`], { stdio: 'ignore', detached: true });
    child.unref();
    await expect.poll(() => tree.pids().length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => existsSync(counter), { timeout: 5000 }).toBe(true);

    await tree.freeze();
    expect(tree.freezerState()).toBe('FROZEN');
    const frozenAt = readFileSync(counter, 'utf8');
    await new Promise((r) => setTimeout(r, 400));
    expect(readFileSync(counter, 'utf8'), 'a frozen process makes no progress').toBe(frozenAt);
    tree.thaw();
    await expect.poll(() => readFileSync(counter, 'utf8'), { timeout: 3000 }).not.toBe(frozenAt);

    // the loop's own `sleep 0.05` comes and goes: count at least the shell and its two sleepers
    const pids = tree.pids();
    expect(await tree.killAll()).toBeGreaterThanOrEqual(3);
    expect(tree.pids()).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cgroup`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z', `pid ${pid} gone`).toBe(false);
  });

  test('removed from every hierarchy, parent included once empty', () => {
    tree.remove();
    tree.removeEmptyParent();
    for (const d of tree.dirs()) expect(existsSync(d), d).toBe(false);
    for (const d of tree.dirs('..')) expect(existsSync(d), d).toBe(false);
  });
});
