/**
 * A real lab worker: containerd, kubelet and kube-proxy in the node's network namespace, its own mount namespace
 * (mount-namespace.ts) and its own cgroup subtree (cgroup-tree.ts), talking to the API through the node-local load
 * balancer (api-lb.ts). This module prepares the node's disk and configuration, says what runs on it, imports the
 * lab images into its containerd, and powers it off so that nothing of it survives.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { run, tryRun } from '../../../core/command.ts';
import { kubeNodeNames, labNode, labPlan, labRouteProtocol, type LabNode, type NodeRef } from '../../../providers/lab/plan.ts';
import type { ProcessSpec } from '../process-manager.ts';
import type { LabSettings, LabTlsFiles } from '../node-components.ts';
import { componentBinary } from '../build/index.ts';
import { CgroupTree } from './cgroup-tree.ts';
import { createNodeMountNamespace, destroyNodeMountNamespace, enterNode } from './mount-namespace.ts';
import { KUBE_PRISM_PORT } from './api-lb.ts';
import { guardEgress } from './egress-guard.ts';
import { cniConflist, containerdConfig, kubeletConfig, kubeProxyConfig, workerCgroupRoot, workerPaths, type WorkerPaths } from './worker-config.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WorkerBinaries {
  kubelet: string;
  kubeProxy: string;
  containerd: string;
  ctr: string;
  runc: string;
  cniBinDir: string;
  /** argv prefix running this project's CLI (the node-local API load balancer) */
  clusterproof: string[];
}

/** The built binaries a real worker needs; a missing one names its build command. */
export function resolveWorkerBinaries(clusterproof: string[]): WorkerBinaries {
  return {
    kubelet: componentBinary('kubelet'),
    kubeProxy: componentBinary('kube-proxy'),
    containerd: componentBinary('containerd'),
    ctr: componentBinary('ctr'),
    runc: componentBinary('runc'),
    cniBinDir: dirname(componentBinary('bridge')),
    clusterproof,
  };
}

export interface WorkerContext {
  tls: LabTlsFiles;
  bin: WorkerBinaries;
  settings: LabSettings;
  dataDir: string;
}

export const workerCgroup = (node: NodeRef) => new CgroupTree(workerCgroupRoot(node));

/** Writes the node's configuration, creates its cgroup subtree and mount namespace, and routes its pods. */
export async function prepareWorker(node: NodeRef, ctx: WorkerContext): Promise<WorkerPaths> {
  const n = labNode(node);
  const paths = workerPaths(ctx.dataDir, n);
  for (const dir of [paths.containerdRoot, paths.kubeletCertDir, paths.cniConfDir, paths.cniDataDir, paths.varLog, paths.etc]) mkdirSync(dir, { recursive: true });
  writeFileSync(paths.containerdConfig, containerdConfig(paths, { runc: ctx.bin.runc, cniBinDir: ctx.bin.cniBinDir }));
  const serving = ctx.tls.kubeletServing(n.name);
  writeFileSync(paths.kubeletConfig, kubeletConfig(n, paths, { ca: ctx.tls.ca.cert, servingCert: serving.cert, servingKey: serving.key }, ctx.settings.nodeLeaseSeconds));
  writeFileSync(`${paths.cniConfDir}/10-lab-pods.conflist`, cniConflist(n, paths));
  writeFileSync(paths.kubeProxyConfig, kubeProxyConfig(n, ctx.tls.kubeconfig.kubeProxy(n.name)));
  await guardEgress(n);
  const cgroup = workerCgroup(n);
  cgroup.ensure('system');
  await createNodeMountNamespace(n, paths.varLog);
  return paths;
}

/** argv prefix: enter the node's namespaces, join its `system` cgroup everywhere, then exec the program. */
function launcher(node: LabNode): string[] {
  const join = workerCgroup(node)
    .procsFiles('system')
    .map((f) => `echo $$ > ${f}`)
    .join('; ');
  return [...enterNode(node), 'sh', '-c', `${join}; exec "$@"`, 'sh'];
}

/** What runs on a real worker, in start order. containerd must answer (and hold the images) before kubelet. */
export function workerProcesses(node: NodeRef, ctx: WorkerContext): ProcessSpec[] {
  const n = labNode(node);
  const paths = workerPaths(ctx.dataDir, n);
  const spec = (name: string, argv: string[], env?: Record<string, string>): ProcessSpec => ({ node: n.name, name, netns: n.netns, launcher: launcher(n), argv, env });
  const PATH = `${dirname(ctx.bin.containerd)}:/usr/sbin:/usr/bin:/sbin:/bin`;
  return [
    spec('api-lb', [...ctx.bin.clusterproof, 'lab', 'api-lb', `--listen=127.0.0.1:${KUBE_PRISM_PORT}`, ...labPlan.nodes.filter((c) => c.role === 'control-plane').map((c) => `--upstream=${c.ip}:${labPlan.apiserverPort}`)]),
    spec('containerd', [ctx.bin.containerd, `--config=${paths.containerdConfig}`], { PATH }),
    spec(
      'kubelet',
      [
        ctx.bin.kubelet,
        `--config=${paths.kubeletConfig}`,
        `--kubeconfig=${ctx.tls.kubeconfig.kubelet(n.name)}`,
        `--root-dir=${paths.kubeletRoot}`,
        `--cert-dir=${paths.kubeletCertDir}`,
        `--hostname-override=${n.name}`,
        `--node-ip=${n.ip}`,
      ],
      { PATH },
    ),
    spec('kube-proxy', [ctx.bin.kubeProxy, `--config=${paths.kubeProxyConfig}`], { PATH }),
  ];
}

