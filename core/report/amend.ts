/**
 * What the report adds to a run's results before Allure reads them: the flat tree, and each measurement's trend
 * across runs (a chart attached to the result, and a `regression` label when this run is slower than the last good
 * one, which puts the result in the "Slower than the last good run" category). Rebuilding the report from the same
 * results gives the same report: earlier trend charts and labels are replaced, and the run is recorded once.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGRESSION_LABEL } from './categories.ts';
import { readEnvironment } from './environment.ts';
import { measurementsOf, timelineOf } from './measurements.ts';
import { historyKey, latestPerExperiment, readResultFiles, writeResultFile, type ResultFile } from './result-files.ts';
import { flattenTree, treePath } from './tree.ts';
import { renderTrendSvg } from './trend-svg.ts';
import { describeRegression, readMeasurementHistory, recordRun, trendsOf, type RunMeasurements, type Tolerance, type Trend } from './trends.ts';

export const TREND_PREFIX = 'trend: ';

export interface AmendOptions {
  /** reports/history/measurements.jsonl */
  measurementHistory: string;
  tolerance: Tolerance;
}

export interface Amended {
  results: ResultFile[];
  run: RunMeasurements;
  trends: Trend[];
}

export function amendResults(resultsDir: string, opts: AmendOptions): Amended {
  const results = readResultFiles(resultsDir);
  for (const r of results) {
    flattenTree(r.result);
    dropEarlierTrends(resultsDir, r);
  }
  const run = currentRun(resultsDir, results);
  const history = readMeasurementHistory(opts.measurementHistory);
  const trends = trendsOf(history, run, opts.tolerance);
  recordRun(opts.measurementHistory, history, run);
  for (const r of results) {
    const mine = trends.filter((t) => t.key === historyKey(r.result));
    mine.forEach((trend, i) => {
      const source = `${r.result.uuid}-trend-${i}-attachment.svg`;
      writeFileSync(join(resultsDir, source), renderTrendSvg(trend, opts.tolerance));
      (r.result.attachments ??= []).push({ name: `${TREND_PREFIX}${trend.measurement}`, source, type: 'image/svg+xml' });
      if (trend.regression) (r.result.labels ??= []).push({ name: REGRESSION_LABEL, value: describeRegression(trend) });
    });
    writeResultFile(r);
  }
  return { results, run, trends };
}

function dropEarlierTrends(resultsDir: string, { result }: ResultFile): void {
  for (const a of result.attachments ?? []) {
    if (a.name.startsWith(TREND_PREFIX) && a.source.startsWith(`${result.uuid}-trend-`)) rmSync(join(resultsDir, a.source), { force: true });
  }
  result.attachments = (result.attachments ?? []).filter((a) => !a.name.startsWith(TREND_PREFIX));
  result.labels = (result.labels ?? []).filter((l) => l.name !== REGRESSION_LABEL);
}

/** This run's measurements: the run id a suite run recorded (else one derived from its results), the last retry of each test. */
function currentRun(resultsDir: string, results: ResultFile[]): RunMeasurements {
  const env = readEnvironment(resultsDir);
  const stops = results.map((r) => r.result.stop ?? 0).filter((t) => t > 0);
  const id = env['run.id'] ?? createHash('sha256').update(results.map((r) => r.result.uuid).sort().join('\n')).digest('hex').slice(0, 16);
  return {
    run: { id, at: new Date(stops.length ? Math.max(...stops) : Date.now()).toISOString(), target: env.target },
    tests: latestPerExperiment(results).map(({ result }) => ({
      key: historyKey(result),
      path: [...treePath(result), result.name],
      status: result.status ?? 'unknown',
      measurements: measurementsOf(timelineOf(resultsDir, result)),
    })),
  };
}
