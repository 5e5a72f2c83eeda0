import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Measurement } from '../../core/report/measurements.ts';
import {
  DEFAULT_TOLERANCE,
  describeRegression,
  describeTolerance,
  formatTrends,
  HISTORY_RUNS_KEPT,
  readMeasurementHistory,
  recordRun,
  trendsOf,
  type RunMeasurements,
  type Tolerance,
} from '../../core/report/trends.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-trends-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
const freshFile = () => join(scratch, `${++seq}`, 'history', 'measurements.jsonl');

const KEY = 'history-vip';
const PATH = ['ha', 'vip-failover', 'the VIP moves'];
const M = 'VIP answers again';

function measurement(seconds: number | null, name = M): Measurement {
  return { name, seconds, sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds', outcome: seconds === null ? 'timed-out' : 'ok' };
}

/** One run of one experiment with one measurement (or none: `seconds` undefined). */
function run(id: string, status: string, seconds: number | null | undefined, key = KEY): RunMeasurements {
  return {
    // one hour apart, in the order the test makes them
    run: { id, at: new Date(Date.UTC(2024, 0, 1) + seq++ * 3_600_000).toISOString() },
    tests: [{ key, path: PATH, status, measurements: seconds === undefined ? [] : [measurement(seconds)] }],
  };
}

const TOL: Tolerance = { relative: 0.25, absoluteSeconds: 1 };

describe('readMeasurementHistory', () => {
  test('a missing file is an empty history', () => {
    expect(readMeasurementHistory(join(scratch, 'nowhere.jsonl'))).toEqual([]);
  });

  test('skips blank, torn and invalid lines and keeps the valid runs in order', () => {
    const file = freshFile();
    mkdirSync(join(file, '..'), { recursive: true });
    const a = run('run-a', 'passed', 10);
    const b = run('run-b', 'failed', 12);
    writeFileSync(
      file,
      [
        JSON.stringify(a),
        '',
        '   ',
        'null',
        '42',
        JSON.stringify({ tests: [] }), // no run id
        JSON.stringify({ run: { id: 'x', at: 'y' }, tests: 'not a list' }),
        JSON.stringify(b),
        JSON.stringify(run('run-c', 'passed', 11)).slice(0, 30), // torn last line
      ].join('\n'),
    );
    expect(readMeasurementHistory(file)).toEqual([a, b]);
  });
});

describe('recordRun', () => {
  test('creates the file and its folder, one JSON line per run, readable back', () => {
    const file = freshFile();
    const a = run('run-a', 'passed', 10);
    const runs = recordRun(file, [], a);
    expect(runs).toEqual([a]);
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toEqual([JSON.stringify(a), '']);
    expect(readMeasurementHistory(file)).toEqual([a]);
  });

  test('replaces an earlier entry of the same run id instead of adding one', () => {
    const file = freshFile();
    const a = run('run-a', 'passed', 10);
    const b = run('run-b', 'passed', 11);
    recordRun(file, [], a);
    recordRun(file, readMeasurementHistory(file), b);
    const b2 = run('run-b', 'failed', 30);
    const runs = recordRun(file, readMeasurementHistory(file), b2);
    expect(runs.map((r) => r.run.id)).toEqual(['run-a', 'run-b']);
    expect(readMeasurementHistory(file)).toEqual([a, b2]);
  });

  test(`keeps at most the last ${HISTORY_RUNS_KEPT} runs, dropping the oldest`, () => {
    const file = freshFile();
    const history = Array.from({ length: HISTORY_RUNS_KEPT }, (_, i) => run(`run-${i}`, 'passed', i));
    const runs = recordRun(file, history, run('run-new', 'passed', 1));
    expect(runs).toHaveLength(HISTORY_RUNS_KEPT);
    expect(runs[0]!.run.id).toBe('run-1');
    expect(runs.at(-1)!.run.id).toBe('run-new');
    expect(readMeasurementHistory(file)).toHaveLength(HISTORY_RUNS_KEPT);
  });
});

describe('trendsOf', () => {
  test('one trend per measurement of each current test, earlier values oldest first, this run last', () => {
    const r1 = run('r1', 'passed', 10);
    const r2 = run('r2', 'failed', 20);
    const other = run('r3', 'passed', 5, 'history-other'); // another experiment: not part of this trend
    const noValue = run('r4', 'passed', undefined); // the experiment ran but measured nothing
    const current: RunMeasurements = {
      run: { id: 'now', at: '2024-02-01T00:00:00.000Z' },
      tests: [{ key: KEY, path: PATH, status: 'passed', measurements: [measurement(11), measurement(3, 'etcd leader')] }],
    };
    const trends = trendsOf([r1, r2, other, noValue], current, TOL);
    expect(trends.map((t) => t.measurement)).toEqual([M, 'etcd leader']);
    const vip = trends[0]!;
    expect(vip.key).toBe(KEY);
    expect(vip.path).toEqual(PATH);
    expect(vip.sloSeconds).toBe(75);
    expect(vip.sloName).toBe('slo.vipFailoverHardSeconds');
    expect(vip.points).toEqual([
      { runId: 'r1', at: r1.run.at, status: 'passed', seconds: 10 },
      { runId: 'r2', at: r2.run.at, status: 'failed', seconds: 20 },
      { runId: 'now', at: '2024-02-01T00:00:00.000Z', status: 'passed', seconds: 11 },
    ]);
    // the other measurement has no earlier values
    expect(trends[1]!.points.map((p) => p.runId)).toEqual(['now']);
  });

  test('an earlier entry of the current run id is not an earlier point (a rebuilt report)', () => {
    const trends = trendsOf([run('r1', 'passed', 10), run('now', 'passed', 10)], run('now', 'passed', 20), TOL);
    expect(trends[0]!.points.map((p) => p.runId)).toEqual(['r1', 'now']);
    expect(trends[0]!.regression?.lastGood.runId).toBe('r1');
  });

  test('a run is compared with earlier runs only: a later run in the history is not part of its trend', () => {
    // run-1's report rebuilt after run-2 was recorded
    const r1: RunMeasurements = { run: { id: 'run-1', at: '2024-03-01T08:00:00.000Z' }, tests: [{ key: KEY, path: PATH, status: 'passed', measurements: [measurement(20)] }] };
    const r2: RunMeasurements = { run: { id: 'run-2', at: '2024-03-02T08:00:00.000Z' }, tests: [{ key: KEY, path: PATH, status: 'passed', measurements: [measurement(10)] }] };
    const trend = trendsOf([r1, r2], r1, TOL)[0]!;
    expect(trend.points.map((p) => p.runId)).toEqual(['run-1']);
    expect(trend.regression).toBeUndefined();
  });

  test('after an earlier run is rebuilt, the next run still sees the runs oldest first and the latest good one as last good', () => {
    const file = freshFile();
    const at = (day: number) => `2024-03-0${day}T08:00:00.000Z`;
    const r = (id: string, day: number, seconds: number): RunMeasurements => ({ run: { id, at: at(day) }, tests: [{ key: KEY, path: PATH, status: 'passed', measurements: [measurement(seconds)] }] });
    recordRun(file, [], r('run-1', 1, 10));
    recordRun(file, readMeasurementHistory(file), r('run-2', 2, 20));
    recordRun(file, readMeasurementHistory(file), r('run-1', 1, 10)); // run-1's report rebuilt from its results
    const trend = trendsOf(readMeasurementHistory(file), r('run-3', 3, 26), TOL)[0]!;
    expect(trend.points.map((p) => p.at)).toEqual([at(1), at(2), at(3)]);
    expect(trend.regression?.lastGood.runId).toBe('run-2');
  });

  test('the default tolerance is 25 % and 1 s', () => {
    expect(DEFAULT_TOLERANCE).toEqual({ relative: 0.25, absoluteSeconds: 1 });
    expect(trendsOf([run('r1', 'passed', 10)], run('now', 'passed', 13))[0]!.regression).toBeDefined();
  });
});

describe('regressions', () => {
  const regressionOf = (history: RunMeasurements[], now: number | null, tolerance = TOL, status = 'passed') =>
    trendsOf(history, run('now', status, now), tolerance)[0]!.regression;

  test('slower beyond both the relative and the absolute tolerance is a regression, with its figures', () => {
    const r1 = run('r1', 'passed', 10);
    const r = regressionOf([r1], 13);
    expect(r).toBeDefined();
    expect(r!.seconds).toBe(13);
    expect(r!.slowerBy).toBeCloseTo(0.3, 10);
    expect(r!.lastGood).toEqual({ runId: 'r1', at: r1.run.at, status: 'passed', seconds: 10 });
  });

  test('beyond the absolute margin but within the relative share is not', () => {
    // 10 s → 12 s: 2 s slower, but only 20 %
    expect(regressionOf([run('r1', 'passed', 10)], 12)).toBeUndefined();
  });

  test('beyond the relative share but within the absolute margin is not (0.2 s → 0.3 s)', () => {
    expect(regressionOf([run('r1', 'passed', 0.2)], 0.3)).toBeUndefined();
    // the same 50 % with a margin of 0.05 s is one
    expect(regressionOf([run('r1', 'passed', 0.2)], 0.3, { relative: 0.25, absoluteSeconds: 0.05 })).toBeDefined();
  });

  test('exactly the relative share is not more than it; exactly the absolute margin is at least it', () => {
    expect(regressionOf([run('r1', 'passed', 10)], 12.5)).toBeUndefined(); // 25 %, 2.5 s
    expect(regressionOf([run('r1', 'passed', 2)], 3)).toBeDefined(); // 50 %, 1 s
  });

  test('faster or equal is never a regression', () => {
    expect(regressionOf([run('r1', 'passed', 10)], 10)).toBeUndefined();
    expect(regressionOf([run('r1', 'passed', 10)], 2)).toBeUndefined();
  });

  test('the last good run is the latest earlier run that passed with a value', () => {
    // r2 is the latest passed run with a value; r3 failed, r4 passed but never recovered, r5 did not measure it
    const history = [run('r1', 'passed', 100), run('r2', 'passed', 20), run('r3', 'failed', 5), run('r4', 'passed', null), run('r5', 'passed', undefined)];
    const r = regressionOf(history, 26);
    expect(r?.lastGood.runId).toBe('r2');
    expect(r?.lastGood.seconds).toBe(20);
    expect(r?.slowerBy).toBeCloseTo(0.3, 10);
    // against r1 (100 s) or r3 (5 s) the verdict would differ: 24 s is within tolerance of r2's 20 s
    expect(regressionOf(history, 24)).toBeUndefined();
  });

  test('a failed earlier run is not the last good one even when it is the latest', () => {
    const r = regressionOf([run('r1', 'passed', 10), run('r2', 'failed', 30)], 14);
    expect(r?.lastGood.runId).toBe('r1');
  });

  test('a current value of null (never recovered) is never a regression', () => {
    expect(regressionOf([run('r1', 'passed', 10)], null)).toBeUndefined();
    expect(regressionOf([run('r1', 'passed', 10)], null, TOL, 'failed')).toBeUndefined();
  });

  test('without an earlier good run there is no regression', () => {
    expect(regressionOf([], 1000)).toBeUndefined();
    expect(regressionOf([run('r1', 'failed', 1), run('r2', 'broken', 2), run('r3', 'passed', null)], 1000)).toBeUndefined();
  });

  test('a current run that did not pass can still be slower than the last good run', () => {
    expect(regressionOf([run('r1', 'passed', 10)], 20, TOL, 'failed')).toBeDefined();
  });

  test('describeRegression and describeTolerance state the figures', () => {
    const r1 = run('r1', 'passed', 10);
    const trend = trendsOf([r1], run('now', 'passed', 13), TOL)[0]!;
    expect(describeRegression(trend)).toBe(`${M}: 13.0 s, 30 % slower than the last good run (10.0 s on ${r1.run.at}, run r1)`);
    expect(describeTolerance({ relative: 0.1, absoluteSeconds: 2 })).toBe('more than 10 % and at least 2 s slower than the last good run');
  });
});

describe('formatTrends', () => {
  test('no trends says there are no measurements', () => {
    expect(formatTrends([], TOL)).toBe('no SLO measurements in these results');
  });

  test('regressions come first, flagged; a run that did not pass is marked "!"; a null value is "never"', () => {
    const steady: RunMeasurements = {
      run: { id: 'now', at: 'z' },
      tests: [
        { key: 'k-steady', path: ['etcd', 'leader'], status: 'passed', measurements: [{ name: 'leader elected', seconds: 2, sloSeconds: 5, outcome: 'ok' }] },
        { key: KEY, path: PATH, status: 'passed', measurements: [measurement(13)] },
        { key: 'k-never', path: ['ha', 'api'], status: 'failed', measurements: [{ name: 'readyz', seconds: null, outcome: 'timed-out' }] },
      ],
    };
    const history: RunMeasurements[] = [
      { run: { id: 'r1', at: 'a' }, tests: [{ key: KEY, path: PATH, status: 'passed', measurements: [measurement(10)] }, { key: 'k-steady', path: ['etcd', 'leader'], status: 'passed', measurements: [{ name: 'leader elected', seconds: 2.04, sloSeconds: 5, outcome: 'ok' }] }] },
      { run: { id: 'r2', at: 'b' }, tests: [{ key: KEY, path: PATH, status: 'failed', measurements: [measurement(5)] }] },
    ];
    const trends = trendsOf(history, steady, TOL);
    const lines = formatTrends(trends, TOL).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`3 measurement(s), 1 slower than the last good run (tolerance: ${describeTolerance(TOL)}); "!" marks a run that did not pass`);
    expect(lines[1]).toBe(`SLOWER ha > vip-failover > the VIP moves: ${M} (SLO 75 s, slo.vipFailoverHardSeconds): 10.0 → 5.0! → 13.0 s`);
    expect(lines.slice(2)).toEqual(['etcd > leader: leader elected (SLO 5 s): 2.0 → 2.0 s', 'ha > api: readyz: never! s']);
  });

  test('shows at most the last ten values of a trend', () => {
    const history = Array.from({ length: 14 }, (_, i) => run(`r${i}`, 'passed', i + 1));
    const trend = trendsOf(history, run('now', 'passed', 15), TOL)[0]!;
    expect(trend.points).toHaveLength(15);
    const line = formatTrends([trend], TOL).split('\n')[1]!;
    expect(line.endsWith(`: ${[6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((n) => n.toFixed(1)).join(' → ')} s`)).toBe(true);
  });
});
