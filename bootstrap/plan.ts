/**
 * `clusterproof bootstrap` as an ordered plan: each step says what it does, lists the Proxmox API calls, talosctl /
 * helm / kubectl commands and manifests it will use, and carries the function that does it. The dry run prints
 * the plan and nothing else; a real run executes the steps in order and stops at the first failure (every step is
 * idempotent, so a rerun picks up where it stopped).
 *
 * Lint runs first: a profile with topology errors (the VIP inside a MetalLB pool, ...) is never planned.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PveClusterResource } from '../providers/proxmox/api-types.ts';
import type { ProxmoxClient } from '../providers/proxmox/client.ts';
import { ExitCode, UserError } from '../core/errors.ts';
import { lintProfile } from '../core/lint/lint.ts';
import { lintReport, renderLintText } from '../core/lint/render.ts';
import type { LoadedProfile } from '../core/profile/load.ts';
import { resolveSecret } from '../core/profile/secrets.ts';
import { assertDestination } from '../core/safety/destinations.ts';
import {
  argocdCommands,
  argocdConfigPatches,
  argocdManifestUrl,
  ciliumInstallCommand,
  ciliumValues,
  gitopsCommands,
  metallbCommands,
  metallbManifestUrl,
  metallbPoolManifests,
  repositorySecret,
} from './addons/addons.ts';
import { bootstrapSettings, isoVolid, outputFiles, type BootstrapNode, type BootstrapSettings, type OutputFiles } from './config.ts';
import { childApplications, PLACEHOLDER_REPO, projectManifests, renderRepository, rootApplication, toYaml } from './gitops/argocd.ts';
import { desiredVm, formatParams } from './proxmox/vm-config.ts';
import { destroyVm, discoverAddress, ensureIso, listVms, ownedVm, reconcileVm, selectForDestroy, startVm, type VmOutcome } from './proxmox/vms.ts';
import {
  applyInsecureCommand,
  bootstrapCommand,
  configuredProbeCommand,
  etcdMembersCommand,
  genConfigCommand,
  genSecretsCommand,
  healthCommand,
  HealthTracker,
  kubeconfigCommand,
  nodeConfigCommand,
  patchAll,
  patchNode,
  talosconfigCommands,
  validateCommand,
  yamlOf,
  type TalosCommand,
} from './talos/configs.ts';
import { commandLine, type ToolResult, type ToolRunner } from './tools.ts';

export type Layer = 'proxmox' | 'talos' | 'addons';

export interface PlannedAction {
  /** api: a Proxmox API call; run: a talosctl/helm/kubectl command; file: a file written; wait: a condition polled */
  kind: 'api' | 'run' | 'file' | 'wait';
  text: string;
  /** the file's or manifest's content, shown by the dry run */
  body?: string;
}

export interface PlanStep {
  id: string;
  layer: Layer;
  title: string;
  description: string;
  actions: PlannedAction[];
  execute(ctx: StepContext): Promise<void>;
}

export interface BootstrapDeps {
  /** the Proxmox client, built on first use (the dry run never builds it, so it needs no token) */
  proxmox: () => ProxmoxClient;
  tools: ToolRunner;
  log: (line: string) => void;
  /** asked before anything is destroyed; false cancels */
  confirm: (question: string) => Promise<boolean>;
  /** permit node/VIP addresses outside loopback and the lab (a run against a real homelab profile) */
  allowRemote: boolean;
  /** for tests: shorter waits */
  timing?: Partial<Timing>;
}

export interface Timing {
  taskTimeoutMs: number;
  downloadTimeoutMs: number;
  agentTimeoutMs: number;
  agentPollMs: number;
  /** a node reboots into its installed config: how long until talosctl reaches it authenticated */
  nodeReadyTimeoutMs: number;
  /** the Kubernetes API answering /readyz through the VIP after etcd was bootstrapped */
  apiReadyTimeoutMs: number;
  pollMs: number;
}

const DEFAULT_TIMING: Timing = {
  taskTimeoutMs: 5 * 60_000,
  downloadTimeoutMs: 20 * 60_000,
  agentTimeoutMs: 5 * 60_000,
  agentPollMs: 5000,
  nodeReadyTimeoutMs: 15 * 60_000,
  apiReadyTimeoutMs: 15 * 60_000,
  pollMs: 10_000,
};

