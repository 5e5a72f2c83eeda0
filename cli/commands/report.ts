import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { buildReport } from '../../core/report/build.ts';
import { formatTrends } from '../../core/report/trends.ts';
import { type EnvironmentInfo, parseProperties } from '../../core/report/environment.ts';

interface ReportOptions {
  results?: string;
  output?: string;
  history?: string;
  name?: string;
  target?: string;
  profile?: string;
  env?: string[];
  envFile?: string;
  open?: boolean;
  trends?: boolean | string;
  regressionTolerance?: string;
  regressionMargin?: string;
}

const SUMMARY =
  'Build the HTML report offline with Allure 3: one self-contained index.html showing each experiment with its ' +
  'timeline chart and evidence (all redacted), trends across runs, environment info, and failures sorted into ' +
  'infrastructure flakes and property violations.';

export function registerReport(program: Command): void {
  program
    .command('report')
    .summary(SUMMARY)
    .description(
      `${SUMMARY}\n\n` +
        'The results directory also keeps environment.properties: whatever produced the results (a suite run, ' +
        'the lab) may have recorded the target and component versions there; --target/--profile/--env add to it.',
    )
    .option('--results <dir>', 'Allure results to read (default: $ALLURE_RESULTS_DIR or reports/allure-results)')
    .option('--output <dir>', 'where to write the report (default: reports/allure-report)')
    .option('--history <file>', 'history file kept between runs (default: reports/history/history.jsonl)')
    .option('--name <name>', 'report title (default: clusterproof)')
    .option('--target <name>', 'environment info: the target the results come from')
    .option('--profile <file>', 'environment info: the profile used')
    .option('--env <key=value>', 'environment info, e.g. etcd.version=3.6.5 (repeatable)', collect)
    .option('--env-file <file>', 'environment info from a .properties or .json file (component versions...)')
    .option('--open', 'open the report in the default browser afterwards (default: just print where it is)')
    .option('--trends [format]', 'print every measurement across runs, regressions first: text (default) or json (JSON alone on stdout, for CI)')
    .option('--regression-tolerance <percent>', 'a measurement regresses when it is this much slower than the last good run', '25')
    .option('--regression-margin <seconds>', '...and at least this many seconds slower', '1')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  clusterproof report\n' +
        '  clusterproof report --target lab --profile profiles/lab.yaml --env etcd.version=3.6.5\n' +
        '  clusterproof report --results /tmp/run-42/allure-results --output /tmp/run-42/report',
    )
    .action(async (opts: ReportOptions) => {
      const format = opts.trends === undefined || opts.trends === false ? undefined : opts.trends === true ? 'text' : opts.trends;
      if (format !== undefined && format !== 'text' && format !== 'json') throw new UserError(`--trends ${format}: use text or json`);
      const tolerance = {
        relative: positiveNumber('--regression-tolerance', opts.regressionTolerance ?? '25') / 100,
        absoluteSeconds: positiveNumber('--regression-margin', opts.regressionMargin ?? '1'),
      };
      // with --trends json, stdout carries the JSON alone: progress goes to stderr
      const say = format === 'json' ? (line: string) => console.error(line) : (line: string) => console.log(line);
      const built = await buildReport({
        tolerance,
        resultsDir: opts.results,
        outputDir: opts.output,
        historyFile: opts.history,
        reportName: opts.name,
        environment: environmentFrom(opts),
        log: say,
      });
      const s = built.stats;
      const counts = ['passed', 'failed', 'broken', 'skipped'].map((k) => `${s[k] ?? 0} ${k}`).join(', ');
      say(`${s.total ?? built.results} test(s): ${counts}`);
      say(`open it: ${built.indexHtml} (the run's summary: ${built.summaryHtml})`);
      if (format === 'json') console.log(JSON.stringify({ tolerance: built.tolerance, trends: built.trends }, null, 2));
      else if (format === 'text') console.log(formatTrends(built.trends, built.tolerance));
      if (opts.open) openInBrowser(built.indexHtml);
    });
}

export function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`${flag} ${JSON.stringify(value)}: expected a number >= 0, e.g. ${flag} ${flag.includes('margin') ? '1' : '25'}`);
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function environmentFrom(opts: ReportOptions): EnvironmentInfo {
  const env: EnvironmentInfo = opts.envFile ? readEnvFile(opts.envFile) : {};
  if (opts.target) env.target = opts.target;
  if (opts.profile) env.profile = opts.profile;
  for (const pair of opts.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--env ${JSON.stringify(pair)}: expected KEY=VALUE, e.g. --env etcd.version=3.6.5`);
    env[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return env;
}

function readEnvFile(file: string): EnvironmentInfo {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new UserError(`--env-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (extname(file).toLowerCase() !== '.json') return parseProperties(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`--env-file ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError(`--env-file ${file}: expected a JSON object of names to versions, e.g. {"etcd.version": "3.6.5"}`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** The report is a single self-contained file, so a browser can open it straight from disk; no server needed. */
function openInBrowser(indexHtml: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [indexHtml], { stdio: 'ignore', detached: true });
  child.on('error', () => console.error(`could not start ${opener}; open ${indexHtml} in a browser yourself`));
  child.unref();
}