/** Runs a command inside the node (its network and mount namespaces) to completion. */
export function execInWorker(node: NodeRef, argv: string[]) {
  return tryRun([...enterNode(node), ...argv]);
}

function ctrArgv(bin: WorkerBinaries, paths: WorkerPaths, args: string[]): string[] {
  return [bin.ctr, `--address=${paths.containerdSocket}`, '--namespace=k8s.io', ...args];
}

export async function waitContainerd(node: NodeRef, ctx: WorkerContext, timeoutMs = 30_000): Promise<void> {
  const paths = workerPaths(ctx.dataDir, node);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await execInWorker(node, ctrArgv(ctx.bin, paths, ['version']));
    if (r.code === 0) return;
    last = r.stderr.trim();
    await sleep(200);
  }
  throw new Error(`containerd on ${labNode(node).name} did not answer within ${timeoutMs / 1000} s: ${last}`);
}

/**
 * Imports each image archive into the node's containerd (namespace k8s.io, where the CRI looks) unless it is there
 * with the same digest, and pins it: with no registry, an image collected is an image lost.
 */
export async function importImages(node: NodeRef, ctx: WorkerContext, images: Array<{ ref: string; archive: string; manifestDigest: string }>): Promise<string[]> {
  const paths = workerPaths(ctx.dataDir, node);
  const listed = await execInWorker(node, ctrArgv(ctx.bin, paths, ['images', 'list']));
  const imported: string[] = [];
  for (const image of images) {
    const present = listed.stdout.split('\n').some((l) => l.startsWith(`${image.ref} `) && l.includes(image.manifestDigest));
    if (!present) {
      const r = await execInWorker(node, ctrArgv(ctx.bin, paths, ['images', 'import', image.archive]));
      if (r.code !== 0) throw new Error(`importing ${image.ref} into ${labNode(node).name}'s containerd failed: ${r.stderr.trim()}`);
      imported.push(image.ref);
    }
    const label = await execInWorker(node, ctrArgv(ctx.bin, paths, ['images', 'label', image.ref, 'io.cri-containerd.pinned=pinned']));
    if (label.code !== 0) throw new Error(`pinning ${image.ref} on ${labNode(node).name} failed: ${label.stderr.trim()}`);
  }
  return imported;
}

/**
 * Routes to the real workers' pod CIDRs: on the host (the admin workstation reaches pods, as `kubectl port-forward`
 * would not need to) and in every other Kubernetes node, host-gw style.
 */
export async function routeWorkerPods(workers: readonly NodeRef[]): Promise<void> {
  for (const w of workers.map((x) => labNode(x))) {
    const route = ['route', 'replace', w.podCidr!, 'via', w.ip, 'proto', String(labRouteProtocol)];
    await run(['ip', ...route]);
    for (const other of kubeNodeNames.filter((k) => k !== w.name)) await run(['ip', '-n', labNode(other).netns, ...route]);
  }
}

export async function unrouteWorkerPods(workers: readonly NodeRef[]): Promise<string[]> {
  const removed: string[] = [];
  for (const w of workers.map((x) => labNode(x))) {
    while ((await tryRun(['ip', 'route', 'del', w.podCidr!, 'proto', String(labRouteProtocol)])).code === 0) removed.push(`route ${w.podCidr} via ${w.ip}`);
  }
  return removed;
}

/**
 * Power loss for a real worker: every process in its cgroup subtree (kubelet, containerd, shims, every container)
 * is killed at once, then what a machine loses with its RAM goes too: the mount namespace with everything mounted
 * in it, and the cgroup directories (left behind, the pods' old cgroups would make kubelet's cAdvisor ask
 * containerd about each dead container, one after another, before the node syncs a single pod).
 */
export async function powerOffWorker(node: NodeRef): Promise<number> {
  const cgroup = workerCgroup(node);
  const killed = await cgroup.killAll();
  await destroyNodeMountNamespace(node);
  cgroup.remove();
  return killed;
}

/** ACPI shutdown: what the node's init would do, SIGTERM to all, then SIGKILL after the grace period. */
export async function shutdownWorker(node: NodeRef, graceMs: number): Promise<void> {
  const cgroup = workerCgroup(node);
  await cgroup.terminateAll(graceMs);
  await destroyNodeMountNamespace(node);
  cgroup.remove();
}

/** `lab down`: the worker's processes, mounts and cgroup directories; its disk goes with the lab's data dir. */
export async function removeWorker(node: NodeRef): Promise<string[]> {
  const removed: string[] = [];
  const cgroup = workerCgroup(node);
  const killed = await cgroup.killAll();
  if (killed) removed.push(`${killed} process(es) of ${labNode(node).name}`);
  if (await destroyNodeMountNamespace(node)) removed.push(`mount namespace of ${labNode(node).name}`);
  if (cgroup.remove().length) removed.push(`cgroup ${cgroup.path}`);
  cgroup.removeEmptyParent();
  return removed;
}

/** The node's disk, for a fresh start (never on power-on: a rebooted machine keeps its disk). */
export function wipeWorkerDisk(node: NodeRef, dataDir: string): void {
  const { disk } = workerPaths(dataDir, node);
  if (existsSync(disk)) rmSync(disk, { recursive: true, force: true });
}