/** What steps learn and later steps use. */
export interface RunState {
  vms?: PveClusterResource[];
  outcomes: VmOutcome[];
  /** node name -> where its Talos API answers now (maintenance-mode DHCP address, or its own once configured) */
  addresses: Map<string, string>;
}

export interface StepContext {
  deps: BootstrapDeps;
  state: RunState;
  timing: Timing;
  log: (line: string) => void;
}

export interface BootstrapPlan {
  mode: 'create' | 'destroy';
  loaded: LoadedProfile;
  settings: BootstrapSettings;
  files: OutputFiles;
  /** lint warnings (errors stop planning) */
  lintWarnings: number;
  steps: PlanStep[];
}

/** Lint found errors: nothing is planned. The message is lint's own, with why and fix for each error. */
export class BootstrapLintError extends UserError {
  constructor(text: string, readonly errors: number) {
    super(
      `bootstrap stopped before planning anything: the profile has ${errors} topology error(s).\n\n${text}`,
      ExitCode.checkFailed,
    );
    this.name = 'BootstrapLintError';
  }
}

// ----------------------------------------------------------------------------------------------------------------

export interface PlanOptions {
  destroy?: boolean;
  /** disaster recovery: bootstrap etcd from this snapshot (talosctl etcd snapshot) instead of empty */
  recoverFrom?: string;
  /** the snapshot is a db file copied from a node's disk, not a `talosctl etcd snapshot` */
  recoverSkipHashCheck?: boolean;
}

/** Lint, then the ordered plan. Pure: reads the profile only (no secret, no network). */
export function planBootstrap(loaded: LoadedProfile, opts: PlanOptions = {}, profileLabel = loaded.path): BootstrapPlan {
  const findings = lintProfile(loaded.profile);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    throw new BootstrapLintError(renderLintText(lintReport(profileLabel, errors)), errors.length);
  }
  const settings = bootstrapSettings(loaded.profile, loaded.dir);
  const files = outputFiles(settings);
  const recover = opts.recoverFrom ? { from: resolvePath(opts.recoverFrom), skipHashCheck: opts.recoverSkipHashCheck } : undefined;
  if (opts.destroy && recover) throw new UserError('--destroy and --recover-from exclude each other');
  const steps = opts.destroy ? destroySteps(settings) : [...proxmoxSteps(settings), ...talosAndAddonSteps(settings, files, recover)];
  return { mode: opts.destroy ? 'destroy' : 'create', loaded, settings, files, lintWarnings: findings.length - errors.length, steps };
}

// ---------------------------------------------------------------------------------------------------- proxmox ---

const api = (text: string, body?: string): PlannedAction => ({ kind: 'api', text, body });
const runAction = (c: TalosCommand): PlannedAction => ({ kind: 'run', text: commandLine(c.tool, c.args) });
const fileAction = (path: string, body: string): PlannedAction => ({ kind: 'file', text: path, body });
const waitAction = (text: string): PlannedAction => ({ kind: 'wait', text });

function proxmoxOptions(ctx: StepContext) {
  return { log: ctx.log, ...ctx.timing };
}

function accessStep(settings: BootstrapSettings, mode: 'create' | 'destroy'): PlanStep {
  const px = settings.profile.access.proxmox;
  return {
    id: 'proxmox/access',
    layer: 'proxmox',
    title: 'Check the API token and which VMs exist',
    description:
      `API token ${px ? refText(px.tokenId) : '(access.proxmox missing)'} against ${px?.url ?? '?'}, the cluster CA pinned ` +
      `from ${px?.caFile ?? 'access.proxmox.caFile (not set)'} (--insecure only with a loud warning). Each node's VM id must be free or hold a VM ` +
      `named like the node and tagged for clusterproof; anything else stops the run before any change.`,
    actions: [api('GET /version'), api('GET /cluster/resources type=vm')],
    async execute(ctx) {
      if (settings.blockers.length) throw new UserError(`bootstrap cannot run:\n${settings.blockers.map((b) => `  - ${b}`).join('\n')}`);
      const client = ctx.deps.proxmox();
      const version = await client.version();
      ctx.log(`Proxmox VE ${version.version} (release ${version.release})`);
      ctx.state.vms = await listVms(client);
      // creating: a VM id held by a VM clusterproof does not manage stops the run here, before any change
      // (destroying: such VMs are skipped, never touched)
      if (mode === 'create') for (const node of settings.nodes) ownedVm(node, ctx.state.vms);
      const existing = settings.nodes.filter((n) => ctx.state.vms!.some((v) => v.vmid === n.vmid));
      ctx.log(`${existing.length} of ${settings.nodes.length} VMs exist already${existing.length ? `: ${existing.map((n) => n.name).join(', ')}` : ''}`);
    },
  };
}

