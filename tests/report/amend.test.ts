import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { amendResults, TREND_PREFIX } from '../../core/report/amend.ts';
import { REGRESSION_LABEL } from '../../core/report/categories.ts';
import type { AllureResult } from '../../core/report/result-files.ts';
import type { TimelineData, TimelineSpan } from '../../core/report/timeline-data.ts';
import { describeRegression, readMeasurementHistory, type Tolerance } from '../../core/report/trends.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-amend-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
function freshDir(name: string): string {
  const dir = join(scratch, `${++seq}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const TOL: Tolerance = { relative: 0.25, absoluteSeconds: 1 };
const NAME = 'the VIP moves after a hard power-off of its holder';
const HISTORY_ID = 'history-vip-failover';
const STOP = Date.UTC(2024, 2, 1, 8, 15, 0);

interface Spec {
  uuid?: string;
  status?: string;
  stop?: number;
  /** seconds per measured wait; null: it never ended */
  vip?: number | null;
  leader?: number;
  historyId?: string;
}

function span(name: string, seconds: number | null, sloSeconds: number, sloName: string): TimelineSpan {
  return seconds === null
    ? { name, startMs: 500, sloMs: sloSeconds * 1000, sloName, outcome: 'timed-out' }
    : { name, startMs: 500, endMs: 500 + seconds * 1000, sloMs: sloSeconds * 1000, sloName, outcome: seconds > sloSeconds ? 'slo-violated' : 'ok' };
}

/** One result as allure-vitest writes it, its timeline data attached in a step of its own. */
function writeResult(dir: string, s: Spec): string {
  const uuid = s.uuid ?? `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const spans: TimelineSpan[] = [
    { name: 'power off the holder', startMs: 0, endMs: 400, outcome: 'ok' }, // no SLO: not a measurement
    { name: 'still waiting', startMs: 0, sloMs: 1000, outcome: 'running' }, // never settled: not a measurement
  ];
  if (s.vip !== undefined) spans.push(span('VIP answers again', s.vip, 75, 'slo.vipFailoverHardSeconds'));
  if (s.leader !== undefined) spans.push(span('new etcd leader', s.leader, 5, 'slo.etcdLeaderSeconds'));
  const timeline: TimelineData = { experiment: NAME, startedAt: '2024-03-01T08:14:00.000Z', marks: [], spans, series: [] };
  const source = `${uuid}-attachment.json`;
  writeFileSync(join(dir, source), JSON.stringify(timeline));
  writeFileSync(join(dir, `${uuid}-evidence-attachment.txt`), 'evidence');
  const result: AllureResult & Record<string, unknown> = {
    uuid,
    name: NAME,
    fullName: `suites:suites/ha/vip-failover.test.ts#ha/vip-failover ${NAME}`,
    titlePath: ['suites', 'suites', 'ha', 'vip-failover.test.ts', 'ha/vip-failover'],
    historyId: s.historyId ?? HISTORY_ID,
    status: s.status ?? 'passed',
    stage: 'finished',
    start: (s.stop ?? STOP) - 60_000,
    stop: s.stop ?? STOP,
    labels: [
      { name: 'framework', value: 'vitest' },
      { name: 'parentSuite', value: 'suites' },
      { name: 'suite', value: 'ha/vip-failover.test.ts' },
    ],
    steps: [
      { name: 'steady state', status: 'passed', steps: [] },
      { name: `timeline data: ${NAME}`, status: 'passed', steps: [], attachments: [{ name: `timeline data: ${NAME}`, source, type: 'application/json' }] },
    ],
    attachments: [{ name: 'evidence', source: `${uuid}-evidence-attachment.txt`, type: 'text/plain' }],
  };
  writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify(result));
  return uuid;
}

function writeRunId(dir: string, id: string): void {
  writeFileSync(join(dir, 'environment.properties'), `target=lab\nrun.id=${id}\n`);
}

const readResult = (dir: string, uuid: string) => JSON.parse(readFileSync(join(dir, `${uuid}-result.json`), 'utf8')) as AllureResult;
const historyLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
const trendAttachments = (r: AllureResult) => (r.attachments ?? []).filter((a) => a.name.startsWith(TREND_PREFIX));
const regressionLabels = (r: AllureResult) => (r.labels ?? []).filter((l) => l.name === REGRESSION_LABEL);

