/** Profiles, plans and fakes for the bootstrap tests. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { executePlan, planBootstrap, type BootstrapDeps, type BootstrapPlan, type Layer } from '../../bootstrap/plan.ts';
import type { ToolName, ToolResult, ToolRunner, ToolRunOptions } from '../../bootstrap/tools.ts';
import { parseProfile, type LoadedProfile } from '../../core/profile/load.ts';
import type { Profile } from '../../core/profile/schema.ts';
import type { PveVmDouble } from './pve-vm-double.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const FIXED_SEED = join(FIXTURES, 'seed-pool-fixed.yaml');

const tempDirs: string[] = [];
process.once('exit', () => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The seed with its pool moved off the VIP, parsed, optionally changed; outputs go to a fresh temp dir (removed at exit). */
export function fixedSeed(change?: (p: Profile) => void): LoadedProfile {
  const profile = parseProfile(readFileSync(FIXED_SEED, 'utf8'), FIXED_SEED);
  const outputDir = mkdtempSync(join(tmpdir(), 'clusterproof-bootstrap-'));
  tempDirs.push(outputDir);
  profile.bootstrap = { ...(profile.bootstrap ?? {}), outputDir } as Profile['bootstrap'];
  change?.(profile);
  return { profile, path: FIXED_SEED, dir: FIXTURES };
}

/** Only the steps of some layers (the Proxmox tests never reach talosctl). */
export function onlyLayers(plan: BootstrapPlan, ...layers: Layer[]): BootstrapPlan {
  return { ...plan, steps: plan.steps.filter((s) => layers.includes(s.layer)) };
}

export function proxmoxPlan(loaded: LoadedProfile, opts: { destroy?: boolean } = {}): BootstrapPlan {
  return onlyLayers(planBootstrap(loaded, opts), 'proxmox');
}

export interface RunLog {
  lines: string[];
  questions: string[];
}

/** Deps that reach the double with the admin token (or the given client options) and record the log. */
export function depsFor(double: PveVmDouble, log: RunLog, overrides: Partial<BootstrapDeps> & { client?: Partial<ConstructorParameters<typeof ProxmoxClient>[0]> } = {}): BootstrapDeps {
  let client: ProxmoxClient | undefined;
  const { client: clientOverrides, ...rest } = overrides;
  return {
    proxmox: () => (client ??= new ProxmoxClient(double.clientOptions(clientOverrides))),
    tools: new RecordingTools(),
    log: (l) => log.lines.push(l),
    confirm: async (q) => {
      log.questions.push(q);
      return true;
    },
    allowRemote: false,
    timing: { agentPollMs: 5, pollMs: 5, agentTimeoutMs: 2000, taskTimeoutMs: 5000, downloadTimeoutMs: 5000, nodeReadyTimeoutMs: 2000, apiReadyTimeoutMs: 2000 },
    ...rest,
  };
}

export async function run(plan: BootstrapPlan, deps: BootstrapDeps) {
  return executePlan(plan, deps);
}

type Responder = (tool: ToolName, args: string[]) => Partial<ToolResult> | undefined;

/** A ToolRunner that records every command and answers from `respond` (exit 0, no output, by default). */
export class RecordingTools implements ToolRunner {
  readonly commands: Array<{ tool: ToolName; args: string[]; env?: Record<string, string> }> = [];
  constructor(private readonly respond: Responder = () => undefined) {}

  async run(tool: ToolName, args: string[], opts: ToolRunOptions = {}): Promise<ToolResult> {
    this.commands.push({ tool, args, env: opts.env });
    const r = this.respond(tool, args) ?? {};
    const result = { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (opts.onLine) for (const l of `${result.stdout}\n${result.stderr}`.split('\n')) if (l.trim()) opts.onLine(l);
    return result;
  }

  lines(): string[] {
    return this.commands.map((c) => [c.tool, ...c.args].join(' '));
  }
}
