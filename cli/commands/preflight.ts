import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { componentBinary } from '../../bootstrap/lab/build/index.ts';
import { writeAllureResults } from '../../core/preflight/allure-results.ts';
import { renderJson, renderText, type PreflightReport } from '../../core/preflight/render.ts';
import { verdictOf } from '../../core/preflight/verdict.ts';
import { parseTargets } from '../../core/preflight/versions.ts';
import { ExitCode, MissingPrerequisiteError } from '../../core/errors.ts';
import { hasTool } from '../../core/command.ts';
import { loadProfile } from '../../core/profile/load.ts';
import { reachesBeyondLab } from '../../core/profile/target-kind.ts';
import { redact } from '../../core/report/redact.ts';
import { stateDir } from '../../core/state-dir.ts';
import { openTarget } from '../../fixtures/targets/index.ts';
import { resolveTalosctl } from '../../providers/talos/talosctl.ts';
import { preflightChecks, runChecks, type PreflightSettings } from '../preflight/checks.ts';
import { positiveNumber } from './report.ts';
import { resolveProfilePath } from './run.ts';

const SUMMARY =
  'One explained go/no-go for an upgrade path: GitOps converged, versions and the path (skew policy, Talos ' +
  'matrix), removed and deprecated APIs (git manifests, live objects, the API servers\' metric), etcd health and a ' +
  'verified snapshot, a drain simulation for every node, certificates, and timings against the last good run.';

interface PreflightOptions {
  profile?: string;
  target?: string;
  to: string;
  json?: boolean;
  certWindowDays: string;
  history: string;
  regressionTolerance: string;
  regressionMargin: string;
  snapshotDir?: string;
  snapshot: boolean;
  allureResults?: string;
}

/** The tools the etcd check needs, found before any check starts (a missing one names how to get it). */
function etcdTools(kind: string, wantSnapshot: boolean): PreflightSettings['tools'] {
  const found = (name: string) => {
    if (kind === 'lab') return componentBinary(name);
    return hasTool(name) ? name : undefined;
  };
  const tools: PreflightSettings['tools'] = {};
  if (!wantSnapshot) return tools;
  if (kind === 'talos-proxmox') {
    tools.talosctl = resolveTalosctl();
  } else {
    tools.etcdctl = found('etcdctl');
    if (!tools.etcdctl) throw new MissingPrerequisiteError('etcdctl is not on PATH: the preflight takes an etcd snapshot with it', 'go install go.etcd.io/etcd/etcdctl/v3@v3.6.16 (or --no-snapshot)');
  }
  tools.etcdutl = found('etcdutl');
  if (!tools.etcdutl) throw new MissingPrerequisiteError('etcdutl is not on PATH: the preflight verifies its etcd snapshot with it', 'go install go.etcd.io/etcd/etcdutl/v3@v3.6.16 (or --no-snapshot)');
  return tools;
}

export function registerPreflight(program: Command): void {
  program
    .command('preflight')
    .summary(SUMMARY)
    .description(
      `${SUMMARY}\n\nRead-only, except the etcd snapshot it writes (--snapshot-dir; it holds the cluster's secrets: keep it ` +
        'private). Exit codes: 0 go, 1 no-go (a blocker, or a check that could not run), 2 bad input, 3 a missing ' +
        'prerequisite. Version data and its sources: core/preflight/data/.',
    )
    .option('-p, --profile <file>', 'target profile (YAML)')
    .option('-t, --target <name>', 'embedded target: "lab"')
    .requiredOption('--to <versions>', 'where to: kubernetes=1.35.x[,talos=v1.12.x,cilium=1.19.x,argocd=v3.3.x]')
    .option('--json', 'print the report as one JSON object on stdout (progress goes to stderr)')
    .option('--cert-window-days <days>', 'a certificate expiring within this many days blocks', '30')
    .option('--history <file>', "the report's measurement history, for the timings check", 'reports/history/measurements.jsonl')
    .option('--regression-tolerance <percent>', 'a measurement blocks when it is this much slower than the last good run', '25')
    .option('--regression-margin <seconds>', '...and at least this many seconds slower', '1')
    .option('--snapshot-dir <dir>', 'where the etcd snapshot goes (default: <state dir>/snapshots)')
    .option('--no-snapshot', 'take no etcd snapshot (the etcd check then warns)')
    .option('--allure-results <dir>', 'also write one Allure result per check there (e.g. reports/allure-results)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  clusterproof preflight --target lab --to kubernetes=1.35.x\n' +
        '  clusterproof preflight --profile profiles/homelab.yaml --to kubernetes=1.35.x,talos=v1.12.x --json > preflight.json',
    )
    .action(async (opts: PreflightOptions) => {
      const to = parseTargets(opts.to, ['kubernetes', 'talos', 'cilium', 'argocd']);
      const profilePath = resolveProfilePath(opts);
      const { profile } = await loadProfile(profilePath);
      const settings: PreflightSettings = {
        to: { kubernetes: to.kubernetes!, talos: to.talos, cilium: to.cilium, argocd: to.argocd },
        certWindowDays: positiveNumber('--cert-window-days', opts.certWindowDays),
        historyFile: resolve(opts.history),
        tolerance: { relative: positiveNumber('--regression-tolerance', opts.regressionTolerance) / 100, absoluteSeconds: positiveNumber('--regression-margin', opts.regressionMargin) },
        snapshotDir: opts.snapshot ? resolve(opts.snapshotDir ?? join(stateDir(), 'snapshots')) : undefined,
        tools: etcdTools(profile.target.kind, opts.snapshot),
        allowRemote: reachesBeyondLab(profile),
      };
      const target = await openTarget(profile, profilePath, { allowRemote: settings.allowRemote });
      const startedAt = new Date().toISOString();
      const checks = await runChecks(preflightChecks(target, settings), (line) => console.error(line));
      const report: PreflightReport = { target: profile.metadata.name, to: opts.to, startedAt, checks };
      // no secret reaches an output: the same redaction as the report's
      process.stdout.write(`${redact(opts.json ? renderJson(report) : renderText(report))}\n`);
      if (opts.allureResults) writeAllureResults(report, resolve(opts.allureResults));
      process.exitCode = verdictOf(checks).go ? ExitCode.ok : ExitCode.checkFailed;
    });
}