/** Where a secret comes from, never its value. */
function refText(ref: { env?: string; file?: string }): string {
  return ref.env ? `from $${ref.env}` : `from file ${ref.file}`;
}

function proxmoxSteps(settings: BootstrapSettings): PlanStep[] {
  const px = settings.spec.proxmox;
  const pveNodes = [...new Set(settings.nodes.map((n) => n.pveNode))];
  const steps: PlanStep[] = [accessStep(settings, 'create')];
  steps.push({
    id: 'proxmox/iso',
    layer: 'proxmox',
    title: `Talos ${settings.spec.talos.version} ISO on storage ${px.isoStorage}`,
    description:
      `The Image Factory ISO with the qemu-guest-agent extension (schematic ${settings.spec.talos.schematicId}), downloaded by ` +
      `Proxmox itself unless ${isoVolid(settings)} is there already; the download task is polled to its end.`,
    actions: pveNodes.flatMap((node) => [
      api(`GET /nodes/${node}/storage/${px.isoStorage}/content content=iso`),
      api(`POST /nodes/${node}/storage/${px.isoStorage}/download-url ${formatParams({ url: settings.isoUrl, filename: settings.isoFile, content: 'iso' })}  (only if absent)`),
      api(`GET /nodes/${node}/tasks/{upid}/status  (until stopped; exitstatus must be OK)`),
    ]),
    execute: (ctx) => ensureIso(ctx.deps.proxmox(), settings, proxmoxOptions(ctx)),
  });
  for (const node of settings.nodes) steps.push(vmStep(node, settings));
  steps.push({
    id: 'proxmox/start',
    layer: 'proxmox',
    title: 'Start the VMs',
    description: 'Each stopped VM is started (a running one is left running); the start task is polled to its end.',
    actions: settings.nodes.flatMap((n) => [
      api(`GET /nodes/${n.pveNode}/qemu/${n.vmid}/status/current`),
      api(`POST /nodes/${n.pveNode}/qemu/${n.vmid}/status/start  (if stopped)`),
    ]),
    async execute(ctx) {
      for (const node of settings.nodes) await startVm(ctx.deps.proxmox(), node, proxmoxOptions(ctx));
    },
  });
  steps.push({
    id: 'proxmox/addresses',
    layer: 'proxmox',
    title: 'Find where each node answers',
    description:
      `The QEMU guest agent reports the node's IPv4 address in ${settings.profile.network.subnet}: the profile's once Talos is ` +
      `installed, else the DHCP address of the maintenance-mode ISO, to which the first config is applied.`,
    actions: settings.nodes.map((n) => api(`GET /nodes/${n.pveNode}/qemu/${n.vmid}/agent/network-get-interfaces  (until an address in ${settings.profile.network.subnet})`)),
    async execute(ctx) {
      for (const node of settings.nodes) {
        const address = await discoverAddress(ctx.deps.proxmox(), node, settings.profile.network.subnet, proxmoxOptions(ctx));
        ctx.state.addresses.set(node.name, address);
        ctx.log(`${node.name}: Talos API at ${address}${address === node.ip ? '' : ' (maintenance mode, DHCP)'}`);
      }
    },
  });
  return steps;
}

