/**
 * The lab supervisor: the long-lived process that owns every node process (the "hypervisor" of the lab).
 * It starts the nodes, serves node power on a Proxmox-API-compatible endpoint so the very client that
 * drives a homelab drives the lab, and on SIGTERM stops everything in reverse order.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { redisConfigText } from './addons/processes.ts';
import * as k8s from '@kubernetes/client-node';
import { ProcessManager } from './process-manager.ts';
import { applyVariant, type LabVariant } from './variants.ts';
import { nodeProcesses, type LabBinaries, type LabSettings, type LabTlsFiles } from './node-components.ts';
import { controlPlaneNodes, kubeNodeNames, labNode, labPlan } from '../../providers/lab/plan.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { readNodeVersions } from '../../providers/lab/node-versions.ts';
import { kubernetesBinary } from './build/index.ts';
import { setNodeLink, tryExecInNode } from './network.ts';
import { registerNodes } from './node-registration.ts';
import { LAB_UP_MARKER } from '../../core/safety/destinations.ts';
import { httpsRequest } from '../../providers/https-json.ts';
import { LAB_VMIDS, labNodeOfVmid, startLabPveEndpoint, type LabPowerBackend } from './pve-endpoint.ts';
import { addonsProcesses, forgeProcesses, type GitopsBinaries, type GitopsProcessSettings } from './addons/processes.ts';
import { installAddonPrerequisites } from './addons/objects.ts';
import { gitopsPaths } from './addons/endpoints.ts';
import type { WorkerMode } from './worker/worker-mode.ts';
import {
  importImages,
  powerOffWorker,
  prepareWorker,
  routeWorkerPods,
  shutdownWorker,
  waitContainerd,
  workerProcesses,
  workerCgroup,
  type WorkerBinaries,
  type WorkerContext,
} from './worker/worker-node.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SupervisorConfig {
  tls: LabTlsFiles;
  bin: LabBinaries;
  settings: LabSettings;
  adminKubeconfig: string;
  variant?: LabVariant;
  gitops: { bin: GitopsBinaries; settings: GitopsProcessSettings; webhookSecret: string; redisPassword: string };
  pve: { port: number; tokenId: string; tokenSecret: string; certFile: string; keyFile: string };
  workers: { mode: WorkerMode; bin?: WorkerBinaries; images: Array<{ ref: string; archive: string; manifestDigest: string }> };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`lab: ${what} not ready after ${timeoutMs / 1000} s (see ${labPaths.logs()})`);
}

export class LabSupervisor implements LabPowerBackend {
  private readonly procs: ProcessManager;
  private readonly powered = new Set<string>();
  /** powered nodes suspended where they stand (cgroup freezer or SIGSTOP) */
  private readonly paused = new Set<string>();

  constructor(private readonly config: SupervisorConfig) {
    mkdirSync(labPaths.logs(), { recursive: true });
    mkdirSync(labPaths.data(), { recursive: true });
    this.procs = new ProcessManager(labPaths.logs(), labPaths.processes());
  }

  /** What a node runs at this boot: its processes with the Kubernetes release it has "installed" (node-versions.json). */
  private specs(node: string) {
    const version = readNodeVersions()[node];
    if (this.isRealWorker(node)) {
      const ctx = this.workerContext();
      if (version) ctx.bin = { ...ctx.bin, kubelet: kubernetesBinary('kubelet', version), kubeProxy: kubernetesBinary('kube-proxy', version) };
      return workerProcesses(node, ctx);
    }
    const bin = version
      ? {
          ...this.config.bin,
          kubeApiserver: kubernetesBinary('kube-apiserver', version),
          kubeControllerManager: kubernetesBinary('kube-controller-manager', version),
          kubeScheduler: kubernetesBinary('kube-scheduler', version),
        }
      : this.config.bin;
    return applyVariant(this.config.variant, nodeProcesses(node, { tls: this.config.tls, bin, settings: this.config.settings, dataDir: labPaths.data() }));
  }

  private isRealWorker(node: string): boolean {
    return this.config.workers.mode === 'real' && labNode(node).role === 'worker';
  }

  private workerContext(): WorkerContext {
    const bin = this.config.workers.bin;
    if (!bin) throw new Error('real workers were asked for but their binaries were not resolved');
    return { tls: this.config.tls, bin, settings: this.config.settings, dataDir: labPaths.data() };
  }

  private realWorkers(): string[] {
    return kubeNodeNames.filter((n) => this.isRealWorker(n));
  }

  private nodeOf(vmid: number): string {
    const node = labNodeOfVmid(vmid);
    if (!node) throw new Error(`no lab VM ${vmid}`);
    return node;
  }

  // LabPowerBackend: what the Proxmox-compatible endpoint calls
  list() {
    return Object.entries(LAB_VMIDS).map(([name, vmid]) => ({ name, vmid }));
  }

  status(vmid: number): 'running' | 'paused' | 'stopped' {
    const node = this.nodeOf(vmid);
    if (!this.powered.has(node)) return 'stopped';
    return this.paused.has(node) ? 'paused' : 'running';
  }

  async start(vmid: number): Promise<void> {
    await this.powerOn(this.nodeOf(vmid));
  }

  async stop(vmid: number): Promise<void> {
    const node = this.nodeOf(vmid);
    this.powered.delete(node);
    // a frozen real worker is killed through its cgroup (killAll thaws it), SIGSTOPped processes die of SIGKILL
    this.paused.delete(node);
    if (this.isRealWorker(node)) {
      // the whole cgroup subtree at once: kubelet, containerd, shims and every container
      this.procs.release(node);
      await powerOffWorker(node);
    }
    await this.procs.killNode(node);
    await setNodeLink(node, false);
    await this.forgetRuntimeAddresses(node);
  }

  /** A powered-off machine loses what was configured at run time: only its own address survives a reboot. */
  private async forgetRuntimeAddresses(node: string): Promise<void> {
    await tryExecInNode(node, ['ip', 'addr', 'del', `${labPlan.vip}/${labPlan.lan.prefixLength}`, 'dev', 'eth0']);
  }

  async shutdown(vmid: number, timeoutS: number): Promise<void> {
    const node = this.nodeOf(vmid);
    if (this.paused.has(node)) throw new Error(`VM ${vmid} is paused - cannot shutdown`);
    await this.procs.stopNode(node, Math.max(1, timeoutS) * 1000);
    // what the node's init does last: SIGTERM to everything left (the containers), then SIGKILL
    if (this.isRealWorker(node)) await shutdownWorker(node, Math.max(1, timeoutS) * 1000);
    this.powered.delete(node);
    await setNodeLink(node, false);
    await this.forgetRuntimeAddresses(node);
  }

  /**
   * Suspend a node where it stands, a grey failure: every process alive, its sockets open, nothing answering. A real
   * worker's whole cgroup subtree is frozen (kubelet, containerd, shims and every container, at once); any other
   * node's processes get SIGSTOP.
   */
  async suspend(vmid: number): Promise<void> {
    const node = this.nodeOf(vmid);
    if (!this.powered.has(node)) throw new Error(`VM ${vmid} not running`);
    if (this.paused.has(node)) return;
    this.paused.add(node);
    try {
      if (this.isRealWorker(node)) await workerCgroup(node).freeze();
      else this.procs.pauseNode(node);
    } catch (err) {
      await this.resume(vmid).catch(() => undefined);
      throw err;
    }
  }

  async resume(vmid: number): Promise<void> {
    const node = this.nodeOf(vmid);
    if (!this.paused.has(node)) return;
    if (this.isRealWorker(node)) workerCgroup(node).thaw();
    else this.procs.continueNode(node);
    this.paused.delete(node);
  }

  /** Power a node on with its existing data directories, processes in boot order. */
  async powerOn(node: string): Promise<void> {
    await setNodeLink(node, true);
    this.powered.add(node);
    if (this.isRealWorker(node)) return this.bootWorker(node);
    for (const spec of this.specs(node)) this.procs.start(spec);
  }

  /** A real worker boots like a machine: its mounts, the API load balancer and containerd, the images, then kubelet. */
  private async bootWorker(node: string): Promise<void> {
    const ctx = this.workerContext();
    await prepareWorker(node, ctx);
    const [apiLb, containerd, ...rest] = this.specs(node);
    this.procs.start(apiLb!);
    this.procs.start(containerd!);
    await waitContainerd(node, ctx);
    await importImages(node, ctx, this.config.workers.images);
    for (const spec of rest) this.procs.start(spec);
  }

  components(node: string) {
    return this.procs.components(node);
  }

  /** Cold start of the whole lab: etcd quorum first, then API servers, then everything else. */
  async bootAll(progress: (msg: string) => void): Promise<void> {
    const cps = controlPlaneNodes().map((n) => n.name);
    for (const node of cps) {
      await setNodeLink(node, true);
      this.powered.add(node);
      this.procs.start(this.specs(node)[0]!); // etcd
    }
    progress('etcd members started');
    const tls = { caFile: this.config.tls.etcdCa.cert, certFile: this.config.tls.etcdClient.cert, keyFile: this.config.tls.etcdClient.key };
    for (const node of cps) {
      await waitFor(`etcd on ${node}`, async () => (await httpsRequest(`https://${labNode(node).ip}:2379/health`, { ...tls, timeoutMs: 1000 })).status === 200, 60_000);
    }
    progress('etcd quorum healthy');
    for (const node of cps) this.procs.start(this.specs(node)[1]!); // kube-apiserver
    for (const node of cps) {
      await waitFor(
        `kube-apiserver on ${node}`,
        async () => (await httpsRequest(`https://${labNode(node).ip}:6443/readyz`, { caFile: this.config.tls.ca.cert, timeoutMs: 1000 })).status === 200,
        120_000,
      );
    }
    progress('API servers ready');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.config.adminKubeconfig);
    const direct = new k8s.KubeConfig();
    direct.loadFromOptions({
      clusters: [{ ...kc.getCurrentCluster()!, server: `https://${labNode('cp1').ip}:6443` }],
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    await registerNodes(direct);
    progress('nodes registered');
    const real = this.realWorkers();
    if (real.length) await routeWorkerPods(real);
    const nodes = Promise.all(kubeNodeNames.map((node) => this.powerOn(node))).then(() =>
      progress(
        real.length
          ? `controllers, kube-vip, kwok (control planes) started; real workers ${real.join(', ')}: containerd, images, kubelet, kube-proxy started`
          : 'controllers, kube-vip and kwok started',
      ),
    );
    // the add-ons do not wait for the nodes (a real worker's boot imports its images first); the VIP may not be
    // held yet, so they install through cp1's API server, as node registration does
    await Promise.all([nodes, this.bootGitops(direct, progress)]);
  }

  /** The git server, then ArgoCD and the MetalLB controller once their CRDs and config exist. */
  private async bootGitops(kc: k8s.KubeConfig, progress: (msg: string) => void): Promise<void> {
    const { gitops } = this.config;
    for (const dir of [gitopsPaths.redisData(), ...['tls', 'ssh', 'gnupg', 'tmp'].map((d) => `${gitopsPaths.argocdData()}/${d}`)]) {
      mkdirSync(dir, { recursive: true });
    }
    writeFileSync(gitopsPaths.redisConfig(), redisConfigText(labNode('addons').ip, gitopsPaths.redisData(), gitops.redisPassword), { mode: 0o600 });
    for (const spec of forgeProcesses(gitops.bin)) this.procs.start(spec);
    progress('git server started');
    await installAddonPrerequisites(kc, gitops.settings, gitops.webhookSecret);
    progress('ArgoCD and MetalLB CRDs, ArgoCD config, MetalLB pool installed');
    const specs = applyVariant(this.config.variant, addonsProcesses({ bin: gitops.bin, settings: gitops.settings, kubeconfig: this.config.adminKubeconfig, redisPassword: gitops.redisPassword }));
    for (const spec of specs) this.procs.start(spec);
    progress('redis, argocd-repo-server, argocd-application-controller, argocd-server, metallb-controller started');
  }

  async shutdownAll(): Promise<void> {
    // a frozen process takes no signal: thaw the frozen workers so each gets its SIGTERM (stopNode continues SIGSTOPped ones)
    for (const node of this.paused) if (this.isRealWorker(node)) workerCgroup(node).thaw();
    this.paused.clear();
    await this.procs.stopAll(5000);
    for (const node of this.realWorkers()) await powerOffWorker(node);
    this.powered.clear();
  }
}

