/**
 * Runs last (see tests/support/lab-order-sequencer.ts): `lab down` leaves no process, namespace, link, route,
 * iptables rule, mount or lock behind, and a second `lab down` is a harmless no-op. When the lab before it ran real
 * workers (tests/lab/real-workers.test.ts), each kind of thing they leave is checked too: containerd, shims and
 * containers, overlay/shm/secret mounts, the worker mount namespaces, cgroup directories, CNI leases, pod routes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { labPaths, labStateDir } from '../../providers/lab/paths.ts';
import { LAB_UP_MARKER } from '../../core/safety/destinations.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cli = (...args: string[]) => run(process.execPath, [join(root, 'bin/clusterproof.mjs'), ...args], { cwd: root, timeout: 200_000 });
const skip = labSkipReason();

describe.skipIf(skip)('lab down', () => {
  test('leaves nothing behind', async () => {
    const pidsBefore = existsSync(labPaths.processes())
      ? (JSON.parse(readFileSync(labPaths.processes(), 'utf8')) as Array<{ pid: number }>).map((p) => p.pid)
      : [];
    await cli('lab', 'down');

    expect((await run('ip', ['netns', 'list'])).stdout).not.toMatch(/\bcp-/);
    expect((await run('ip', ['-o', 'link'])).stdout).not.toMatch(/\bcp-/);
    expect((await run('ip', ['route', 'show', 'table', 'all'])).stdout).not.toMatch(/198\.1[89]\./);
    expect((await run('iptables-save')).stdout).not.toMatch(/cp-|198\.18\./);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/\/run\/netns/);
    for (const pid of pidsBefore) expect(existsSync(`/proc/${pid}`), `lab process ${pid} still alive`).toBe(false);
    expect((await run('pgrep', ['-f', 'clusterproof.mjs lab (supervise|vip-agent|git-server)']).catch(() => ({ stdout: '' }))).stdout).toBe('');
    // ArgoCD's roles and the MetalLB controller run from the lab's build cache, redis from the lab's state dir
    expect((await run('pgrep', ['-f', '/var/cache/clusterproof/bin/(argocd|metallb)|lab/bin/redis-server|addons/redis.conf']).catch(() => ({ stdout: '' }))).stdout).toBe('');
    expect(existsSync(join(labStateDir(), 'forge')), 'the git server repository is removed').toBe(false);
    expect(existsSync(labPaths.lock())).toBe(false);
    expect(existsSync(LAB_UP_MARKER)).toBe(false);
    expect(existsSync(labPaths.profile())).toBe(false);

    // real workers: nothing of kubelet, containerd, its shims or the containers they ran. A killed process whose
    // parent died first is a zombie until init reaps it: it runs nothing (and pgrep matches its bare name), so
    // zombies are left out, and the rest is given a few seconds to be reaped
    const alive = async () => {
      const { stdout } = await run('pgrep', ['-f', '/var/cache/clusterproof/bin/(kubernetes-node|containerd|runc|coredns|metallb-speaker)|containerd-shim|lab api-lb']).catch(() => ({ stdout: '' }));
      return stdout
        .split('\n')
        .filter(Boolean)
        .filter((pid) => {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
          } catch {
            return false;
          }
        })
        .map((pid) => {
          try {
            return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
          } catch {
            return `${pid} (exited)`;
          }
        });
    };
    let left = await alive();
    for (let i = 0; i < 20 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      left = await alive();
    }
    expect(left, 'processes of the real workers still running').toEqual([]);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts, 'overlay, shm or secret mounts of the lab').not.toMatch(/\/run\/clusterproof|lab\/data\/w[12]\/|containerd/);
    expect(existsSync('/run/clusterproof'), 'worker mount namespaces dir').toBe(false);
    const cgroupLeft = (await run('sh', ['-c', 'ls -d /sys/fs/cgroup/*/clusterproof 2>/dev/null || true'])).stdout.trim();
    expect(cgroupLeft, 'cgroup directories of the workers').toBe('');
    expect(existsSync(join(labPaths.data(), 'w1', 'cni')), 'CNI leases (host-local) of w1').toBe(false);

    const again = await cli('lab', 'down');
    expect(again.stdout).toMatch(/not up: nothing to remove/);
  }, 240_000);

  test('clients refuse lab addresses once the lab is down', async () => {
    const { checkDestination } = await import('../../core/safety/destinations.ts');
    expect(checkDestination('198.18.40.60')).toEqual({ allowed: false, reason: expect.stringMatching(/lab is down/) });
  });
});
