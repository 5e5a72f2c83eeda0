/**
 * `lab up | down | status`: stands the lab up on this machine and takes it down leaving nothing behind.
 * The supervisor (a detached process) owns the node processes; this module prepares what it needs
 * (network, PKI, token, profile), starts it, and waits until the API answers through the VIP and every
 * node is Ready.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { UserError } from '../../core/errors.ts';
import { LAB_UP_MARKER } from '../../core/safety/destinations.ts';
import { httpsRequest } from '../../providers/https-json.ts';
import { requireRoot, requireTools } from '../../core/command.ts';
import { labRuntimeTools } from './prerequisites.ts';
import { networkDown, networkStatus, networkUp } from './network.ts';
import { labPaths, labStateDir } from '../../providers/lab/paths.ts';
import { killRecorded, procStartTime, type ProcessRecord } from './process-manager.ts';
import { acquireLabLock } from './lab-lock.ts';
import { labProfile, writeLabProfile } from './lab-profile.ts';
import { currentGitopsSettings, LAB_PVE_PORT, LAB_PVE_TOKEN_ID, LAB_SETTINGS, saveGitopsSettings, type LabGitopsSettings } from './lab-settings.ts';
import { labTlsFiles, ensureLabPki } from './tls-files.ts';
import { resolveLabBinaries } from './binaries.ts';
import { kubeNodeNames, labPlan } from '../../providers/lab/plan.ts';
import type { SupervisorConfig } from './supervisor.ts';
import { componentBinary, DEFAULT_KUBERNETES_VERSION, kubernetesBinary } from './build/index.ts';
import { writeNodeVersions } from '../../providers/lab/node-versions.ts';
import { ensureRedisPassword, ensureWebhookSecret, gitopsPaths, labGitops } from './addons/endpoints.ts';
import { checkAddonManifests, registerGitops } from './addons/objects.ts';
import { seedLabRepository } from './addons/repository.ts';
import { waitAppsConverged } from './addons/wait-apps.ts';
import { hasTool } from '../../core/command.ts';
import { currentVariant, LAB_VARIANTS, REAL_WORKER_VARIANTS, saveVariant, variantNodeLabels, type LabVariant } from './variants.ts';
import { currentWorkerMode, DEFAULT_WORKER_MODE, saveWorkerMode, WORKER_MODES, type WorkerMode } from './worker/worker-mode.ts';
import { removeWorker, resolveWorkerBinaries, unrouteWorkerPods } from './worker/worker-node.ts';
import { removeMountNamespaceDir } from './worker/mount-namespace.ts';
import { buildLabImages } from './images/lab-images.ts';
import { buildComponentImages, componentImageRef } from './images/component-images.ts';
import { installClusterDns } from './worker/cluster-dns.ts';
import { installSpeakers } from './worker/metallb-speaker.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Progress = (step: string) => void;

function supervisorPid(): number | undefined {
  try {
    const pid = Number(readFileSync(labPaths.supervisorPid(), 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function pveTokenFiles() {
  const dir = labStateDir();
  return { id: join(dir, 'pve-token-id'), secret: join(dir, 'pve-token-secret') };
}

function ensurePveToken(): { id: string; secret: string } {
  const files = pveTokenFiles();
  if (!existsSync(files.secret)) {
    writeFileSync(files.id, LAB_PVE_TOKEN_ID, { mode: 0o600 });
    writeFileSync(files.secret, randomUUID(), { mode: 0o600 });
  }
  return { id: readFileSync(files.id, 'utf8').trim(), secret: readFileSync(files.secret, 'utf8').trim() };
}

/**
 * Debian ships redis' server in redis-tools as redis-check-rdb, which runs as a server when invoked under the name
 * redis-server (what the redis-server package's symlink does); the lab makes that link in its state dir.
 */
function redisServerPath(): string {
  if (hasTool('redis-server')) return 'redis-server';
  const link = join(labStateDir(), 'bin', 'redis-server');
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync('/usr/bin/redis-check-rdb', link);
  }
  return link;
}

