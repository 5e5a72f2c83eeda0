/**
 * The report of a lab run, opened in a real browser as a reviewer opens it: from the file, with the network off.
 * It is built from what this test run already did on the lab, with two runs in its history:
 *  1. the suites on the lab (tests/lab/suites-on-lab.test.ts: every suite, all green), reported first;
 *  2. the same results plus a failing negative control's (tests/negative/vip-disabled.test.ts: the hard power-off
 *     experiment of ha/vip-failover on a lab where the VIP cannot move), reported second, as one run.
 * So the report holds every experiment, one of them failed, and each measurement has two runs of trend (equal for
 * the experiments both runs share, a recovery that never happened for the failing one).
 *
 * A reviewer must be able to answer from the page alone what was broken, when, how long recovery took against which
 * SLO, and whether that is slower than before. Screenshots of a passed and a failed experiment, and of the summary
 * page, are kept beside the report; with CLUSTERPROOF_SCREENSHOTS=<dir> they are copied there (docs/ for the README).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildReport, type BuiltReport } from '../../core/report/build.ts';
import { readEnvironment, writeEnvironment } from '../../core/report/environment.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { chromiumMissing, launchChromium, offlinePage, type OfflinePage } from '../support/browser.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { negativeResultsDir } from '../support/negative-results.ts';

const SUITES_RESULTS = join(labPaths.logs(), 'suites-on-lab-results');
const NEGATIVE_RESULTS = negativeResultsDir('vip-disabled');
const PASSED = 'the VIP moves to another control plane after a graceful shutdown of its holder';
const FAILED = 'the VIP moves to another control plane after a hard power-off of its holder';
const MEASUREMENT = '/readyz answers through the VIP from another node';

function resultsMissing(): string | undefined {
  for (const [dir, by] of [
    [SUITES_RESULTS, 'tests/lab/suites-on-lab.test.ts'],
    [NEGATIVE_RESULTS, 'tests/negative/vip-disabled.test.ts'],
  ] as const) {
    if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('-result.json'))) return `no lab results at ${dir} (${by} writes them, earlier in the same run)`;
  }
  return undefined;
}

const skip = labSkipReason() ?? chromiumMissing() ?? resultsMissing();
if (skip && process.env.CI === 'true' && !labSkipReason()) {
  test('the report browser test has what it needs under CI', () => {
    throw new Error(`cannot test the report in a browser: ${skip}`);
  });
}

describe.skipIf(skip)('the report of a lab run, in a real browser', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-report-browser-'));
  const history = join(scratch, 'history', 'history.jsonl');
  let report: BuiltReport;
  let browser: Browser;
  let home: OfflinePage;

  beforeAll(async () => {
    const first = join(scratch, 'run-1-results');
    cpSync(SUITES_RESULTS, first, { recursive: true });
    await buildReport({ resultsDir: first, outputDir: join(scratch, 'report-1'), historyFile: history, reportName: 'clusterproof lab' });

    const second = join(scratch, 'run-2-results');
    cpSync(SUITES_RESULTS, second, { recursive: true });
    for (const f of readdirSync(NEGATIVE_RESULTS)) if (f !== 'environment.properties') copyFileSync(join(NEGATIVE_RESULTS, f), join(second, f));
    const runId = readEnvironment(SUITES_RESULTS)['run.id'] ?? 'suites-on-lab';
    writeEnvironment(second, { 'run.id': `${runId} + negative control vip-disabled` });
    report = await buildReport({ resultsDir: second, outputDir: join(scratch, 'report-2'), historyFile: history, reportName: 'clusterproof lab' });

    browser = await launchChromium();
    home = await offlinePage(browser);
    await home.page.goto(pathToFileURL(report.indexHtml).href);
    await home.page.getByText('vip-failover', { exact: true }).or(home.page.getByText('ha', { exact: true })).first().waitFor({ timeout: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    const keep = process.env.CLUSTERPROOF_SCREENSHOTS;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const f of ['report-passed.png', 'report-failed.png', 'report-summary.png']) if (existsSync(join(scratch, f))) copyFileSync(join(scratch, f), join(keep, f));
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Open an experiment from the tree, as a reviewer does: family, suite, then the experiment. */
  async function openExperiment(page: Page, name: string, [family, suite] = ['ha', 'vip-failover']): Promise<void> {
    await page.goto(pathToFileURL(report.indexHtml).href);
    const path = [family!, suite!, name];
    for (let i = 0; i < 2; i++) {
      const node = page.getByText(path[i]!, { exact: true }).first();
      await node.waitFor();
      // a group already open shows its children; opening it again would close it
      if (!(await page.getByText(path[i + 1]!, { exact: true }).first().isVisible())) await node.click();
    }
    await page.getByText(name, { exact: true }).first().click();
    await page.getByText('Test body').first().waitFor();
  }

  test('the history holds two runs', () => {
    expect(report.historyEntries).toBe(2);
    expect(readFileSync(report.measurementHistory, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test('it opens from the file with the network off: nothing leaves the file, no console error', async () => {
    await home.page.waitForTimeout(1000);
    expect(home.outside).toEqual([]);
    expect(home.errors).toEqual([]);
  });

  test('the tree is family > suite > experiment, without file names or the test runner\'s folders', async () => {
    const text = await home.page.locator('body').innerText();
    for (const family of ['conformance', 'gitops', 'ha', 'load']) expect(await home.page.getByText(family, { exact: true }).first().isVisible(), `family ${family} in the tree`).toBe(true);
    expect(text).not.toMatch(/\.test\.ts/);
    expect(text).not.toMatch(/^suites$/m);
  });

  test('a passed experiment reads as its phases, with its measurements as parameters, its timeline chart and its trend chart', async () => {
    const { page, outside, errors } = await offlinePage(browser, { width: 1400, height: 1800 });
    await openExperiment(page, PASSED);
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/Passed/);
    // the measured figure, readable without opening anything
    expect(body).toMatch(new RegExp(`${escape(MEASUREMENT)}\\s+\\d+\\.\\d s of \\d+ s \\(slo\\.vipFailoverGracefulSeconds\\)`));
    // the steps are the phases, in their order, with the figure against its SLO
    const phases = [/steady state: [^\n]+/, /fault: shut down cp\d/, new RegExp(`recovery: ${escape(MEASUREMENT)}: \\d+\\.\\d s of \\d+ s \\(slo\\.vipFailoverGracefulSeconds\\)`), /undo: power cp\d on/];
    let from = 0;
    for (const p of phases) {
      const at = body.slice(from).search(p);
      expect(at, `step ${p} after the previous phase`).toBeGreaterThanOrEqual(0);
      from += at;
    }
    expect(body).not.toMatch(/expect\(/);
    await expectChart(page, /^timeline: /);
    await expectChart(page, new RegExp(`^trend: ${escape(MEASUREMENT)}`));
    await page.screenshot({ path: join(scratch, 'report-passed.png'), fullPage: true });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('the failing negative control shows what broke, when, against which SLO, with the evidence in the failing step', async () => {
    const { page, outside, errors } = await offlinePage(browser, { width: 1400, height: 1800 });
    await openExperiment(page, FAILED);
    const body = await page.locator('body').innerText();
    // allure-vitest calls a thrown SloViolation "broken" (only assertion errors are "failed"); its category says what it is
    expect(body).toMatch(/\b(Failed|Broken)\b/);
    expect(body).toMatch(/fault: power off cp1/);
    expect(body).toMatch(new RegExp(`recovery: ${escape(MEASUREMENT)}: did not happen within \\d+\\.\\d s \\(SLO \\d+ s, slo\\.vipFailoverHardSeconds\\)`));
    expect(body).toMatch(new RegExp(`"${escape(MEASUREMENT)}" never happened`));
    expect(body).toMatch(new RegExp(`${escape(MEASUREMENT)}\\s+not within \\d+\\.\\d s \\(SLO \\d+ s, slo\\.vipFailoverHardSeconds\\)`));
    // the failing step is open from the start, its evidence inside it; the category is named at the top
    await page.getByText('evidence: cluster state').first().waitFor({ state: 'visible', timeout: 10_000 });
    expect(body).toMatch(/Category: Property violations/);
    await expectChart(page, new RegExp(`^trend: ${escape(MEASUREMENT)}`));
    await page.screenshot({ path: join(scratch, 'report-failed.png') });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('a load experiment shows its thresholds as parameters, its per-second chart and the threshold table', async () => {
    const { page, outside, errors } = await offlinePage(browser, { width: 1400, height: 1800 });
    await openExperiment(page, 'steady load meets the profile thresholds', ['load', 'guestbook']);
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/http_req_duration p\(95\)<\d+\s+p\(95\)=[\d.]+ ms: met/);
    expect(body).toMatch(/http_req_failed rate<[\d.]+\s+rate=[\d.]+ \(\d+ of \d+\): met/);
    await expectChart(page, /^timeline: /);
    const table = page.getByText(/^thresholds: /).first();
    await table.scrollIntoViewIfNeeded();
    await table.click();
    await page.getByText(/whole run/).first().waitFor({ state: 'visible', timeout: 10_000 });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('the failure is a property violation, and the trend says the last good run recovered', async () => {
    const { page } = await offlinePage(browser);
    await page.goto(pathToFileURL(report.indexHtml).href);
    await page.getByText(/^Categories/).first().click();
    await page.getByText('Property violations').first().waitFor({ state: 'visible', timeout: 10_000 });
    const categories = await page.locator('body').innerText();
    expect(categories).toMatch(new RegExp(`"${escape(MEASUREMENT)}" never happened`));
    expect(categories).not.toMatch(/Harness errors|Infrastructure flakes/);
    const trend = report.trends.find((t) => t.path.at(-1) === FAILED && t.measurement === MEASUREMENT);
    expect(trend?.points.map((p) => [p.status === 'passed' ? 'passed' : 'not passed', p.seconds === null ? 'never' : 'measured'])).toEqual([
      ['passed', 'measured'],
      ['not passed', 'never'],
    ]);
  });

  test('the summary page gives the verdict, the slowest recoveries and the faults, and links to the failure', async () => {
    const { page, outside, errors } = await offlinePage(browser);
    await page.goto(pathToFileURL(report.summaryHtml).href);
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/^FAILED/);
    expect(body).toMatch(/Slowest recoveries against their SLOs/);
    expect(body).toMatch(/power off cp1/);
    expect(body).toMatch(/property violation/);
    await page.screenshot({ path: join(scratch, 'report-summary.png'), fullPage: true });
    await page.getByRole('link', { name: new RegExp(escape(FAILED)) }).click();
    await page.getByText('Test body').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('body').innerText()).toContain(FAILED);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('the JUnit XML holds the same verdict', () => {
    const xml = readFileSync(report.junitXml, 'utf8');
    const failed = xml.split('<testcase').find((c) => c.includes(`name="${FAILED}"`));
    expect(failed).toMatch(/<failure [^>]*type="property violation"/);
    expect(failed).toMatch(/never happened/);
    expect(xml).toMatch(/<testsuite name="ha (&gt;|>) vip-failover"/);
  });
});

/** Opens the attachment step whose name matches and expects its chart drawn. */
async function expectChart(page: Page, name: RegExp): Promise<void> {
  const step = page.getByText(name).first();
  await step.scrollIntoViewIfNeeded();
  await step.click();
  const img = page.locator('img[src^="data:image/svg"], img[src^="blob:"], svg image, [data-testid*="attachment"] svg').first();
  await img.waitFor({ state: 'visible', timeout: 10_000 });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