/** One run: a results dir with one experiment and a run id, amended against `history`. */
/** run-1 ends at STOP, each further run id a day later (the same id always at the same time: a rebuild) */
const dayOf = new Map<string, number>();
function amendRun(history: string, runId: string, s: Spec) {
  const dir = freshDir(runId);
  writeRunId(dir, runId);
  if (!dayOf.has(runId)) dayOf.set(runId, dayOf.size);
  const uuid = writeResult(dir, { stop: STOP + dayOf.get(runId)! * 86_400_000, ...s });
  const amended = amendResults(dir, { measurementHistory: history, tolerance: TOL });
  return { dir, uuid, amended, result: readResult(dir, uuid) };
}

describe('amendResults: one run', () => {
  test('flattens the tree in the written result, keeping its other labels', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const { result } = amendRun(history, 'run-1', { vip: 10, leader: 2 });
    expect(result.titlePath).toEqual(['ha', 'vip-failover']);
    expect(result.labels).toEqual([
      { name: 'framework', value: 'vitest' },
      { name: 'parentSuite', value: 'ha' },
      { name: 'suite', value: 'vip-failover' },
    ]);
  });

  test('attaches one trend chart per measurement, each an SVG file written beside the result', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const { dir, result, amended } = amendRun(history, 'run-1', { vip: 10, leader: 2 });
    const trends = trendAttachments(result);
    expect(trends.map((a) => a.name)).toEqual([`${TREND_PREFIX}VIP answers again`, `${TREND_PREFIX}new etcd leader`]);
    for (const a of trends) {
      expect(a.type).toBe('image/svg+xml');
      const svg = readFileSync(join(dir, a.source), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).toContain(`>${a.name.slice(TREND_PREFIX.length)}</text>`);
    }
    // the other attachment stays
    expect(result.attachments!.map((a) => a.name)).toContain('evidence');
    expect(amended.trends.map((t) => t.measurement)).toEqual(['VIP answers again', 'new etcd leader']);
    expect(regressionLabels(result)).toEqual([]);
  });

  test('records the run in the measurement history: one line, its id, time, target and measurements', () => {
    const history = join(freshDir('history'), 'nested', 'measurements.jsonl');
    const { amended } = amendRun(history, 'run-1', { vip: 10.25, leader: 2, status: 'passed' });
    expect(historyLines(history)).toHaveLength(1);
    const [run] = readMeasurementHistory(history);
    expect(run).toEqual(amended.run);
    expect(run!.run).toEqual({ id: 'run-1', at: new Date(STOP).toISOString(), target: 'lab' });
    expect(run!.tests).toEqual([
      {
        key: HISTORY_ID,
        path: ['ha', 'vip-failover', NAME],
        status: 'passed',
        measurements: [
          { name: 'VIP answers again', seconds: 10.25, sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds', outcome: 'ok' },
          { name: 'new etcd leader', seconds: 2, sloSeconds: 5, sloName: 'slo.etcdLeaderSeconds', outcome: 'ok' },
        ],
      },
    ]);
  });

  test('a wait that never ended is kept as a measurement without a value', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const { amended, result } = amendRun(history, 'run-1', { vip: null, status: 'failed' });
    expect(amended.run.tests[0]!.measurements).toEqual([{ name: 'VIP answers again', seconds: null, sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds', outcome: 'timed-out' }]);
    expect(trendAttachments(result)).toHaveLength(1);
  });
});

describe('amendResults: rebuilding the same run', () => {
  test('amending again with the same run id adds no history line and no second set of trend charts', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const { dir, uuid, result: first } = amendRun(history, 'run-1', { vip: 10, leader: 2 });
    const filesBefore = readdirSync(dir).sort();
    amendResults(dir, { measurementHistory: history, tolerance: TOL });
    const second = readResult(dir, uuid);
    expect(historyLines(history)).toHaveLength(1);
    expect(trendAttachments(second)).toEqual(trendAttachments(first));
    expect(second.attachments!.filter((a) => a.name === 'evidence')).toHaveLength(1);
    expect(second.titlePath).toEqual(first.titlePath);
    expect(second.labels).toEqual(first.labels);
    expect(readdirSync(dir).sort()).toEqual(filesBefore);
    for (const a of trendAttachments(second)) expect(existsSync(join(dir, a.source))).toBe(true);
  });

  test("rebuilding an earlier run's report after a later run gives the same report", () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const first = amendRun(history, 'run-1', { vip: 20 });
    amendRun(history, 'run-2', { vip: 10, stop: STOP + 86_400_000 }); // the next day, faster
    amendResults(first.dir, { measurementHistory: history, tolerance: TOL });
    const rebuilt = readResult(first.dir, first.uuid);
    expect(regressionLabels(rebuilt)).toEqual(regressionLabels(first.result)); // none: run-1 was not slower than anything before it
    expect(rebuilt.labels).toEqual(first.result.labels);
    expect(historyLines(history)).toHaveLength(2);
  });

  test('without a recorded run id, the id derived from the results is the same on a rebuild', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const dir = freshDir('no-run-id');
    const uuid = writeResult(dir, { vip: 10 });
    const a = amendResults(dir, { measurementHistory: history, tolerance: TOL });
    const b = amendResults(dir, { measurementHistory: history, tolerance: TOL });
    expect(a.run.run.id).toMatch(/^[0-9a-f]{16}$/);
    expect(b.run.run.id).toBe(a.run.run.id);
    expect(historyLines(history)).toHaveLength(1);
    expect(trendAttachments(readResult(dir, uuid))).toHaveLength(1);
  });

  test('a retried experiment is measured once, from its last attempt', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    const dir = freshDir('retried');
    writeRunId(dir, 'run-1');
    writeResult(dir, { status: 'failed', vip: 50, stop: STOP - 120_000 });
    writeResult(dir, { status: 'passed', vip: 10, stop: STOP });
    const { run } = amendResults(dir, { measurementHistory: history, tolerance: TOL });
    expect(run.tests).toHaveLength(1);
    expect(run.tests[0]!.status).toBe('passed');
    expect(run.tests[0]!.measurements.map((m) => m.seconds)).toEqual([10]);
  });
});