function vmStep(node: BootstrapNode, settings: BootstrapSettings): PlanStep {
  const desired = desiredVm(node, settings);
  const base = `/nodes/${node.pveNode}/qemu`;
  return {
    id: `proxmox/vm/${node.name}`,
    layer: 'proxmox',
    title: `VM ${node.vmid} ${node.name} (${node.role}, ${node.cores} cores, ${node.memoryMiB} MiB, ${node.diskGiB} GiB)`,
    description:
      `Created when VM ${node.vmid} does not exist; adopted when it exists with the name ${node.name} and the tag ${node.tag}, ` +
      `and then only the keys that differ are changed (tags merged, MAC kept, disk grown never shrunk); refused otherwise.`,
    actions: [
      api(`GET /cluster/nextid vmid=${node.vmid}  (if absent: asserts the id is free)`),
      api(`POST ${base} ${formatParams({ vmid: node.vmid, ...desired })}  (if absent)`),
      api(`GET ${base}/${node.vmid}/config  (if present)`),
      api(`POST ${base}/${node.vmid}/config <only the keys that differ> digest=<current>  (if present and different)`),
      api(`PUT ${base}/${node.vmid}/resize disk=scsi0 size=${node.diskGiB}G  (if present and smaller)`),
      api(`GET /nodes/${node.pveNode}/tasks/{upid}/status  (each task until stopped; exitstatus must be OK)`),
    ],
    async execute(ctx) {
      const outcome = await reconcileVm(ctx.deps.proxmox(), node, settings, ctx.state.vms ?? (await listVms(ctx.deps.proxmox())), proxmoxOptions(ctx));
      ctx.state.outcomes.push(outcome);
    },
  };
}

function destroySteps(settings: BootstrapSettings): PlanStep[] {
  return [
    accessStep(settings, 'destroy'),
    {
      id: 'proxmox/destroy',
      layer: 'proxmox',
      title: 'Destroy the cluster VMs (after confirmation)',
      description:
        `Only VMs of this profile that carry their tag (${[...new Set(settings.nodes.map((n) => n.tag))].join(', ')}) and the ` +
        `node's name; every other VM is left alone. Each is hard-stopped if running, then deleted with its disks.`,
      actions: settings.nodes.flatMap((n) => [
        api(`POST /nodes/${n.pveNode}/qemu/${n.vmid}/status/stop  (if running and tagged ${n.tag})`),
        api(`DELETE /nodes/${n.pveNode}/qemu/${n.vmid} purge=1 destroy-unreferenced-disks=1  (if tagged ${n.tag})`),
      ]),
      async execute(ctx) {
        const client = ctx.deps.proxmox();
        const vms = ctx.state.vms ?? (await listVms(client));
        const { owned, skipped } = selectForDestroy(settings, vms);
        for (const s of skipped) ctx.log(`skip: ${s}`);
        if (owned.length === 0) {
          ctx.log('nothing to destroy');
          return;
        }
        const list = owned.map((c) => `  VM ${c.node.vmid} ${c.node.name} on ${c.node.pveNode} (${c.vm.status ?? 'unknown'})`).join('\n');
        const ok = await ctx.deps.confirm(`Destroy these ${owned.length} VM(s) and their disks? This cannot be undone.\n${list}`);
        if (!ok) throw new UserError('destroy cancelled: nothing was changed', ExitCode.checkFailed);
        for (const c of owned) await destroyVm(client, c, proxmoxOptions(ctx));
      },
    },
  ];
}

// ------------------------------------------------------------------------------------------------ talos/addons ---

function write(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode });
}

async function runTool(ctx: StepContext, c: TalosCommand, opts: { env?: Record<string, string>; allowFail?: boolean; onLine?: (l: string) => void } = {}): Promise<ToolResult> {
  ctx.log(`$ ${commandLine(c.tool, c.args)}`);
  const res = await ctx.deps.tools.run(c.tool, c.args, { env: opts.env, onLine: opts.onLine });
  if (res.code !== 0 && !opts.allowFail) {
    const out = `${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-12).map((l) => `    ${l}`).join('\n');
    throw new UserError(`${c.tool} ${c.args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')} failed (exit ${res.code}):\n${out}`, ExitCode.checkFailed);
  }
  return res;
}

async function pollUntil(ctx: StepContext, what: string, timeoutMs: number, attempt: () => Promise<string | true>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result === true) return;
    if (performance.now() > deadline) throw new UserError(`${what}: still not the case after ${Math.round(timeoutMs / 1000)} s (${result})`, ExitCode.checkFailed);
    await sleep(ctx.timing.pollMs);
  }
}

function guard(ctx: StepContext, hosts: string[]): void {
  for (const h of hosts) assertDestination(h, { allowRemote: ctx.deps.allowRemote });
}

