import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FAULTS_ATTACHMENT, type ReportedFault } from '../../core/report/attach.ts';
import type { AllureResult, ResultFile } from '../../core/report/result-files.ts';
import { renderSummaryPage, reportLink, type SummaryInput } from '../../core/report/summary-page.ts';
import { describeRegression, describeTolerance, trendsOf, type RunMeasurements, type Tolerance, type Trend } from '../../core/report/trends.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-summary-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
function freshDir(): string {
  const dir = join(scratch, `${++seq}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const TOL: Tolerance = { relative: 0.25, absoluteSeconds: 1 };
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function rf(dir: string, over: Partial<AllureResult> & { name: string }): ResultFile {
  const uuid = `0000-${++seq}-${over.name.length}`;
  return { file: join(dir, `${uuid}-result.json`), result: { uuid, titlePath: ['ha', 'vip-failover'], status: 'passed', ...over } };
}

/** The faults attachment as allure-vitest writes it: a JSON file in the results, referenced from a step of its own. */
function withFaults(dir: string, r: ResultFile, faults: ReportedFault[] | string): ResultFile {
  const source = `${r.result.uuid}-faults-attachment.json`;
  writeFileSync(join(dir, source), typeof faults === 'string' ? faults : JSON.stringify(faults, null, 2));
  r.result.steps = [
    { name: 'steady state', steps: [] },
    { name: FAULTS_ATTACHMENT, attachments: [{ name: FAULTS_ATTACHMENT, source, type: 'application/json' }] },
  ];
  return r;
}

function page(over: Partial<SummaryInput> & { resultsDir: string }): string {
  return renderSummaryPage({ results: [], trends: [], tolerance: TOL, environment: {}, reportName: 'clusterproof', ...over });
}

const verdictOf = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];

/** The rows (cells as HTML) of the section whose heading starts with `title`. */
function rowsOf(html: string, title: string): string[][] {
  const section = [...html.matchAll(/<section><h2>([^<]*)<\/h2>([\s\S]*?)<\/section>/g)].find((m) => m[1]!.startsWith(title));
  expect(section, `section "${title}"`).toBeDefined();
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(section![2]!)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) => [...tr[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((td) => td[1]!));
}
const headingOf = (html: string, title: string) => [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!).find((h) => h.startsWith(title));

function trend(key: string, path: string[], measurement: string, sloSeconds: number | undefined, values: Array<number | null>): Trend {
  const runs: RunMeasurements[] = values.map((seconds, i) => ({
    run: { id: `run-${i}`, at: `2024-03-0${i + 1}T08:00:00.000Z` },
    tests: [{ key, path, status: 'passed', measurements: [{ name: measurement, seconds, sloSeconds, sloName: sloSeconds ? 'slo.x' : undefined, outcome: 'ok' }] }],
  }));
  return trendsOf(runs.slice(0, -1), runs.at(-1)!, TOL)[0]!;
}

describe('renderSummaryPage: the verdict', () => {
  test('FAILED when any result failed or broke', () => {
    const dir = freshDir();
    const failed = page({ resultsDir: dir, results: [rf(dir, { name: 'a' }), rf(dir, { name: 'b', status: 'failed' }), rf(dir, { name: 'c', status: 'skipped' })] });
    expect(verdictOf(failed)).toBe('FAILED');
    expect(failed).toContain('<header class="bad">');
    expect(verdictOf(page({ resultsDir: dir, results: [rf(dir, { name: 'a' }), rf(dir, { name: 'b', status: 'broken' })] }))).toBe('FAILED');
    expect(failed).toContain('clusterproof: 1 passed, 1 failed, 1 skipped;');
  });

  test('PASSED when only passed and skipped results', () => {
    const dir = freshDir();
    const html = page({ resultsDir: dir, results: [rf(dir, { name: 'a' }), rf(dir, { name: 'b', status: 'skipped' })] });
    expect(verdictOf(html)).toBe('PASSED');
    expect(html).toContain('<header class="ok">');
    expect(html).toContain('<title>clusterproof: PASSED</title>');
  });

  test('NOTHING RAN with no results, or only skipped ones', () => {
    const dir = freshDir();
    expect(verdictOf(page({ resultsDir: dir }))).toBe('NOTHING RAN');
    const skippedOnly = page({ resultsDir: dir, results: [rf(dir, { name: 'a', status: 'skipped' })] });
    expect(verdictOf(skippedOnly)).toBe('NOTHING RAN');
    expect(skippedOnly).toContain('<header class="bad">');
  });
});

describe('renderSummaryPage: sections', () => {
  test('what ran where shows the environment but not the build-internal keys', () => {
    const dir = freshDir();
    const html = page({ resultsDir: dir, environment: { target: 'lab', profile: 'profiles/lab.yaml', 'node.version': 'v20', 'clusterproof.commit': 'abc' } });
    expect(rowsOf(html, 'What ran where')).toEqual([
      ['target', 'lab'],
      ['profile', 'profiles/lab.yaml'],
    ]);
    expect(page({ resultsDir: dir })).toContain('<p>The results record no target.</p>');
  });

  test("each failure links to its result in the report by the md5 of the result's uuid, with its kind and the first line of its reason", () => {
    const dir = freshDir();
    const violation = rf(dir, { name: 'a new leader in time', titlePath: ['etcd', 'leader-loss'], status: 'failed', statusDetails: { message: '\nSLO violated: new leader after 7.2 s\nmore detail', trace: 'AssertionError: x' } });
    const flake = rf(dir, { name: 'the lab answers', status: 'broken', statusDetails: { message: 'connect ECONNREFUSED 198.18.40.60:6443', trace: 'Error: connect ECONNREFUSED' } });
    const harness = rf(dir, { name: 'ArgoCD syncs', status: 'broken', statusDetails: { message: 'Cannot read properties of undefined', trace: 'TypeError: Cannot read' } });
    const html = page({ resultsDir: dir, results: [rf(dir, { name: 'passes' }), violation, flake, harness] });
    expect(headingOf(html, 'Failures')).toBe('Failures (3)');
    expect(rowsOf(html, 'Failures')).toEqual([
      [`<a href="index.html#${md5(violation.result.uuid)}">etcd › leader-loss › a new leader in time</a>`, 'property violation', 'SLO violated: new leader after 7.2 s'],
      [`<a href="index.html#${md5(flake.result.uuid)}">ha › vip-failover › the lab answers</a>`, 'infrastructure flake', 'connect ECONNREFUSED 198.18.40.60:6443'],
      [`<a href="index.html#${md5(harness.result.uuid)}">ha › vip-failover › ArgoCD syncs</a>`, 'harness error', 'Cannot read properties of undefined'],
    ]);
    expect(reportLink('abc')).toBe(`index.html#${md5('abc')}`);
  });

  test('no failures says none', () => {
    const dir = freshDir();
    const html = page({ resultsDir: dir, results: [rf(dir, { name: 'a' })] });
    expect(headingOf(html, 'Failures')).toBe('Failures (0)');
    expect(html).toMatch(/<h2>Failures \(0\)<\/h2><p>None\.<\/p>/);
  });

  test('skipped results give the reason from their "Skipped: …" description, or say none was recorded', () => {
    const dir = freshDir();
    const html = page({
      resultsDir: dir,
      results: [rf(dir, { name: 'two announcers', status: 'skipped', description: 'Skipped: the profile has one node' }), rf(dir, { name: 'unexplained', status: 'skipped' })],
    });
    expect(headingOf(html, 'Skipped')).toBe('Skipped (2)');
    expect(rowsOf(html, 'Skipped')).toEqual([
      ['ha › vip-failover › two announcers', 'the profile has one node'],
      ['ha › vip-failover › unexplained', 'no reason recorded'],
    ]);
  });

  test("faults come from each result's faults attachment; a fault never undone is flagged NOT UNDONE with its error", () => {
    const dir = freshDir();
    const a = withFaults(dir, rf(dir, { name: 'power-off' }), [
      { description: 'power off cp2', undo: 'power on cp2', recordedAt: '2024-03-01T08:00:00.000Z', appliedAt: '2024-03-01T08:00:01.250Z', undoneAt: '2024-03-01T08:01:10.500Z' },
      { description: 'partition cp3', undo: 'heal cp3', recordedAt: '2024-03-01T08:00:00.000Z', appliedAt: '2024-03-01T08:00:02.000Z', error: 'cp3 unreachable' },
    ]);
    const b = withFaults(dir, rf(dir, { name: 'not applied', titlePath: ['etcd', 'x'] }), [{ description: 'stop etcd on cp1', undo: 'start etcd', recordedAt: '2024-03-01T08:00:00.000Z' }]);
    const torn = withFaults(dir, rf(dir, { name: 'torn' }), '[{"description":');
    const none = rf(dir, { name: 'no faults' });
    const html = page({ resultsDir: dir, results: [a, b, torn, none] });
    expect(headingOf(html, 'Faults applied and undone')).toBe('Faults applied and undone (3)');
    // in the order they happened (one never applied: when it was recorded)
    expect(rowsOf(html, 'Faults applied and undone')).toEqual([
      ['etcd › x › not applied', 'stop etcd on cp1', 'not applied', '<b class="badtext">NOT UNDONE</b> (run <code>clusterproof recover</code>)'],
      ['ha › vip-failover › power-off', 'power off cp2', '2024-03-01 08:00:01Z', '2024-03-01 08:01:10Z (power on cp2)'],
      ['ha › vip-failover › power-off', 'partition cp3', '2024-03-01 08:00:02Z', '<b class="badtext">NOT UNDONE: cp3 unreachable</b> (run <code>clusterproof recover</code>)'],
    ]);
    expect(page({ resultsDir: dir, results: [none] })).toContain('<p>No fault was applied.</p>');
  });

  test('a rerun of an experiment replaces its earlier result, as in the report', () => {
    const dir = freshDir();
    const first = rf(dir, { name: 'the VIP moves', historyId: 'h1', status: 'passed', stop: 1000 });
    const rerun = rf(dir, { name: 'the VIP moves', historyId: 'h1', status: 'broken', stop: 2000, statusDetails: { message: 'SLO violated: slow' } });
    const html = page({ resultsDir: dir, results: [rerun, first] });
    expect(html).toMatch(/<h1>FAILED<\/h1>/);
    expect(html).toContain(': 0 passed, 1 failed, 0 skipped');
  });

  test('slowest recoveries are sorted by share of their SLO, a wait that never ended first', () => {
    const dir = freshDir();
    const half = trend('k1', ['ha', 'a'], 'half', 10, [5]);
    const never = trend('k2', ['ha', 'b'], 'never', 10, [null]);
    const near = trend('k3', ['ha', 'c'], 'near', 10, [9]);
    const over = trend('k4', ['ha', 'd'], 'over', 4, [6]);
    const noSlo = trend('k5', ['ha', 'e'], 'unbounded', undefined, [50]);
    const rows = rowsOf(page({ resultsDir: dir, trends: [half, noSlo, near, never, over] }), 'Slowest recoveries');
    expect(rows.map((r) => r[1])).toEqual(['never', 'over', 'near', 'half', 'unbounded']);
    expect(rows[0]!.slice(0, 3)).toEqual(['ha › b', 'never', '<b>never</b>']);
    expect(rows[0]![4]).toContain('never recovered');
    expect(rows[1]!.slice(2)).toEqual(['6.0 s', '4 s <small>slo.x</small>', expect.stringMatching(/class="over".* 150 %$/)]);
    expect(rows[2]![4]).toMatch(/class="near".* 90 %$/);
    expect(rows[3]![4]).toMatch(/ 50 %$/);
    expect(rows[4]!.slice(2)).toEqual(['50.0 s', '', '']);
  });

  test('slowest recoveries shows at most ten', () => {
    const dir = freshDir();
    const trends = Array.from({ length: 12 }, (_, i) => trend(`k${i}`, ['ha', `s${i}`], `m${i}`, 100, [i + 1]));
    const rows = rowsOf(page({ resultsDir: dir, trends }), 'Slowest recoveries');
    expect(rows.map((r) => r[1])).toEqual(Array.from({ length: 10 }, (_, i) => `m${11 - i}`));
  });

  test('regressions are listed with their figures, and the tolerance is stated', () => {
    const dir = freshDir();
    const slower = trend('k1', ['ha', 'vip'], 'VIP answers again', 75, [10, 13]);
    const steady = trend('k2', ['ha', 'api'], 'readyz', 75, [10, 10]);
    expect(slower.regression).toBeDefined();
    const html = page({ resultsDir: dir, trends: [slower, steady] });
    expect(headingOf(html, 'Slower than the last good run')).toBe('Slower than the last good run (1)');
    expect(html).toContain(`<li>ha › vip: ${describeRegression(slower)}</li>`);
    expect(html).toContain(`A regression is ${describeTolerance(TOL)}.`);
    expect(html).toContain('1 measurement(s) slower than the last good run.');
  });
});

