/**
 * Every property suite passes on the lab, run exactly as a user runs them (`clusterproof run --target lab`), with
 * every measured duration collected for docs/BENCHMARKS.md. Passing means the inner run's own results say so: every
 * catalogued suite ran experiments, none failed, and exactly the expected experiments were skipped, for the
 * expected reasons (a run where everything skipped would otherwise look green).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { labPaths } from '../../providers/lab/paths.ts';
import { CATALOGUE } from '../../suites/catalogue.ts';
import { readInnerResults } from '../support/allure-results.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';

const root = join(import.meta.dirname, '..', '..');
const skip = labSkipReason();

/** Experiments the lab cannot run, by `suite > name`, with the reason they must give. None today. */
const EXPECTED_SKIPS: Record<string, RegExp> = {};

/**
 * Suites the run skips as a whole, before running them, with the reason it prints: only the opt-in rolling upgrade
 * (tests/lab/upgrade-rehearsal.test.ts runs it when asked); the lab's workers are real, so nothing else skips.
 */
const SKIPPED_SUITES: Record<string, RegExp> = { 'upgrade/rolling': /: opt-in: give --upgrade-to <version> \(it upgrades every node of the cluster for good\)$/ };

describe.skipIf(skip)('the suites on the lab', () => {
  // kept beside the lab's logs (until the next run of this test), so a failure's timelines and evidence can be read
  const results = join(labPaths.logs(), 'suites-on-lab-results');

  test('clusterproof run --target lab: every suite passes', async () => {
    rmSync(results, { recursive: true, force: true });
    mkdirSync(join(root, 'reports'), { recursive: true });
    const { code, output } = await runCli(['run', '--target', 'lab', '--results', results, '--measurements', join(root, 'reports', 'measurements.jsonl')]);
    // the run prints `refused: <suite>: <why>` for a suite the blast-radius guard refused (progress lines may say "refused" too)
    expect(output).not.toMatch(/^refused: /m);
    const inner = readInnerResults(results);
    const failed = inner.filter((r) => r.status === 'failed' || r.status === 'broken');
    expect(failed.map((r) => `${r.suite} > ${r.name}: ${r.message}`)).toEqual([]);
    const skipped = inner.filter((r) => r.status === 'skipped');
    expect(Object.fromEntries(skipped.map((r) => [`${r.suite} > ${r.name}`, r.skipReason ?? '(no reason recorded)']))).toEqual(
      Object.fromEntries(Object.entries(EXPECTED_SKIPS).map(([k, why]) => [k, expect.stringMatching(why)])),
    );
    for (const [id, why] of Object.entries(SKIPPED_SUITES)) {
      expect(output.split('\n').find((l) => l.startsWith(`skip: ${id}: `)), `the run says why it skips ${id}`).toMatch(why);
    }
    for (const s of CATALOGUE.filter((c) => !Object.hasOwn(SKIPPED_SUITES, c.id))) {
      expect(inner.filter((r) => r.suite === s.id && r.status === 'passed').length, `passed experiments of ${s.id}`).toBeGreaterThan(0);
    }
    expect(code, `clusterproof run exited ${code}`).toBe(0);
  }, 1_800_000);
});
