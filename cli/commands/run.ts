import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ExitCode, UserError } from '../../core/errors.ts';
import { loadProfile } from '../../core/profile/load.ts';
import { lintProfile } from '../../core/lint/lint.ts';
import { formatPlan, planRun, selectSuites } from '../plan.ts';
import { recover } from '../../fixtures/faults/recover.ts';
import { openTarget } from '../../fixtures/targets/index.ts';
import { encodeRunContext, type RunContext } from '../../fixtures/run-context.ts';
import { reachesBeyondLab } from '../../core/profile/target-kind.ts';
import type { Profile } from '../../core/profile/schema.ts';
import { writeEnvironment } from '../../core/report/environment.ts';
import * as k8s from '@kubernetes/client-node';
import { labPaths } from '../../providers/lab/paths.ts';
import { componentBinary } from '../../bootstrap/lab/build/index.ts';
import { PROGRESS_ENV } from '../../fixtures/progress.ts';
import { ProgressView } from '../progress-view.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunOptions {
  profile?: string;
  target?: string;
  suite?: string[];
  destructive?: boolean;
  allowQuorumLoss?: boolean;
  load?: boolean;
  loadEngine?: string;
  dryRun?: boolean;
  results?: string;
  measurements?: string;
  cleanResults?: boolean;
  /** vitest --testNamePattern: only the experiments whose name matches */
  grep?: string;
  /** the release upgrade/rolling rolls the cluster to (opt-in: it upgrades every node) */
  upgradeTo?: string;
}

function loadEngineOption(name: string | undefined): 'embedded' | 'k6' | undefined {
  if (name === undefined || name === 'embedded' || name === 'k6') return name;
  if (name === 'k6-operator') {
    throw new UserError(
      '--load-engine k6-operator: clusterproof does not drive the k6-operator yet; it builds its TestRun (providers/load/k6-operator.ts) and the lab accepts it in a dry run. Use embedded or k6',
    );
  }
  throw new UserError(`unknown --load-engine "${name}": use embedded (the default) or k6 (your own k6 on PATH)`);
}

export function resolveProfilePath(opts: { profile?: string; target?: string }): string {
  if (opts.profile && opts.target) throw new UserError('give either --profile FILE or --target lab, not both');
  if (opts.target) {
    if (opts.target !== 'lab') throw new UserError(`unknown --target "${opts.target}": the only embedded target is "lab"; use --profile FILE for others`);
    const path = labPaths.profile();
    if (!existsSync(path)) throw new UserError(`the lab is not up (no ${path}): start it with \`clusterproof lab up\``, ExitCode.missingPrerequisite);
    return path;
  }
  if (!opts.profile) throw new UserError('which target? give --profile FILE (e.g. profiles/seed.yaml) or --target lab');
  return resolve(opts.profile);
}