function talosAndAddonSteps(settings: BootstrapSettings, files: OutputFiles, recover?: { from: string; skipHashCheck?: boolean }): PlanStep[] {
  const first = settings.controlPlanes[0];
  const allIps = settings.nodes.map((n) => n.ip);
  const patchAllYaml = yamlOf(patchAll(settings));
  const nodePatches = settings.nodes.map((n) => ({ node: n, yaml: yamlOf(patchNode(n, settings)) }));
  const gitops = settings.profile.gitops;
  const target = gitops ? { repoURL: gitops.repo, branch: gitops.branch } : undefined;

  const steps: PlanStep[] = [];
  steps.push({
    id: 'talos/secrets',
    layer: 'talos',
    title: 'Cluster secrets',
    description: `The cluster's CAs, keys and tokens, generated once into ${files.secrets} and never overwritten (back this file up).`,
    actions: [runAction(genSecretsCommand(files))],
    async execute(ctx) {
      if (existsSync(files.secrets)) {
        ctx.log(`${files.secrets} exists: kept`);
        return;
      }
      mkdirSync(files.talosDir, { recursive: true, mode: 0o700 });
      await runTool(ctx, genSecretsCommand(files));
    },
  });

  steps.push({
    id: 'talos/configs',
    layer: 'talos',
    title: 'Machine configs, validated',
    description:
      `talosctl generates the control-plane and worker configs for ${settings.endpoint} with patches: no CNI and kube-proxy ` +
      `disabled (Cilium replaces both), install disk ${settings.spec.talos.installDisk} and installer ${settings.installerImage}; ` +
      `each node gets its hostname, static address and, on control planes, the VIP ${settings.vip} on the same interface. ` +
      `Every node's config must pass talosctl validate --mode metal --strict.`,
    actions: [
      fileAction(files.patchAll, patchAllYaml),
      ...nodePatches.map((p) => fileAction(files.patchNode(p.node.name), p.yaml)),
      runAction(genConfigCommand(settings, files)),
      ...settings.nodes.flatMap((n) => [runAction(nodeConfigCommand(n, files)), runAction(validateCommand(n, files))]),
      ...talosconfigCommands(settings, files).map(runAction),
    ],
    async execute(ctx) {
      write(files.patchAll, patchAllYaml);
      for (const p of nodePatches) write(files.patchNode(p.node.name), p.yaml);
      await runTool(ctx, genConfigCommand(settings, files));
      for (const n of settings.nodes) {
        await runTool(ctx, nodeConfigCommand(n, files));
        await runTool(ctx, validateCommand(n, files));
      }
      for (const c of talosconfigCommands(settings, files)) await runTool(ctx, c);
    },
  });

  steps.push({
    id: 'talos/apply',
    layer: 'talos',
    title: 'Apply each node its config',
    description:
      'A node already running this cluster\'s config (talosctl reaches it authenticated) is left as it is. Otherwise the ' +
      'config goes to the maintenance-mode node with --insecure, as Talos requires before a node has its PKI; the node ' +
      'installs to disk, reboots, and is waited for at its own address.',
    actions: settings.nodes.flatMap((n) => [
      runAction(configuredProbeCommand(n, files)),
      runAction(applyInsecureCommand(n, '<maintenance address>', files)),
      waitAction(`${n.name} answers at ${n.ip} with the cluster's talosconfig`),
    ]),
    async execute(ctx) {
      guard(ctx, allIps);
      const talosconfig = { TALOSCONFIG: files.talosconfig };
      const applied: BootstrapNode[] = [];
      for (const n of settings.nodes) {
        const probe = await runTool(ctx, configuredProbeCommand(n, files), { env: talosconfig, allowFail: true });
        if (probe.code === 0) {
          ctx.log(`${n.name}: already configured; configs of running nodes are not re-applied (use talosctl apply-config -n ${n.ip} -f ${files.nodeConfig(n.name)})`);
          continue;
        }
        const address = ctx.state.addresses.get(n.name);
        if (!address) throw new UserError(`${n.name}: no maintenance-mode address known (the proxmox/addresses step did not run)`);
        guard(ctx, [address]);
        await runTool(ctx, applyInsecureCommand(n, address, files));
        applied.push(n);
      }
      for (const n of applied) {
        await pollUntil(ctx, `${n.name} reachable at ${n.ip} after installing`, ctx.timing.nodeReadyTimeoutMs, async () => {
          const r = await ctx.deps.tools.run('talosctl', configuredProbeCommand(n, files).args, { env: talosconfig });
          return r.code === 0 ? true : (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`;
        });
        ctx.log(`${n.name}: installed and up at ${n.ip}`);
      }
    },
  });

  steps.push({
    id: 'talos/bootstrap',
    layer: 'talos',
    title: recover ? `Recover etcd on ${first?.name ?? 'the first control plane'} from ${recover.from}` : `Bootstrap etcd on ${first?.name ?? 'the first control plane'}`,
    description: recover
      ? 'Disaster recovery: etcd starts from the snapshot instead of empty (talosctl bootstrap --recover-from), once, on the ' +
        'first control-plane node. Refused when etcd already has members: recovering next to a running etcd would fork ' +
        'the cluster (reset the control planes\' EPHEMERAL partition first, see docs/homelab-runbook.md).'
      : 'Once, on the first control-plane node only; skipped when etcd already has members.',
    actions: first ? [runAction(etcdMembersCommand(first, files)), runAction(bootstrapCommand(first, files, recover))] : [],
    async execute(ctx) {
      guard(ctx, [first.ip]);
      if (recover && !existsSync(recover.from)) throw new UserError(`--recover-from: ${recover.from} does not exist`);
      const members = await runTool(ctx, etcdMembersCommand(first, files), { allowFail: true });
      const hasMembers = members.code === 0 && members.stdout.trim().split('\n').length > 1;
      if (hasMembers && recover) {
        throw new UserError(
          `etcd on ${first.ip} already has members: recovering from ${recover.from} now would start a second, diverging etcd. ` +
            'Reset the control planes first: talosctl -n <each control plane> reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL',
        );
      }
      if (hasMembers) {
        ctx.log('etcd has members already: not bootstrapped again');
        return;
      }
      const res = await runTool(ctx, bootstrapCommand(first, files, recover), { allowFail: true });
      if (res.code !== 0 && (recover || !/AlreadyExists/i.test(res.stderr + res.stdout))) {
        throw new UserError(`talosctl bootstrap on ${first.ip} failed (exit ${res.code}): ${(res.stderr || res.stdout).trim()}`, ExitCode.checkFailed);
      }
    },
  });

  steps.push({
    id: 'talos/kubeconfig',
    layer: 'talos',
    title: 'Kubeconfig, and the API answering through the VIP',
    description: `Admin kubeconfig written to ${files.kubeconfig}; then /readyz through ${settings.endpoint} is polled (the VIP comes up once etcd runs).`,
    actions: first
      ? [runAction(kubeconfigCommand(first, files)), runAction({ tool: 'kubectl', args: ['--kubeconfig', files.kubeconfig, 'get', '--raw', '/readyz'] })]
      : [],
    async execute(ctx) {
      guard(ctx, [first.ip, settings.vip]);
      await runTool(ctx, kubeconfigCommand(first, files));
      await pollUntil(ctx, `the Kubernetes API at ${settings.endpoint} ready`, ctx.timing.apiReadyTimeoutMs, async () => {
        const r = await ctx.deps.tools.run('kubectl', ['--kubeconfig', files.kubeconfig, 'get', '--raw', '/readyz']);
        return r.code === 0 ? true : (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`;
      });
    },
  });

  const ciliumYaml = yamlOf(ciliumValues());
  steps.push({
    id: 'addons/cilium',
    layer: 'addons',
    title: `Cilium ${settings.spec.addons.ciliumVersion}`,
    description:
      'Helm release with the Talos values: kube-proxy replacement, the API through KubePrism on localhost:7445, cgroup v2 ' +
      'mounted by Talos (autoMount off, hostRoot /sys/fs/cgroup), agent capabilities without SYS_MODULE. Nodes turn Ready ' +
      'once it runs (until then Talos waits at "node not ready").',
    actions: [fileAction(files.ciliumValues, ciliumYaml), runAction(ciliumInstallCommand(settings, files))],
    async execute(ctx) {
      write(files.ciliumValues, ciliumYaml);
      await runTool(ctx, ciliumInstallCommand(settings, files));
    },
  });

  steps.push({
    id: 'talos/health',
    layer: 'talos',
    title: 'Cluster health',
    description: 'talosctl health until every check passes; on failure the check that is failing is named, with its last message.',
    actions: first ? [runAction(healthCommand(settings, files))] : [],
    async execute(ctx) {
      guard(ctx, allIps);
      const tracker = new HealthTracker();
      const c = healthCommand(settings, files);
      ctx.log(`$ ${commandLine(c.tool, c.args)}`);
      const res = await ctx.deps.tools.run(c.tool, c.args, { onLine: (l) => tracker.line(l) });
      if (res.code !== 0) {
        // the runner may not stream: judge the whole output too
        if (!tracker.failing) for (const l of `${res.stderr}\n${res.stdout}`.split('\n')) tracker.line(l);
        throw new UserError(tracker.describe(`${res.stderr}\n${res.stdout}`), ExitCode.checkFailed);
      }
      ctx.log(`healthy: ${tracker.passed.length} checks passed`);
    },
  });

  const poolYaml = toYaml(metallbPoolManifests(settings));
  steps.push({
    id: 'addons/metallb',
    layer: 'addons',
    title: `MetalLB ${settings.spec.addons.metallbVersion}`,
    description:
      `The native manifest (${metallbManifestUrl(settings.spec.addons.metallbVersion)}; it labels metallb-system privileged, as ` +
      `Talos' baseline PodSecurity requires for the speakers), then the IPAddressPool(s) lint proved free of the VIP ` +
      `${settings.vip}, nodes and gateway, and an L2Advertisement.`,
    actions: [fileAction(files.metallbPool, poolYaml), ...metallbCommands(settings, files).map(runAction)],
    async execute(ctx) {
      write(files.metallbPool, poolYaml);
      for (const c of metallbCommands(settings, files)) await runTool(ctx, c);
    },
  });

  const patchesPreview = toYaml(argocdConfigPatches(settings, gitops?.webhook?.secret ? '<from the webhook secret reference>' : undefined));
  steps.push({
    id: 'addons/argocd',
    layer: 'addons',
    title: `ArgoCD ${settings.spec.addons.argocdVersion}`,
    description:
      `The install manifest (${argocdManifestUrl(settings.spec.addons.argocdVersion)}), argocd-server on NodePort ` +
      `${settings.spec.addons.argocdNodePort}` +
      (gitops?.pollIntervalSeconds !== undefined ? `, timeout.reconciliation ${gitops.pollIntervalSeconds}s` : '') +
      (gitops?.webhook?.secret ? ', the webhook secret from its reference' : '') +
      '; waits until server, repo-server and application-controller have rolled out.',
    actions: [
      fileAction(files.argocdNamespace, toYaml([argocdNamespace()])),
      fileAction(files.argocdPatches, patchesPreview),
      ...argocdCommands(settings, files).map(runAction),
    ],
    async execute(ctx) {
      const secretRef = gitops?.webhook?.secret;
      const webhookSecret = secretRef ? await resolveSecret(secretRef, 'gitops.webhook.secret') : undefined;
      write(files.argocdNamespace, toYaml([argocdNamespace()]));
      write(files.argocdPatches, toYaml(argocdConfigPatches(settings, webhookSecret)));
      for (const c of argocdCommands(settings, files)) await runTool(ctx, c);
    },
  });

  if (target) {
    const rootYaml = toYaml([...projectManifests(target), rootApplication(target)]);
    const repoYaml = toYaml([repositorySecret(settings)]);
    const children = childApplications(target);
    steps.push({
      id: 'addons/gitops',
      layer: 'addons',
      title: `Register ${target.repoURL} with the app of apps`,
      description:
        `The repository (a public one: no credentials), the AppProjects (the root may create only Applications in argocd; ` +
        `the apps only their kinds in their namespaces; the default project locked), and the root Application syncing ` +
        `argocd/apps of ${target.branch} with automated sync, prune and self-heal. The repository must hold ` +
        `${children.map((c) => `argocd/apps/${c.file}`).join(', ')} naming ${target.repoURL}: they are written to ` +
        `${files.gitopsRepoDir} to be pushed.` +
        (target.repoURL === PLACEHOLDER_REPO ? ' WARNING: gitops.repo is still the placeholder.' : ''),
      actions: [
        fileAction(files.gitopsRepository, repoYaml),
        fileAction(files.gitopsRoot, rootYaml),
        { kind: 'file', text: `${files.gitopsRepoDir}/ (apps/ and argocd/apps/ rendered for ${target.repoURL})` },
        ...gitopsCommands(files).map(runAction),
      ],
      async execute(ctx) {
        write(files.gitopsRepository, repoYaml);
        write(files.gitopsRoot, rootYaml);
        const written = renderRepository(files.gitopsRepoDir, target);
        ctx.log(`gitops repository content for ${target.repoURL} in ${files.gitopsRepoDir} (${written.length} files): push it if the repository lacks it`);
        const [repoSecret, root, wait] = gitopsCommands(files);
        await runTool(ctx, repoSecret);
        await runTool(ctx, root);
        try {
          await runTool(ctx, wait);
        } catch (err) {
          throw new UserError(
            `${(err as Error).message}\n  the root Application did not reach Synced: does ${target.repoURL} (branch ${target.branch}) hold ` +
              `argocd/apps/*.yaml naming it? Push the content of ${files.gitopsRepoDir}, then look at ` +
              `kubectl -n argocd get application root -o jsonpath='{.status.conditions}'`,
            ExitCode.checkFailed,
          );
        }
      },
    });
  }
  return steps;
}

function argocdNamespace(): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } };
}

