/**
 * Measurements across runs. Allure's own history tracks test durations, not the failover time a suite measured, so
 * clusterproof keeps its own: one JSON line per run in reports/history/measurements.jsonl, each test's status and
 * SLO measurements. A trend is one measurement of one experiment run after run; it regresses when this run's value
 * is slower than the last good run's (the latest earlier run where the experiment passed) by more than the stated
 * tolerance: a relative share AND an absolute margin, so a 0.2 s wait going to 0.3 s is not news.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Measurement } from './measurements.ts';

export interface RunMeasurements {
  run: { id: string; at: string; target?: string };
  tests: TestMeasurements[];
}

export interface TestMeasurements {
  /** Allure's history id: the same experiment across runs */
  key: string;
  /** family > suite > experiment */
  path: string[];
  status: string;
  measurements: Measurement[];
}

export interface Tolerance {
  /** 0.25: 25 % slower */
  relative: number;
  /** seconds slower, at least */
  absoluteSeconds: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { relative: 0.25, absoluteSeconds: 1 };

export interface TrendPoint {
  runId: string;
  at: string;
  status: string;
  seconds: number | null;
}

export interface Regression {
  seconds: number;
  lastGood: TrendPoint & { seconds: number };
  /** (seconds - lastGood) / lastGood */
  slowerBy: number;
}

export interface Trend {
  key: string;
  path: string[];
  measurement: string;
  sloSeconds?: number;
  sloName?: string;
  /** oldest first; the last point is this run */
  points: TrendPoint[];
  regression?: Regression;
}

export const HISTORY_RUNS_KEPT = 100;

export function readMeasurementHistory(file: string): RunMeasurements[] {
  if (!existsSync(file)) return [];
  const runs: RunMeasurements[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const run = JSON.parse(line) as RunMeasurements;
      if (run?.run?.id && Array.isArray(run.tests)) runs.push(run);
    } catch {
      // a torn last line (a build killed while writing) is dropped, not fatal
    }
  }
  return runs;
}

/** Adds this run, replacing an entry of the same run (a report rebuilt from the same results); runs stay in time order. */
export function recordRun(file: string, history: RunMeasurements[], current: RunMeasurements): RunMeasurements[] {
  const runs = inTimeOrder([...history.filter((r) => r.run.id !== current.run.id), current]).slice(-HISTORY_RUNS_KEPT);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, runs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return runs;
}

/** Every measurement of this run's tests, with the same measurement in earlier runs. */
export function trendsOf(history: RunMeasurements[], current: RunMeasurements, tolerance: Tolerance = DEFAULT_TOLERANCE): Trend[] {
  // a report rebuilt for an older run compares it with the runs before it, never with later ones
  const earlier = inTimeOrder(history.filter((r) => r.run.id !== current.run.id && r.run.at < current.run.at));
  const trends: Trend[] = [];
  for (const test of current.tests) {
    for (const m of test.measurements) {
      const points: TrendPoint[] = [];
      for (const run of earlier) {
        const past = run.tests.find((t) => t.key === test.key);
        const value = past?.measurements.find((pm) => pm.name === m.name);
        if (past && value) points.push({ runId: run.run.id, at: run.run.at, status: past.status, seconds: value.seconds });
      }
      const now: TrendPoint = { runId: current.run.id, at: current.run.at, status: test.status, seconds: m.seconds };
      points.push(now);
      trends.push({ key: test.key, path: test.path, measurement: m.name, sloSeconds: m.sloSeconds, sloName: m.sloName, points, regression: regressionOf(points, tolerance) });
    }
  }
  return trends;
}

const inTimeOrder = (runs: RunMeasurements[]) => [...runs].sort((a, b) => a.run.at.localeCompare(b.run.at));

function regressionOf(points: TrendPoint[], tolerance: Tolerance): Regression | undefined {
  const now = points.at(-1)!;
  if (now.seconds === null) return undefined; // it never recovered: that is a failure, not a slowdown
  const lastGood = points
    .slice(0, -1)
    .reverse()
    .find((p): p is TrendPoint & { seconds: number } => p.status === 'passed' && p.seconds !== null);
  if (!lastGood) return undefined;
  const slower = now.seconds - lastGood.seconds;
  const slowerBy = lastGood.seconds > 0 ? slower / lastGood.seconds : Infinity;
  if (slower < tolerance.absoluteSeconds || slowerBy <= tolerance.relative) return undefined;
  return { seconds: now.seconds, lastGood, slowerBy };
}

export function describeTolerance(t: Tolerance): string {
  return `more than ${Math.round(t.relative * 100)} % and at least ${t.absoluteSeconds} s slower than the last good run`;
}

export function describeRegression(trend: Trend): string {
  const r = trend.regression!;
  return (
    `${trend.measurement}: ${r.seconds.toFixed(1)} s, ${Math.round(r.slowerBy * 100)} % slower than the last good run ` +
    `(${r.lastGood.seconds.toFixed(1)} s on ${r.lastGood.at}, run ${r.lastGood.runId})`
  );
}

/** For CI logs: one line per measurement, its values run after run, regressions first. */
export function formatTrends(trends: Trend[], tolerance: Tolerance): string {
  if (!trends.length) return 'no SLO measurements in these results';
  const value = (p: TrendPoint) => (p.seconds === null ? 'never' : `${p.seconds.toFixed(1)}`) + (p.status === 'passed' ? '' : '!');
  const sorted = [...trends].sort((a, b) => Number(!!b.regression) - Number(!!a.regression));
  const lines = sorted.map((t) => {
    const slo = t.sloSeconds !== undefined ? ` (SLO ${t.sloSeconds} s${t.sloName ? `, ${t.sloName}` : ''})` : '';
    const flag = t.regression ? 'SLOWER ' : '';
    return `${flag}${t.path.join(' > ')}: ${t.measurement}${slo}: ${t.points.slice(-10).map(value).join(' → ')} s`;
  });
  const regressions = trends.filter((t) => t.regression).length;
  return [
    `${trends.length} measurement(s), ${regressions} slower than the last good run (tolerance: ${describeTolerance(tolerance)}); "!" marks a run that did not pass`,
    ...lines,
  ].join('\n');
}