describe('amendResults: across runs', () => {
  test('a later run slower beyond the tolerance gets a regression label describing it; a steady one does not', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    amendRun(history, 'run-1', { vip: 10, leader: 2 });
    // VIP: 10 s → 20 s (100 %, 10 s) regresses; leader: 2 s → 2.2 s does not
    const { amended, result, dir, uuid } = amendRun(history, 'run-2', { vip: 20, leader: 2.2, stop: STOP + 86_400_000 });
    expect(historyLines(history)).toHaveLength(2);
    const vip = amended.trends.find((t) => t.measurement === 'VIP answers again')!;
    expect(vip.points.map((p) => [p.runId, p.seconds])).toEqual([
      ['run-1', 10],
      ['run-2', 20],
    ]);
    expect(vip.regression?.lastGood.runId).toBe('run-1');
    expect(regressionLabels(result)).toEqual([{ name: REGRESSION_LABEL, value: describeRegression(vip) }]);
    expect(regressionLabels(result)[0]!.value).toContain('VIP answers again: 20.0 s, 100 % slower than the last good run (10.0 s');
    // the chart says so too
    const svg = readFileSync(join(dir, trendAttachments(result)[0]!.source), 'utf8');
    expect(svg).toContain('this run: 20.0 s, 100 % slower than the last good run (10.0 s)');
    // rebuilding run-2 keeps one label, one chart per measurement and two history lines
    amendResults(dir, { measurementHistory: history, tolerance: TOL });
    const again = readResult(dir, uuid);
    expect(regressionLabels(again)).toHaveLength(1);
    expect(trendAttachments(again)).toHaveLength(2);
    expect(historyLines(history)).toHaveLength(2);
  });

  test('within the tolerance there is no regression label', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    amendRun(history, 'run-1', { vip: 10 });
    const { result } = amendRun(history, 'run-2', { vip: 12 }); // 20 % slower
    expect(regressionLabels(result)).toEqual([]);
  });

  test('a failed earlier run is not the last good one', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    amendRun(history, 'run-1', { vip: 10, status: 'passed' });
    amendRun(history, 'run-2', { vip: 30, status: 'failed' });
    // 14 s: 40 % and 4 s slower than run-1's 10 s; against the failed run-2 (30 s) it would be faster
    const { amended, result } = amendRun(history, 'run-3', { vip: 14 });
    const vip = amended.trends[0]!;
    expect(vip.points.map((p) => p.status)).toEqual(['passed', 'failed', 'passed']);
    expect(vip.regression?.lastGood.runId).toBe('run-1');
    expect(regressionLabels(result)).toHaveLength(1);
    expect(regressionLabels(result)[0]!.value).toContain('run run-1)');
  });

  test('a run that never recovered gets no regression label', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    amendRun(history, 'run-1', { vip: 10 });
    const { result } = amendRun(history, 'run-2', { vip: null, status: 'failed' });
    expect(regressionLabels(result)).toEqual([]);
  });

  test('another experiment in the history does not feed this one', () => {
    const history = join(freshDir('history'), 'measurements.jsonl');
    amendRun(history, 'run-1', { vip: 1, historyId: 'another-experiment' });
    const { amended, result } = amendRun(history, 'run-2', { vip: 20 });
    expect(amended.trends[0]!.points.map((p) => p.runId)).toEqual(['run-2']);
    expect(regressionLabels(result)).toEqual([]);
  });
});
