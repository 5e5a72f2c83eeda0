/**
 * Timings: every SLO measurement of the latest run against the last good run (reports/history/measurements.jsonl,
 * the report's own history). A regression beyond the tolerance blocks, named with both figures; a measurement that
 * never recovered in the latest run blocks too.
 */
import { describeRegression, describeTolerance, trendsOf, type RunMeasurements, type Tolerance } from '../report/trends.ts';
import { blocker, type CheckOutcome } from './verdict.ts';

export function checkTimings(history: RunMeasurements[], tolerance: Tolerance, historyFile: string): CheckOutcome {
  const runs = [...history].sort((a, b) => a.run.at.localeCompare(b.run.at));
  const latest = runs.at(-1);
  if (!latest) return { summary: 'no run recorded', findings: [], evidence: { historyFile }, skipped: `no run in ${historyFile}: build a report of a suite run first (clusterproof report)` };
  const trends = trendsOf(runs.slice(0, -1), latest, tolerance);
  const findings = trends
    .filter((t) => t.regression)
    .map((t) => blocker(`${t.path.join(' > ')}: ${describeRegression(t)}, ${describeTolerance(tolerance)}`, 'find out why it got slower before upgrading on top of it'));
  for (const t of trends.filter((t) => t.points.at(-1)!.seconds === null)) {
    findings.push(blocker(`${t.path.join(' > ')}: ${t.measurement} never happened in the latest run (${latest.run.id})`));
  }
  const compared = trends.filter((t) => t.points.length > 1).length;
  return {
    summary: `${trends.length} measurements of run ${latest.run.id} (${latest.run.at}); ${compared} compared with an earlier run`,
    findings,
    evidence: {
      historyFile,
      latestRun: latest.run,
      tolerance,
      measurements: trends.map((t) => ({ experiment: t.path.join(' > '), measurement: t.measurement, seconds: t.points.at(-1)!.seconds, sloSeconds: t.sloSeconds, lastGood: t.regression?.lastGood.seconds })),
    },
  };
}
