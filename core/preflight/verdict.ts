/**
 * The vocabulary of a preflight: each check ends as passed, warning, blocker, skipped (the target cannot answer it,
 * with the reason) or error (it could not be checked: that is a no-go too, since nothing was proven). The verdict is
 * go only when no check is a blocker or an error.
 */
export type Severity = 'blocker' | 'warning';

export interface Finding {
  severity: Severity;
  message: string;
  /** what to do about it, when it is not obvious from the message */
  fix?: string;
}

export type CheckStatus = 'passed' | 'warning' | 'blocker' | 'skipped' | 'error';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** one line: what was checked and what was found */
  summary: string;
  findings: Finding[];
  /** what the check read, for the report and --json (never a secret) */
  evidence: Record<string, unknown>;
  seconds: number;
}

/** What a check's own logic returns; the runner adds id, title and time. */
export interface CheckOutcome {
  summary: string;
  findings: Finding[];
  evidence: Record<string, unknown>;
  /** set when the target cannot answer this check: the reason */
  skipped?: string;
}

export function statusOf(outcome: CheckOutcome): CheckStatus {
  if (outcome.skipped) return 'skipped';
  if (outcome.findings.some((f) => f.severity === 'blocker')) return 'blocker';
  return outcome.findings.length ? 'warning' : 'passed';
}

export interface Verdict {
  go: boolean;
  blockers: number;
  warnings: number;
  errors: number;
  skipped: number;
}

export function verdictOf(results: readonly CheckResult[]): Verdict {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const blockers = results.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'blocker').length, 0);
  const warnings = results.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'warning').length, 0);
  return { go: count('blocker') === 0 && count('error') === 0, blockers, warnings, errors: count('error'), skipped: count('skipped') };
}

export const blocker = (message: string, fix?: string): Finding => ({ severity: 'blocker', message, ...(fix ? { fix } : {}) });
export const warning = (message: string, fix?: string): Finding => ({ severity: 'warning', message, ...(fix ? { fix } : {}) });
