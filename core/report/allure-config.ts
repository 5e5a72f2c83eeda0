/**
 * The Allure 3 configuration clusterproof generates its report with (loaded by ../../allurerc.ts, so a plain
 * `npx allure generate` from the repository root builds the same report). `allure generate` has no flag for the
 * history file, so `clusterproof report --history` moves it with an environment variable.
 *
 * Only types may be imported from 'allure': its main module is the Allure CLI and runs when imported.
 */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import type { AllureConfig } from 'allure';
import { REPORT_CATEGORIES } from './categories.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_RESULTS_DIR = join(PROJECT_ROOT, 'reports', 'allure-results');
export const DEFAULT_OUTPUT_DIR = join(PROJECT_ROOT, 'reports', 'allure-report');
export const DEFAULT_HISTORY_FILE = join(PROJECT_ROOT, 'reports', 'history', 'history.jsonl');
/** Runs kept in the history file; older ones are dropped when a new one is appended. */
export const HISTORY_LIMIT = 100;

export const REPORT_ENV = {
  history: 'CLUSTERPROOF_REPORT_HISTORY',
  name: 'CLUSTERPROOF_REPORT_NAME',
} as const;

export function allureConfig(env: NodeJS.ProcessEnv = process.env): AllureConfig {
  const name = env[REPORT_ENV.name] || 'clusterproof';
  return {
    name,
    // for a plain `npx allure generate`; clusterproof report passes its results directory explicitly
    resultsDir: resolve(env.ALLURE_RESULTS_DIR || DEFAULT_RESULTS_DIR),
    output: DEFAULT_OUTPUT_DIR,
    historyPath: resolve(env[REPORT_ENV.history] || DEFAULT_HISTORY_FILE),
    historyLimit: HISTORY_LIMIT,
    categories: REPORT_CATEGORIES,
    plugins: {
      // one self-contained index.html: opens from disk or a CI artifact without a web server
      awesome: { options: { singleFile: true, reportName: name, reportLanguage: 'en' } },
    },
  };
}
