/** Running `clusterproof preflight` on the lab from the tests, and the measurement history its timings check reads. */
import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_KUBERNETES_VERSION } from '../../bootstrap/lab/build/index.ts';
import { amendResults } from '../../core/report/amend.ts';
import { DEFAULT_TOLERANCE } from '../../core/report/trends.ts';
import { openTargetFile } from '../../fixtures/targets/index.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { runCli } from './cli.ts';

/** The minor after the lab's default Kubernetes release (v1.36.3 → "1.37.x"). */
export const NEXT_MINOR_VERSION = `1.${Number(DEFAULT_KUBERNETES_VERSION.split('.')[1]) + 1}.x`;
export const NEXT_MINOR = `kubernetes=${NEXT_MINOR_VERSION}`;

export interface JsonReport {
  verdict: string;
  blockers: number;
  checks: Array<{ id: string; status: string; summary: string; findings: Array<{ severity: string; message: string }>; evidence: Record<string, any> }>;
}

/** The measurement history `clusterproof report` keeps, built from the suites-on-lab results of this run. */
export function historyFromSuitesOnLab(): string {
  const results = join(labPaths.logs(), 'suites-on-lab-results');
  if (!existsSync(results) || !readdirSync(results).some((f) => f.endsWith('-result.json'))) {
    throw new Error(`no suites-on-lab results in ${results}: tests/lab/suites-on-lab.test.ts runs before this test and leaves them`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'preflight-history-'));
  cpSync(results, join(dir, 'results'), { recursive: true });
  const history = join(dir, 'measurements.jsonl');
  amendResults(join(dir, 'results'), { measurementHistory: history, tolerance: DEFAULT_TOLERANCE });
  return history;
}

/** `clusterproof preflight --target lab --to NEXT_MINOR --json` as a user runs it, its JSON parsed. */
export async function preflightJson(args: string[]): Promise<{ code: number; report: JsonReport }> {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-out-'));
  const { code, output } = await runCli(['preflight', '--target', 'lab', '--to', NEXT_MINOR, '--json', '--snapshot-dir', join(dir, 'snapshots'), ...args]);
  // stdout is the JSON alone; progress went to stderr (both are in `output`, JSON last)
  const json = output.slice(output.indexOf('{\n  "verdict"'), output.lastIndexOf('\n}') + 2);
  return { code, report: JSON.parse(json) as JsonReport };
}


/** Waits until every Application of the lab is Synced and Healthy (a suite's last rollout may still be settling). */
export async function appsConverged(timeoutMs = 180_000): Promise<void> {
  const target = await openTargetFile(labPaths.profile());
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const apps = await target.argocd!.list().catch((e: Error) => (last = e.message, []));
    const off = apps.filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy');
    if (apps.length && !off.length) return;
    if (apps.length) last = off.map((a) => `${a.name} ${a.sync}/${a.health}`).join(', ');
    if (Date.now() > deadline) throw new Error(`the lab's Applications did not converge within ${timeoutMs / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