/** Run the selected suites against a target in a vitest child process; returns its exit code. */
export async function runSuites(opts: RunOptions): Promise<number> {
  const profilePath = resolveProfilePath(opts);
  const { profile } = await loadProfile(profilePath);
  const lintErrors = lintProfile(profile).filter((f) => f.severity === 'error');
  if (opts.upgradeTo !== undefined && !/^v\d+\.\d+\.\d+$/.test(opts.upgradeTo)) throw new UserError(`--upgrade-to ${opts.upgradeTo}: expected a release such as v1.35.4`);
  const permissions = { destructive: !!opts.destructive, quorumLoss: !!opts.allowQuorumLoss, load: !!opts.load, upgradeTo: opts.upgradeTo };
  if (opts.dryRun) {
    // a dry run applies nothing, so it shows the plan even for a profile lint rejects, and says so first
    if (lintErrors.length) {
      console.log(`NOT RUNNABLE: ${lintErrors.length} topology error(s) (clusterproof lint --profile ${profilePath}):`);
      for (const f of lintErrors) console.log(`  ${f.path}: ${f.message}`);
      console.log('');
    }
    console.log(formatPlan(profile.metadata.name, planRun(profile, profilePath, selectSuites(opts.suite), permissions)));
    return lintErrors.length ? ExitCode.checkFailed : ExitCode.ok;
  }
  if (lintErrors.length) {
    throw new UserError(
      `the profile has ${lintErrors.length} topology error(s); fix them first (see \`clusterproof lint --profile ${profilePath}\`):\n` +
        lintErrors.map((f) => `  ${f.path}: ${f.message}`).join('\n'),
      ExitCode.checkFailed,
    );
  }
  const plan = planRun(profile, profilePath, selectSuites(opts.suite), permissions);
  const files = plan.filter((p) => p.status === 'run').map((p) => p.suite.file);
  for (const p of plan.filter((p) => p.status !== 'run')) console.log(`${p.status}: ${p.suite.id}: ${p.reason}`);
  if (!files.length) {
    const refused = plan.filter((p) => p.status === 'refused');
    console.log('no suite to run on this target');
    // the user asked for these suites by name and the guard refused every one: say so with the exit code
    return opts.suite?.length && refused.length ? ExitCode.refused : ExitCode.ok;
  }
  const runId = randomUUID();
  const resultsDir = resolve(opts.results ?? join(root, 'reports', 'allure-results'));
  if (opts.cleanResults) rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  if (opts.measurements) mkdirSync(dirname(resolve(opts.measurements)), { recursive: true });
  const context: RunContext = {
    profilePath,
    runId,
    permissions: { destructive: permissions.destructive, quorumLoss: permissions.quorumLoss, load: permissions.load },
    allowRemote: reachesBeyondLab(profile),
    loadEngine: componentBinary('clusterproof-load', { mustExist: false }),
    loadEngineName: loadEngineOption(opts.loadEngine),
    measurementsFile: opts.measurements ? resolve(opts.measurements) : undefined,
    upgradeTo: opts.upgradeTo,
  };
  const progressDir = mkdtempSync(join(tmpdir(), 'clusterproof-progress-'));
  const progressFile = join(progressDir, 'events.jsonl');
  const env = {
    ...process.env,
    ...encodeRunContext(context),
    ALLURE_RESULTS_DIR: resultsDir,
    [PROGRESS_ENV]: progressFile,
    // vitest's output passes through the progress view: keep its colours on a terminal
    ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {}),
  };
  console.log(`run ${runId}: ${files.length} suite(s) against "${profile.metadata.name}" (${profilePath})`);
  const filter = opts.grep ? ['--testNamePattern', opts.grep] : [];
  const view = new ProgressView(progressFile, process.stdout);
  const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'suites', ...filter, ...files], {
    cwd: root,
    env,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => view.write(d));
  child.stderr.on('data', (d: Buffer) => view.write(d, process.stderr));
  view.start();
  let interrupted = false;
  const forward = (signal: NodeJS.Signals) => {
    interrupted = true;
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((r) => child.once('close', (c, s) => r(c ?? (s ? 128 : 1))));
  view.stop();
  rmSync(progressDir, { recursive: true, force: true });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  writeEnvironment(resultsDir, await runEnvironment(profile, profilePath, runId));
  // Backstop: whatever the test process managed, nothing this run broke stays broken.
  const left = await recover({ runId, force: true });
  if (left.undone.length) console.log(`recovered ${left.undone.length} fault(s) the run left behind: ${left.undone.map((r) => r.description).join(', ')}`);
  for (const f of left.failed) console.error(`FAILED to undo ${f.record.description}: ${f.error} (run \`clusterproof recover\`)`);
  if (interrupted) return ExitCode.interrupted;
  return code === 0 ? ExitCode.ok : ExitCode.checkFailed;
}

/** What the report's environment block shows: the target and the versions it really runs. */
async function runEnvironment(profile: Profile, profilePath: string, runId: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    target: profile.metadata.name,
    'target.kind': profile.target.kind,
    profile: profilePath,
    'run.id': runId,
    capabilities: profile.target.capabilities.join(', '),
  };
  try {
    const target = await openTarget(profile, profilePath, { allowRemote: reachesBeyondLab(profile) });
    const version = await target.kube.config.makeApiClient(k8s.VersionApi).getCode();
    env['kubernetes.version'] = version.gitVersion;
    const members = target.etcd ? await target.etcd.members() : [];
    if (members.length) env['etcd.members'] = members.map((m) => `${m.name}${m.healthy ? '' : ' (down)'}`).join(', ');
  } catch (err) {
    env['kubernetes.version'] = `unknown (${(err as Error).message.split('\n')[0]})`;
  }
  return env;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run the property suites against a target: a profile (your homelab) or the embedded lab.')
    .option('-p, --profile <file>', 'target profile (YAML)')
    .option('-t, --target <name>', 'embedded target: "lab" (uses the profile `clusterproof lab up` wrote)')
    .option('-s, --suite <id...>', 'suites or families to run, e.g. ha/etcd-quorum or ha (default: all)')
    .option('--destructive', 'allow faults that take nodes down on a non-lab target')
    .option('--allow-quorum-loss', 'allow taking etcd quorum away (2 of 3 control planes down) on a non-lab target')
    .option('--load-engine <name>', "the load suites' engine: embedded (default) or k6 (your own on PATH); overrides the profile's target.loadEngine")
    .option('--load', "allow load against the profile's LoadBalancer address on a non-lab target (within safety.maxLoadRps and maxLoadSeconds)")
    .option('--dry-run', 'print the plan (suites, faults, what the guard refuses) and apply nothing')
    .option('--results <dir>', 'Allure results directory', 'reports/allure-results')
    .option('--measurements <file>', 'append every measured duration (JSON lines) to this file')
    .option('--clean-results', 'empty the results directory first, so the next report shows this run only')
    .option('--upgrade-to <version>', 'run upgrade/rolling: roll the cluster to this Kubernetes release (the lab: build it first with lab build --kubernetes)')
    .option('-g, --grep <pattern>', 'run only the experiments whose name matches this regular expression (e.g. "webhook")')
    .addHelpText(
      'after',
      '\nExamples:\n  clusterproof run --target lab\n  clusterproof run --profile profiles/seed.yaml --dry-run\n  clusterproof run --profile my.yaml --suite ha/vip-failover --destructive',
    )
    .action(async (opts: RunOptions) => {
      process.exitCode = await runSuites(opts);
    });
}
