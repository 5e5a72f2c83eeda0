/** The run plan: which suites run, which are skipped for a missing capability, which faults the guard refuses. */
import type { Profile } from '../core/profile/schema.ts';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { boundedScenario, DEFAULT_SCENARIO_FILE, readScenario } from '../core/load/bounded.ts';
import { peakRps, plannedMs } from '../core/load/scenario.ts';
import { BlastRadius, type Permissions } from '../core/safety/blast-radius.ts';
import { CATALOGUE, type PlannedFault, type SuiteInfo } from '../suites/catalogue.ts';
import { plannedLack } from '../fixtures/targets/index.ts';

const ROOT = join(import.meta.dirname, '..');

export interface PlannedSuite {
  suite: SuiteInfo;
  status: 'run' | 'skip' | 'refused';
  reason?: string;
  faults: Array<PlannedFault & { verdict: 'allowed' | 'refused'; reason?: string }>;
}

export function selectSuites(ids: string[] | undefined): SuiteInfo[] {
  if (!ids?.length) return CATALOGUE;
  return ids.map((id) => {
    const found = CATALOGUE.filter((s) => s.id === id || s.id.startsWith(`${id.replace(/\/$/, '')}/`));
    if (!found.length) throw new UserError(`unknown suite "${id}"; known: ${CATALOGUE.map((s) => s.id).join(', ')}`);
    return found;
  }).flat();
}

/** `profilePath` names the profile in skip reasons, exactly as the fixtures word them at run time. */
export function planRun(profile: Profile, profilePath: string, suites: SuiteInfo[], permissions: Permissions): PlannedSuite[] {
  const guard = new BlastRadius(profile, permissions);
  return suites.map((suite) => {
    const lack = plannedLack(profile, profilePath, suite.needs);
    const faults = suite.faults.map((planned) => {
      const f = planned.action === 'load' ? { ...planned, target: `${planned.target} (${loadFigures(profile)})` } : planned;
      const verdict = f.quorumLoss ? guard.mayLoseQuorum() : f.nodeDown ? guard.mayBeDestructive() : f.action === 'load' ? guard.mayLoad() : { allowed: true as const };
      return verdict.allowed
        ? { ...f, verdict: 'allowed' as const, reason: undefined }
        : { ...f, verdict: 'refused' as const, reason: verdict.reason };
    });
    if (lack) return { suite, status: 'skip', reason: lack, faults };
    if (suite.optIn && !permissions.upgradeTo) return { suite, status: 'skip', reason: `opt-in: give ${suite.optIn.option} <version> (${suite.optIn.why})`, faults };
    const refusedAll = faults.length > 0 && faults.filter((f) => !f.quorumLoss).every((f) => f.verdict === 'refused');
    if (refusedAll) return { suite, status: 'refused', reason: faults.find((f) => f.reason)?.reason, faults };
    return { suite, status: 'run', faults };
  });
}

/** The shipped scenario's rate and duration on this profile, and its safety limits, for the plan. */
function loadFigures(profile: Profile): string {
  const { maxLoadRps, maxLoadSeconds } = profile.safety;
  const limits = `safety.maxLoadRps ${maxLoadRps}, safety.maxLoadSeconds ${maxLoadSeconds}`;
  try {
    const s = boundedScenario(readScenario(join(ROOT, DEFAULT_SCENARIO_FILE)), profile);
    return `steady: ${peakRps(s.load)}/s for ${plannedMs(s.load) / 1000} s; ${limits}`;
  } catch (err) {
    return `${(err as Error).message}; ${limits}`;
  }
}

export function formatPlan(profileName: string, plan: PlannedSuite[]): string {
  const lines = [`Plan for target "${profileName}" (dry run: nothing is applied)`, ''];
  for (const p of plan) {
    const head = p.status === 'run' ? 'RUN    ' : p.status === 'skip' ? 'SKIP   ' : 'REFUSED';
    lines.push(`${head} ${p.suite.id}: ${p.suite.title}${p.reason ? `\n        reason: ${p.reason}` : ''}`);
    for (const f of p.faults) {
      const mark = f.verdict === 'allowed' ? (p.status === 'run' ? '  fault  ' : '  (fault)') : '  REFUSED';
      lines.push(`${mark} ${f.action} ${f.target}; undo: ${f.undo}${f.reason ? `\n           guard: ${f.reason}` : ''}`);
    }
  }
  const count = (s: PlannedSuite['status']) => plan.filter((p) => p.status === s).length;
  lines.push('', `${count('run')} suite(s) would run, ${count('skip')} skipped, ${count('refused')} refused by the blast-radius guard`);
  return lines.join('\n');
}