/** The webhook secret ArgoCD verifies and the one the git server signs with (wrong on purpose in one variant). */
function prepareWebhookSecrets(variant: LabVariant | undefined): void {
  ensureWebhookSecret();
  mkdirSync(dirname(gitopsPaths.forgeSigningSecret()), { recursive: true });
  if (variant === 'webhook-wrong-secret') writeFileSync(gitopsPaths.forgeSigningSecret(), `not-${randomUUID()}`, { mode: 0o600 });
  else copyFileSync(gitopsPaths.webhookSecret(), gitopsPaths.forgeSigningSecret());
}

const workerImagesFile = () => join(labStateDir(), 'worker-images.json');

/** Everything the supervisor needs, derived from the state dir: `lab supervise` recomputes it the same way. */
export async function supervisorConfig(): Promise<SupervisorConfig> {
  const tls = labTlsFiles(labPaths.pki());
  const token = ensurePveToken();
  const mode = currentWorkerMode();
  return {
    workers: {
      mode,
      bin: mode === 'real' ? resolveWorkerBinaries(resolveLabBinaries().clusterproof) : undefined,
      images: mode === 'real' ? JSON.parse(readFileSync(workerImagesFile(), 'utf8')) : [],
    },
    tls,
    bin: resolveLabBinaries(),
    settings: LAB_SETTINGS,
    adminKubeconfig: tls.adminKubeconfig,
    variant: currentVariant(),
    gitops: {
      bin: {
        argocd: componentBinary('argocd'),
        metallbController: componentBinary('metallb-controller'),
        kustomize: componentBinary('kustomize'),
        redisServer: redisServerPath(),
        clusterproof: resolveLabBinaries().clusterproof,
      },
      settings: currentGitopsSettings(),
      webhookSecret: ensureWebhookSecret(),
      redisPassword: ensureRedisPassword(),
    },
    pve: { port: LAB_PVE_PORT, tokenId: token.id, tokenSecret: token.secret, certFile: tls.pveServer.cert, keyFile: tls.pveServer.key },
  };
}

function adminKube(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(labTlsFiles(labPaths.pki()).adminKubeconfig);
  return kc;
}

async function readyNodes(kc: k8s.KubeConfig): Promise<string[]> {
  const nodes = (await kc.makeApiClient(k8s.CoreV1Api).listNode()).items;
  return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata!.name!);
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function supervisorAlive(): void {
  if (!supervisorPid()) throw new Error(`the lab supervisor exited during boot:\n${tail(join(labPaths.logs(), 'supervisor.log'))}`);
}

/** Wait until /readyz answers through the VIP. */
async function waitApi(progress: Progress, deadline: number): Promise<void> {
  const ca = labTlsFiles(labPaths.pki()).ca.cert;
  while (Date.now() < deadline) {
    supervisorAlive();
    const ok = await httpsRequest(`https://${labPlan.vip}:6443/readyz`, { caFile: ca, timeoutMs: 1000 }).then((r) => r.status === 200, () => false);
    if (ok) return progress(`API answers through the VIP ${labPlan.vip}`);
    await sleep(500);
  }
  throw new Error(`the API did not answer through the VIP ${labPlan.vip} in time\nsupervisor log:\n${tail(join(labPaths.logs(), 'supervisor.log'))}`);
}

/** Wait until all five nodes are Ready and the supervisor has started the add-ons. */
async function waitNodes(progress: Progress, deadline: number): Promise<void> {
  let lastReady = -1;
  while (Date.now() < deadline) {
    supervisorAlive();
    const ready = await readyNodes(adminKube()).catch(() => []);
    if (ready.length !== lastReady) progress(`${ready.length}/${kubeNodeNames.length} nodes Ready`);
    lastReady = ready.length;
    // the supervisor marks its boot done once the git server, ArgoCD and MetalLB are started
    if (ready.length === kubeNodeNames.length && existsSync(`${labPaths.supervisorPid()}.booted`)) return;
    await sleep(500);
  }
  throw new Error(
    `the lab did not become ready in time (nodes Ready: ${Math.max(lastReady, 0)}/5, add-ons started: ${existsSync(`${labPaths.supervisorPid()}.booted`)})\n` +
      `supervisor log:\n${tail(join(labPaths.logs(), 'supervisor.log'))}`,
  );
}