/** Entry point of `clusterproof lab supervise` (started detached by `lab up`). */
export async function superviseLab(config: SupervisorConfig): Promise<void> {
  const supervisor = new LabSupervisor(config);
  const server = await startLabPveEndpoint({
    port: config.pve.port,
    cert: readFileSync(config.pve.certFile),
    key: readFileSync(config.pve.keyFile),
    tokenId: config.pve.tokenId,
    tokenSecret: config.pve.tokenSecret,
    backend: supervisor,
  });
  writeFileSync(labPaths.supervisorPid(), String(process.pid));
  writeFileSync(LAB_UP_MARKER, String(process.pid));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`supervisor: ${signal}, stopping the lab`);
    await supervisor.shutdownAll();
    await server.close();
    rmSync(LAB_UP_MARKER, { force: true });
    rmSync(labPaths.supervisorPid(), { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    const bootStart = performance.now();
    await supervisor.bootAll((msg) => console.log(`supervisor: [${((performance.now() - bootStart) / 1000).toFixed(1)} s] ${msg}`));
    writeFileSync(`${labPaths.supervisorPid()}.booted`, new Date().toISOString());
    console.log(`supervisor: lab booted, VIP ${labPlan.vip}`);
  } catch (err) {
    console.error(`supervisor: boot failed: ${(err as Error).message}`);
    await stop('boot failure');
  }
}
