/** Lint results for people (grouped, wrapped text) and for machines (one JSON object). */
import type { Finding } from './finding.ts';

export interface LintReport {
  profile: string;
  errors: number;
  warnings: number;
  findings: Finding[];
}

export function lintReport(profile: string, findings: Finding[]): LintReport {
  return {
    profile,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    findings,
  };
}

export function renderLintText(report: LintReport, width = 100): string {
  const out: string[] = [`clusterproof lint: ${report.profile}`, ''];
  for (const [severity, title, mark] of [
    ['error', 'Errors', '✗'],
    ['warning', 'Warnings', '!'],
  ] as const) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    out.push(`${title} (${group.length})`, '');
    for (const f of group) {
      out.push(`  ${mark} ${f.path}  [${f.code}]`);
      out.push(...wrap(f.message, width, '    '));
      if (f.explanation) out.push(...wrap(`why: ${f.explanation}`, width, '    ', '         '));
      if (f.suggestion) out.push(...wrap(`fix: ${f.suggestion}`, width, '    ', '         '));
      out.push('');
    }
  }
  out.push(summary(report));
  return `${out.join('\n')}\n`;
}

export function summary(r: LintReport): string {
  const counts = `${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`;
  if (r.errors > 0) return `${counts}: the topology has errors (exit code 1)`;
  return r.warnings > 0 ? `${counts}: no errors` : 'no problems found';
}

/** Word-wraps text; the first line gets `indent`, the following ones `hang` (aligned under the text). */
function wrap(text: string, width: number, indent: string, hang = indent): string[] {
  const lines: string[] = [];
  let line = indent;
  let fresh = true;
  for (const word of text.split(/\s+/)) {
    if (!fresh && line.length + 1 + word.length > width) {
      lines.push(line);
      line = hang + word;
    } else {
      line += fresh ? word : ` ${word}`;
    }
    fresh = false;
  }
  lines.push(line);
  return lines;
}
