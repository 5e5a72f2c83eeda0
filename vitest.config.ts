import { defineConfig } from 'vitest/config';
import LabOrderSequencer from './tests/support/lab-order-sequencer.ts';

/**
 * Two test projects:
 *  - `project`: clusterproof's own tests (unit, contract, lab, negative controls): what `npm test` runs.
 *  - `suites`: the property suites run against a target by `clusterproof run` (its run context, fixtures/run-context.ts, names the profile).
 * Both report to Allure; the results directory can be overridden so nested runs do not mix.
 */
const resultsDir = process.env.ALLURE_RESULTS_DIR ?? 'reports/allure-results';

export default defineConfig({
  test: {
    reporters: ['default', ['allure-vitest/reporter', { resultsDir, reportMatchers: false }], './tests/support/summary-reporter.ts'],
    sequence: { sequencer: LabOrderSequencer },
    setupFiles: ['allure-vitest/setup'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'project',
          include: ['tests/**/*.test.ts'],
          // lab tests share one lab: run files one at a time
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'suites',
          include: ['suites/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