// -------------------------------------------------------------------------------------------------- print/run ---

/** The plan as a person reads it: header, warnings, then every step with its actions (and file contents). */
export function formatPlan(plan: BootstrapPlan, opts: { bodies?: boolean } = {}): string {
  const { settings, files } = plan;
  const px = settings.profile.access.proxmox;
  const out: string[] = [];
  out.push(
    `clusterproof bootstrap${plan.mode === 'destroy' ? ' --destroy' : ''}: plan for "${settings.profile.metadata.name}" (${plan.loaded.path})`,
    `  Proxmox VE  ${px?.url ?? '(access.proxmox missing)'}, CA ${px?.caFile ?? '(no caFile: TLS verification against the system store)'}`,
    `  Talos       ${settings.spec.talos.version}, ISO ${settings.isoUrl}`,
    `  cluster     ${settings.clusterName}, endpoint ${settings.endpoint}, ${settings.controlPlanes.length} control plane(s), ${settings.workers.length} worker(s)`,
    `  output      ${files.dir} (secrets, machine configs, talosconfig, kubeconfig: keep it safe)`,
    `  lint        no errors${plan.lintWarnings ? `, ${plan.lintWarnings} warning(s) (clusterproof lint --profile ${plan.loaded.path})` : ''}`,
    '',
  );
  if (settings.blockers.length) {
    out.push('BLOCKED: a real run stops at the first step on:', ...settings.blockers.map((b) => `  ✗ ${b}`), '');
  }
  if (settings.warnings.length) out.push('Warnings:', ...settings.warnings.map((w) => `  ! ${w}`), '');
  out.push(`${plan.steps.length} steps, in order:`, '');
  plan.steps.forEach((step, i) => {
    out.push(`[${step.layer}] ${i + 1}. ${step.id}: ${step.title}`);
    out.push(...wrap(step.description, 110, '      '));
    for (const a of step.actions) {
      out.push(`      ${a.kind.padEnd(4)}  ${a.text}`);
      if (a.body && opts.bodies !== false) out.push(...a.body.trimEnd().split('\n').map((l) => `              | ${l}`));
    }
    out.push('');
  });
  return `${out.join('\n').trimEnd()}\n`;
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** Runs the steps in order; the first failure stops the run with the step named. */
export async function executePlan(plan: BootstrapPlan, deps: BootstrapDeps): Promise<RunState> {
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const state: RunState = { outcomes: [], addresses: new Map() };
  for (const [i, step] of plan.steps.entries()) {
    const label = `[${step.layer}] ${i + 1}/${plan.steps.length} ${step.id}`;
    deps.log(`▶ ${label}: ${step.title}`);
    const ctx: StepContext = { deps, state, timing, log: (l) => deps.log(`    ${l}`) };
    try {
      await step.execute(ctx);
    } catch (err) {
      deps.log(`✗ ${label} failed`);
      const message = (err as Error).message;
      const wrapped = `bootstrap stopped at step ${i + 1}/${plan.steps.length} (${step.id}): ${message}\n  nothing after it was done; fix the cause and run the same command again (every step is idempotent)`;
      // a bug in clusterproof stays a bug (stack trace); anything else (API, task, tool failures) is the user's to act on
      if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError) throw err;
      throw new UserError(wrapped, err instanceof UserError ? err.exitCode : ExitCode.checkFailed);
    }
    deps.log(`✓ ${label}`);
  }
  return state;
}
