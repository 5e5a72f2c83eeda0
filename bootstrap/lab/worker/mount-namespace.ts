/**
 * A real worker's mount namespace: its own view of the filesystem, pinned to a file under /run/clusterproof/mnt so
 * it outlives the processes in it, the way a machine's /run outlives one daemon. Every process of the node is
 * started inside it together with the node's network namespace (`nsenter --net --mount`, never `ip netns exec`,
 * which remounts /sys and hides the cgroup hierarchies kubelet and runc need). So kubelet's volume mounts are seen by
 * containerd and runc, and nothing they mount reaches the host: propagation is private, and when the node powers
 * off the namespace goes and takes every overlay, shm and secret tmpfs with it.
 *
 * Inside:
 * - a tmpfs on /run: containerd's sockets, state and shim sockets (/run/containerd/s/…) are the node's own;
 * - the node's own disk on /var/log (pod logs, /var/log/containers links);
 * - a resolv.conf naming only the node's loopback (nothing resolves through a server outside the lab);
 * - read-only files over the kernel tunables kubelet would otherwise set host-wide (vm.overcommit_memory,
 *   kernel.panic, kernel.panic_on_oops…): each holds the value kubelet expects, so kubelet reads it and writes nothing.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tryRun } from '../../../core/command.ts';
import { labNode, type NodeRef } from '../../../providers/lab/plan.ts';

export const MOUNT_NS_DIR = '/run/clusterproof/mnt';

/** What kubelet's setupKernelTunables sets when a value differs (kubernetes pkg/kubelet/cm/container_manager_linux.go). */
export const KUBELET_KERNEL_TUNABLES: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

export const mountNsFile = (node: NodeRef) => join(MOUNT_NS_DIR, labNode(node).name);

export function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

/** argv prefix that runs a program in the node's network and mount namespaces. */
export function enterNode(node: NodeRef): string[] {
  const n = labNode(node);
  return ['nsenter', `--net=/run/netns/${n.netns}`, `--mount=${mountNsFile(n)}`, '--'];
}

/** The tunables whose host value differs from kubelet's: only those get a read-only file over them. */
export function tunablesToMask(read: (key: string) => string | undefined = readTunable): Array<[string, string]> {
  return Object.entries(KUBELET_KERNEL_TUNABLES).filter(([key, want]) => {
    const have = read(key);
    return have !== undefined && have !== want;
  });
}

function readTunable(key: string): string | undefined {
  try {
    return readFileSync(join('/proc/sys', key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

let dirReady: Promise<void> | undefined;

/**
 * `unshare --mount=FILE` needs FILE on a mount with private propagation (else it could be copied into itself):
 * /run/clusterproof/mnt bound onto itself, once, even when both workers boot at the same time.
 */
function ensureMountNsDir(): Promise<void> {
  const ready = async () => {
    mkdirSync(MOUNT_NS_DIR, { recursive: true });
    if (!isMountPoint(MOUNT_NS_DIR)) {
      await run(['mount', '--bind', MOUNT_NS_DIR, MOUNT_NS_DIR]);
      await run(['mount', '--make-private', MOUNT_NS_DIR]);
    }
  };
  dirReady = (dirReady ?? Promise.resolve()).then(ready, ready);
  return dirReady;
}

/** Creates the node's mount namespace (replacing a stale one) and mounts its view. */
export async function createNodeMountNamespace(node: NodeRef, varLogDir: string): Promise<void> {
  const file = mountNsFile(node);
  await destroyNodeMountNamespace(node);
  await ensureMountNsDir();
  writeFileSync(file, '');
  await run(['unshare', `--mount=${file}`, '--propagation', 'private', 'true']);
  mkdirSync(varLogDir, { recursive: true });
  const masks = tunablesToMask();
  const script = [
    'set -e',
    'mount -t tmpfs -o mode=755,size=256m tmpfs /run',
    'mkdir -p /run/clusterproof-sysctl',
    ...masks.flatMap(([key, value], i) => [
      `printf '%s\\n' ${value} > /run/clusterproof-sysctl/${i}`,
      `mount --bind /run/clusterproof-sysctl/${i} /proc/sys/${key}`,
      `mount -o remount,bind,ro /proc/sys/${key}`,
    ]),
    `mount --bind ${shellQuote(varLogDir)} /var/log`,
    // no resolver outside the lab: lookups go to the node's own loopback and fail at once (egress-guard.ts)
    `printf 'nameserver 127.0.0.1\\n' > /run/clusterproof-resolv.conf`,
    'mount --bind /run/clusterproof-resolv.conf /etc/resolv.conf',
  ].join('\n');
  await run(['nsenter', `--mount=${file}`, '--', 'sh', '-c', script]);
}

/**
 * Unpins the namespace: once no process is left in it (power-off kills them first) the kernel frees it and every
 * mount inside. Idempotent.
 */
export async function destroyNodeMountNamespace(node: NodeRef): Promise<boolean> {
  const file = mountNsFile(node);
  let removed = false;
  while (isMountPoint(file)) {
    if ((await tryRun(['umount', file])).code !== 0) await run(['umount', '-l', file]);
    removed = true;
  }
  if (existsSync(file)) {
    rmSync(file, { force: true });
    removed = true;
  }
  return removed;
}

/** After the last node's namespace: the private bind of /run/clusterproof/mnt and the empty directories go too. */
export async function removeMountNamespaceDir(): Promise<string[]> {
  const removed: string[] = [];
  if (!existsSync(MOUNT_NS_DIR) || readdirSync(MOUNT_NS_DIR).length > 0) return removed;
  while (isMountPoint(MOUNT_NS_DIR)) {
    await run(['umount', MOUNT_NS_DIR]);
    removed.push(`mount ${MOUNT_NS_DIR}`);
  }
  rmdirSync(MOUNT_NS_DIR);
  const parent = join(MOUNT_NS_DIR, '..');
  if (readdirSync(parent).length === 0) rmdirSync(parent);
  return removed;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