async function waitNamespace(name: string, deadline: number): Promise<void> {
  const core = adminKube().makeApiClient(k8s.CoreV1Api);
  while (Date.now() < deadline) {
    supervisorAlive();
    if (await core.readNamespace({ name }).then(() => true, () => false)) return;
    await sleep(500);
  }
  throw new Error(`namespace ${name} did not appear in time (the supervisor creates it with the add-ons)\nsupervisor log:\n${tail(join(labPaths.logs(), 'supervisor.log'))}`);
}

/** Healthy apps are not yet an announced address: wait until the guestbook answers from the host on the LB address. */
async function waitLoadBalancerAnswers(progress: Progress, deadline: number): Promise<void> {
  const url = `http://${labPlan.lbPool.split('/')[0]}/`;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    supervisorAlive();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return progress(`the guestbook answers from the host on ${url}`);
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`the guestbook did not answer on ${url} in time (last: ${last}); the MetalLB speakers' logs are in the workers' pod logs`);
}

/** Wait until /readyz answers through the VIP and all five nodes are Ready. */
async function waitReady(progress: Progress, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await waitApi(progress, deadline);
  await waitNodes(progress, deadline);
}

export interface LabUpResult {
  alreadyUp: boolean;
  seconds: number;
  profile: string;
}

export interface LabUpOptions {
  variant?: LabVariant;
  /** ArgoCD's poll interval and jitter; upstream defaults when absent */
  gitops?: Partial<LabGitopsSettings>;
  /** real kubelets on the workers (default) or kwok */
  workers?: WorkerMode;
  /** the Kubernetes release every node boots (built by `lab build --kubernetes`); default: the lab build's own */
  kubernetes?: string;
}