describe('renderSummaryPage: self-contained and escaped', () => {
  const IMG = '<img src=x onerror=alert(1)>';

  test('no script and no external resource', () => {
    const dir = freshDir();
    const html = page({ resultsDir: dir, results: [rf(dir, { name: 'a', status: 'failed' })], trends: [trend('k', ['ha'], 'm', 5, [1])] });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|@import|url\(/i);
    for (const href of html.matchAll(/href="([^"]*)"/g)) expect(href[1]).toMatch(/^index\.html(#[0-9a-f]{32})?$/);
  });

  test('every interpolated value is HTML-escaped', () => {
    const dir = freshDir();
    const failed = rf(dir, { name: `fails ${IMG}`, titlePath: [`fam ${IMG}`, 's'], status: 'failed', statusDetails: { message: `SLO violated: ${IMG} & "x"` } });
    const skipped = rf(dir, { name: `skips ${IMG}`, status: 'skipped', description: `Skipped: ${IMG}` });
    const faulty = withFaults(dir, rf(dir, { name: `faults ${IMG}` }), [
      { description: `fault ${IMG}`, undo: `undo ${IMG}`, recordedAt: 'r', appliedAt: `applied ${IMG}`, undoneAt: `undone ${IMG}` },
      { description: 'd', undo: 'u', recordedAt: 'r', error: `error ${IMG}` },
    ]);
    const t = trend('k1', [`path ${IMG}`], `measurement ${IMG}`, 10, [1, 5]);
    t.sloName = `slo ${IMG}`;
    const html = page({
      resultsDir: dir,
      reportName: `report ${IMG}`,
      environment: { [`key ${IMG}`]: `value ${IMG}` },
      results: [failed, skipped, faulty],
      trends: [t],
    });
    expect(t.regression).toBeDefined();
    expect(html).not.toContain('<img');
    const escaped = '&lt;img src=x onerror=alert(1)&gt;';
    for (const shown of [
      `report ${escaped}`,
      `key ${escaped}`,
      `value ${escaped}`,
      `fam ${escaped} › s › fails ${escaped}`,
      `SLO violated: ${escaped} &amp; &quot;x&quot;`,
      `skips ${escaped}`,
      `<td>${escaped}</td>`, // the skip reason
      `fault ${escaped}`,
      `undone ${escaped} (undo ${escaped})`,
      `applied ${escaped}`,
      `NOT UNDONE: error ${escaped}`,
      `path ${escaped}`,
      `measurement ${escaped}`,
      `<small>slo ${escaped}</small>`,
    ])
      expect(html).toContain(shown);
  });
});
