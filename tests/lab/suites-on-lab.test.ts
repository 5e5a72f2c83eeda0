/**
 * Every property suite passes on the lab, run exactly as a user runs them (`clusterproof run --target lab`),
 * with every measured duration collected for docs/BENCHMARKS.md.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';

const root = join(import.meta.dirname, '..', '..');
const skip = labSkipReason();

describe.skipIf(skip)('the suites on the lab', () => {
  test('clusterproof run --target lab: every suite passes', async () => {
    mkdirSync(join(root, 'reports'), { recursive: true });
    const { code, output } = await runCli(['run', '--target', 'lab', '--measurements', join(root, 'reports', 'measurements.jsonl')]);
    expect(output).not.toMatch(/refused/);
    expect(code, `clusterproof run exited ${code}`).toBe(0);
  }, 1_800_000);
});