export async function labUp(progress: Progress = () => undefined, opts: LabUpOptions = {}): Promise<LabUpResult> {
  const started = performance.now();
  requireRoot('clusterproof lab up');
  requireTools(...labRuntimeTools());
  const bin = resolveLabBinaries(); // fails early, naming `clusterproof lab build`
  componentBinary('argocd');
  componentBinary('metallb-controller');
  componentBinary('kustomize');
  const workers = opts.workers ?? DEFAULT_WORKER_MODE;
  const kubernetes = opts.kubernetes && opts.kubernetes !== DEFAULT_KUBERNETES_VERSION ? opts.kubernetes : undefined;
  if (kubernetes) {
    for (const b of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy']) kubernetesBinary(b, kubernetes);
  }
  if (opts.variant && REAL_WORKER_VARIANTS.includes(opts.variant) && workers !== 'real') {
    throw new UserError(`variant ${opts.variant} breaks a data-plane property: start it with real workers (lab up --variant ${opts.variant} --workers real)`);
  }
  if (workers === 'real') {
    resolveWorkerBinaries(bin.clusterproof);
    componentBinary('coredns');
    componentBinary('metallb-speaker');
  }
  checkAddonManifests();
  mkdirSync(labStateDir(), { recursive: true });
  const release = acquireLabLock(labPaths.lock(), 'lab up');
  try {
    if (supervisorPid() && existsSync(labPaths.profile()) && currentWorkerMode() !== workers) {
      throw new UserError(`the lab is running with ${currentWorkerMode()} workers; take it down first (clusterproof lab down) to start it with ${workers} workers`);
    }
    if (supervisorPid() && existsSync(labPaths.profile()) && currentVariant() !== opts.variant) {
      throw new UserError(
        `the lab is running ${currentVariant() ? `variant ${currentVariant()}` : 'without a variant'}; take it down first (clusterproof lab down) to start ${opts.variant ? `variant ${opts.variant}` : 'the normal lab'}`,
      );
    }
    if (supervisorPid() && existsSync(labPaths.profile())) {
      progress('the lab is already running: checking it is ready');
      await waitReady(progress, 120_000);
      return { alreadyUp: true, seconds: (performance.now() - started) / 1000, profile: labPaths.profile() };
    }
    // a previous lab that died without `lab down`: clear it first so this one starts clean
    await teardown(() => undefined);
    progress('network: bridge, 7 namespaces, guard routes');
    await networkUp();
    progress('PKI: CA, etcd, API server, component certificates and kubeconfigs');
    await ensureLabPki(labPaths.pki());
    ensurePveToken();
    saveVariant(opts.variant);
    writeNodeVersions(kubernetes ? Object.fromEntries(kubeNodeNames.map((n) => [n, kubernetes])) : {});
    progress(`Kubernetes ${kubernetes ?? DEFAULT_KUBERNETES_VERSION} on every node`);
    if (opts.variant) progress(`variant ${opts.variant}: ${LAB_VARIANTS[opts.variant]}`);
    saveWorkerMode(workers);
    progress(`workers: ${workers} (${WORKER_MODES[workers]})`);
    if (workers === 'real') {
      const images = [...(await buildLabImages((line) => progress(`images: ${line}`))), ...(await buildComponentImages())];
      writeFileSync(workerImagesFile(), JSON.stringify(images.map(({ ref, archive, manifestDigest }) => ({ ref, archive, manifestDigest }))));
      progress(`images: ${images.map((i) => `${i.ref}${i.cached ? ' (cached)' : ''}`).join(', ')}`);
    }
    const gitops = saveGitopsSettings(opts.gitops ?? {});
    prepareWebhookSecrets(opts.variant);
    const seeded = await seedLabRepository({ autoSyncOff: opts.variant === 'gitops-autosync-off' });
    progress(`git server repository seeded at ${seeded.head.slice(0, 12)}; ArgoCD polls every ${gitops.pollSeconds} s (+ up to ${gitops.pollJitterSeconds} s jitter)`);
    const tls = labTlsFiles(labPaths.pki());
    const profilePath = labPaths.profile();
    mkdirSync(labPaths.logs(), { recursive: true });
    progress(
      `supervisor: starting etcd x3, kube-apiserver x3, controller-manager x3, scheduler x3, vip-agent x3, ${workers === 'real' ? 'kwok x3, real workers w1 w2' : 'kwok x5'} (${bin.etcd.split('/').slice(-2, -1)[0]}), then the git server, ArgoCD and MetalLB`,
    );
    const log = openSync(join(labPaths.logs(), 'supervisor.log'), 'a');
    const child = spawn(process.execPath, [join(root, 'bin/clusterproof.mjs'), 'lab', 'supervise'], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: root,
      env: process.env,
    });
    child.unref();
    for (let i = 0; i < 50 && !supervisorPid(); i++) await sleep(100);
    const deadline = Date.now() + 240_000;
    await waitApi(progress, deadline);
    for (const { node, labels } of variantNodeLabels(opts.variant)) {
      await adminKube().makeApiClient(k8s.CoreV1Api).patchNode({ name: node, body: { metadata: { labels } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      progress(`variant ${opts.variant}: node ${node} labelled ${Object.keys(labels).join(', ')}`);
    }
    // applied while the workers boot (their pods are scheduled once the nodes are Ready); the speakers go into the
    // MetalLB namespace the supervisor creates with the add-ons
    const dataPlaneAddons =
      workers === 'real'
        ? (async () => {
            progress('real workers: CoreDNS (kube-dns 198.18.128.10)');
            await installClusterDns(adminKube(), componentImageRef('coredns'));
            await waitNamespace(labGitops.metallbNamespace, deadline);
            await installSpeakers(adminKube(), componentImageRef('metallb-speaker'));
            progress('real workers: the MetalLB speaker DaemonSet');
          })()
        : Promise.resolve();
    await Promise.all([waitNodes(progress, deadline), dataPlaneAddons]);
    progress('registering the gitops repository with ArgoCD (AppProjects, app of apps)');
    await registerGitops(adminKube());
    await waitAppsConverged(adminKube(), progress, 240_000, { expectAutoSync: opts.variant !== 'gitops-autosync-off' });
    if (workers === 'real') await waitLoadBalancerAnswers(progress, Date.now() + 60_000);
    writeLabProfile(
      profilePath,
      labProfile(
        {
          adminKubeconfig: tls.adminKubeconfig,
          ca: tls.ca.cert,
          etcdCa: tls.etcdCa.cert,
          etcdClientCert: tls.etcdClient.cert,
          etcdClientKey: tls.etcdClient.key,
          pveTokenIdFile: pveTokenFiles().id,
          pveTokenSecretFile: pveTokenFiles().secret,
        },
        LAB_SETTINGS,
        gitops,
        profilePath,
        workers,
      ),
    );
    progress(`lab up: profile written to ${profilePath}`);
    return { alreadyUp: false, seconds: (performance.now() - started) / 1000, profile: profilePath };
  } catch (err) {
    // nothing is left half-done: a failed up is torn down, with the reason kept
    progress(`lab up failed; tearing down what was started`);
    await teardown(() => undefined).catch(() => undefined);
    throw err instanceof UserError ? err : new UserError(`lab up failed: ${(err as Error).message}\n  logs kept in ${labPaths.logs()}`, 1);
  } finally {
    release();
  }
}

async function teardown(progress: Progress): Promise<string[]> {
  const done: string[] = [];
  const pid = supervisorPid();
  if (pid) {
    progress(`stopping the supervisor (pid ${pid}) and every node process`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 300 && supervisorPid(); i++) await sleep(100);
    if (supervisorPid()) process.kill(pid, 'SIGKILL');
    done.push(`supervisor ${pid} stopped`);
  }
  const killed = killRecorded(labPaths.processes());
  if (killed) done.push(`${killed} orphaned node process(es) killed`);
  // real workers (or what a crashed supervisor left of them): every process in their cgroups, their mounts, cgroups
  progress('removing real workers: processes, mount namespaces, cgroups, pod routes');
  const workerNodes = labPlan.nodes.filter((n) => n.role === 'worker');
  for (const w of workerNodes) done.push(...(await removeWorker(w)));
  done.push(...(await unrouteWorkerPods(workerNodes)));
  done.push(...(await removeMountNamespaceDir()));
  progress('removing namespaces, links and routes');
  const net = await networkDown();
  done.push(...net.removed);
  for (const p of [LAB_UP_MARKER, labPaths.supervisorPid(), `${labPaths.supervisorPid()}.booted`, labPaths.processes(), labPaths.profile(), labPaths.nodeVersions()]) {
    rmSync(p, { force: true });
  }
  rmSync(labPaths.data(), { recursive: true, force: true });
  // the git server's repository lives and dies with the lab: the next lab starts from the seed again
  rmSync(dirname(gitopsPaths.repos()), { recursive: true, force: true });
  saveVariant(undefined);
  saveWorkerMode(undefined);
  rmSync(workerImagesFile(), { force: true });
  return done;
}

export async function labDown(progress: Progress = () => undefined): Promise<{ removed: string[]; seconds: number }> {
  const started = performance.now();
  requireRoot('clusterproof lab down');
  mkdirSync(labStateDir(), { recursive: true });
  const release = acquireLabLock(labPaths.lock(), 'lab down');
  try {
    const removed = await teardown(progress);
    return { removed, seconds: (performance.now() - started) / 1000 };
  } finally {
    release();
  }
}

export function runningProcesses(): ProcessRecord[] {
  try {
    const records = JSON.parse(readFileSync(labPaths.processes(), 'utf8')) as ProcessRecord[];
    return records.filter((r) => r.startTime && procStartTime(r.pid) === r.startTime);
  } catch {
    return [];
  }
}

export { networkStatus };
