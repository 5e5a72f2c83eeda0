/**
 * Builds the HTML report offline with Allure 3: every result redacted, then amended (the flat tree; each
 * measurement's trend across runs, from clusterproof's own measurement history), environment info into the results,
 * then `allure generate` with the project's config (categories, Allure's history file), then the analytics tag
 * removed; beside it the run's summary page and the JUnit XML of the same results.
 * Allure's history (test durations and statuses) is its JSONL `historyPath`, one line per build; the measurements'
 * history is reports/history/measurements.jsonl beside it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import {
  DEFAULT_HISTORY_FILE,
  DEFAULT_OUTPUT_DIR,
  DEFAULT_RESULTS_DIR,
  PROJECT_ROOT,
  REPORT_ENV,
} from './allure-config.ts';
import { type EnvironmentInfo, writeEnvironment } from './environment.ts';
import { stripAnalyticsInFile } from './report-html.ts';
import { redactResultsDir } from './results.ts';
import { amendResults } from './amend.ts';
import { renderJunit } from './junit.ts';
import { renderSummaryPage } from './summary-page.ts';
import { DEFAULT_TOLERANCE, type Tolerance, type Trend } from './trends.ts';

export interface BuildReportOptions {
  /** default: $ALLURE_RESULTS_DIR, else reports/allure-results */
  resultsDir?: string;
  /** default: reports/allure-report */
  outputDir?: string;
  /** default: reports/history/history.jsonl */
  historyFile?: string;
  /** the measurements of every run, for trends (default: measurements.jsonl beside the history file) */
  measurementHistory?: string;
  /** how much slower than the last good run counts as a regression */
  tolerance?: Tolerance;
  reportName?: string;
  /** target, profile, component versions...; added to what the results already record */
  environment?: EnvironmentInfo;
  /** progress lines */
  log?: (line: string) => void;
}

export interface BuiltReport {
  resultsDir: string;
  outputDir: string;
  indexHtml: string;
  historyFile: string;
  /** runs in the history file, this one included */
  historyEntries: number;
  results: number;
  environment: EnvironmentInfo;
  /** counts by status from the report's summary.json */
  stats: Record<string, number>;
  /** every measurement of this run with its earlier values */
  trends: Trend[];
  tolerance: Tolerance;
  measurementHistory: string;
  summaryHtml: string;
  junitXml: string;
}

export const ALLURE_CONFIG_FILE = join(PROJECT_ROOT, 'allurerc.ts');

export async function buildReport(options: BuildReportOptions = {}): Promise<BuiltReport> {
  const log = options.log ?? (() => {});
  const resultsDir = resolve(options.resultsDir ?? process.env.ALLURE_RESULTS_DIR ?? DEFAULT_RESULTS_DIR);
  const outputDir = resolve(options.outputDir ?? DEFAULT_OUTPUT_DIR);
  const historyFile = resolve(options.historyFile ?? DEFAULT_HISTORY_FILE);
  checkResultsDir(resultsDir);

  const { results, redactedFiles } = redactResultsDir(resultsDir);
  if (results === 0) {
    throw new UserError(
      `${resultsDir} holds no test results (no *-result.json files)\n` +
        '  fix: run the tests first (npm test, or clusterproof run --profile FILE), or point --results at their directory',
    );
  }
  log(`read ${results} test result(s) from ${resultsDir}${redactedFiles ? `; redacted secrets in ${redactedFiles} file(s)` : ''}`);

  const environment = writeEnvironment(resultsDir, { ...defaultEnvironment(), ...options.environment });
  mkdirSync(dirname(historyFile), { recursive: true });
  const measurementHistory = resolve(options.measurementHistory ?? join(dirname(historyFile), 'measurements.jsonl'));
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const amended = amendResults(resultsDir, { measurementHistory, tolerance });
  const regressions = amended.trends.filter((t) => t.regression).length;
  log(`${amended.trends.length} measurement(s) compared with ${measurementHistory}: ${regressions} slower than the last good run`);
  log(`generating the report with Allure 3 into ${outputDir} (history: ${historyFile})`);
  await runAllureGenerate(resultsDir, outputDir, {
    [REPORT_ENV.history]: historyFile,
    ...(options.reportName ? { [REPORT_ENV.name]: options.reportName } : {}),
  });

  const indexHtml = join(outputDir, 'index.html');
  if (!existsSync(indexHtml)) throw new Error(`allure generate finished but wrote no ${indexHtml}`);
  stripAnalyticsInFile(indexHtml);
  const historyEntries = countHistoryEntries(historyFile);
  const junitXml = join(outputDir, 'junit.xml');
  writeFileSync(junitXml, renderJunit(amended.results, options.reportName ?? 'clusterproof'));
  const summaryHtml = join(outputDir, 'summary.html');
  writeFileSync(summaryHtml, renderSummaryPage({ resultsDir, results: amended.results, trends: amended.trends, tolerance, environment, reportName: options.reportName ?? 'clusterproof' }));
  log(`report: ${indexHtml} (${historyEntries} run(s) in the history); summary: ${summaryHtml}; JUnit: ${junitXml}`);
  return {
    resultsDir,
    outputDir,
    indexHtml,
    historyFile,
    historyEntries,
    results,
    environment,
    stats: readStats(outputDir),
    trends: amended.trends,
    tolerance,
    measurementHistory,
    summaryHtml,
    junitXml,
  };
}

export function countHistoryEntries(historyFile: string): number {
  if (!existsSync(historyFile)) return 0;
  return readFileSync(historyFile, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

function checkResultsDir(dir: string): void {
  if (!existsSync(dir)) {
    throw new UserError(
      `no test results at ${dir}\n  fix: run the tests first (npm test, or clusterproof run --profile FILE), ` +
        'or point --results at the directory holding the Allure results',
    );
  }
  if (!statSync(dir).isDirectory()) throw new UserError(`--results ${dir} is not a directory`);
  // allure treats its results argument as a glob pattern
  if (/[*?[\]{}()!+@]/.test(dir)) {
    throw new UserError(`--results ${dir}: the path contains glob characters (*?[]{}()!+@) Allure would expand; move or rename it`);
  }
}

function defaultEnvironment(): EnvironmentInfo {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return { 'clusterproof.version': pkg.version ?? 'unknown', 'node.version': process.version };
}

function allureCli(): string {
  // the package's main module is its CLI entry; cli.js sits in the package root
  const main = createRequire(import.meta.url).resolve('allure');
  return join(dirname(dirname(main)), 'cli.js');
}

function runAllureGenerate(resultsDir: string, outputDir: string, env: Record<string, string>): Promise<void> {
  const args = [allureCli(), 'generate', resultsDir, '--config', ALLURE_CONFIG_FILE, '--output', outputDir];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`allure generate failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}

function readStats(outputDir: string): Record<string, number> {
  try {
    const summary = JSON.parse(readFileSync(join(outputDir, 'summary.json'), 'utf8')) as { stats?: Record<string, number> };
    return summary.stats ?? {};
  } catch {
    return {};
  }
}
