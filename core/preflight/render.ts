/** A preflight as a person reads it (text) and as a script reads it (--json). */
import { verdictOf, type CheckResult, type CheckStatus } from './verdict.ts';

export interface PreflightReport {
  target: string;
  /** --to as given, e.g. "kubernetes=1.35.x" */
  to: string;
  startedAt: string;
  checks: CheckResult[];
}

const MARK: Record<CheckStatus, string> = { passed: 'PASS', warning: 'WARN', blocker: 'FAIL', skipped: 'SKIP', error: 'ERR ' };

export function renderText(report: PreflightReport): string {
  const v = verdictOf(report.checks);
  const lines = [`preflight: ${report.target} -> ${report.to}`];
  report.checks.forEach((c, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${MARK[c.status]}  ${c.title}: ${c.summary} (${c.seconds.toFixed(1)} s)`);
    for (const f of c.findings) {
      lines.push(`      ${f.severity}: ${f.message}`);
      if (f.fix) lines.push(`        fix: ${f.fix}`);
    }
  });
  const parts = [`${v.blockers} blocker${v.blockers === 1 ? '' : 's'}`, `${v.warnings} warning${v.warnings === 1 ? '' : 's'}`];
  if (v.errors) parts.push(`${v.errors} check${v.errors === 1 ? '' : 's'} could not run`);
  if (v.skipped) parts.push(`${v.skipped} skipped`);
  lines.push(`verdict: ${v.go ? 'GO' : 'NO-GO'} (${parts.join(', ')})`);
  return lines.join('\n');
}

export function renderJson(report: PreflightReport): string {
  const v = verdictOf(report.checks);
  return JSON.stringify({ verdict: v.go ? 'go' : 'no-go', ...v, ...report }, null, 2);
}
