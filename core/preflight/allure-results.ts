/**
 * A preflight as Allure results, so it sits in the same report as the suites: one result per check under
 * "preflight", failed for a blocker, broken for a check that could not run, skipped with its reason; every finding
 * a step, the evidence attached as JSON.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllureResult } from '../report/result-files.ts';
import type { PreflightReport } from './render.ts';
import type { CheckResult } from './verdict.ts';

const STATUS: Record<CheckResult['status'], string> = { passed: 'passed', warning: 'passed', blocker: 'failed', skipped: 'skipped', error: 'broken' };

export function writeAllureResults(report: PreflightReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  let clock = Date.parse(report.startedAt);
  const written: string[] = [];
  for (const c of report.checks) {
    const uuid = randomUUID();
    const evidence = `${uuid}-attachment.json`;
    writeFileSync(join(dir, evidence), JSON.stringify(c.evidence, null, 2));
    const start = clock;
    const stop = (clock += Math.round(c.seconds * 1000));
    const blockers = c.findings.filter((f) => f.severity === 'blocker');
    const result: AllureResult & Record<string, unknown> = {
      uuid,
      name: c.title,
      fullName: `preflight > ${c.title}`,
      historyId: createHash('md5').update(`preflight:${c.id}`).digest('hex'),
      testCaseId: createHash('md5').update(`preflight:${c.id}`).digest('hex'),
      status: STATUS[c.status],
      stage: 'finished',
      statusDetails: { message: c.status === 'skipped' || c.status === 'passed' ? c.summary : blockers.map((f) => f.message).join('\n') || c.summary },
      start,
      stop,
      labels: [
        { name: 'parentSuite', value: 'preflight' },
        { name: 'suite', value: `upgrade to ${report.to}` },
        { name: 'feature', value: 'pre-upgrade verification' },
        { name: 'severity', value: blockers.length ? 'blocker' : 'normal' },
      ],
      parameters: [{ name: 'target', value: report.target, excluded: true }],
      steps: c.findings.map((f) => ({
        name: `${f.severity}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''}`,
        status: f.severity === 'blocker' ? 'failed' : 'passed',
        stage: 'finished',
        start,
        stop,
      })) as AllureResult['steps'],
      attachments: [{ name: 'evidence', source: evidence, type: 'application/json' }],
    };
    const file = join(dir, `${uuid}-result.json`);
    writeFileSync(file, JSON.stringify(result));
    written.push(file);
  }
  return written;
}
