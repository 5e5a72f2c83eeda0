/**
 * Negative control for load/guestbook, on the running lab: a profile whose steady-load threshold the lab cannot meet
 * (slo.load.p99Ms: 1, so `http_req_duration p(99)<1`) must fail the steady-load experiment, naming the expression
 * and the value observed; the same run with the lab's own profile passes (suites-on-lab), so the threshold is what broke.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: a latency threshold the lab cannot meet', () => {
  // beside the lab's profile: its file paths are relative to its directory
  const profilePath = join(dirname(labPaths.profile()), 'negative-load-profile.yaml');

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    const profile = parse(readFileSync(labPaths.profile(), 'utf8'));
    profile.slo.load.p99Ms = 1;
    writeFileSync(profilePath, stringify(profile));
  }, 300_000);

  afterAll(() => rmSync(profilePath, { force: true }));

  test('load/guestbook steady load fails, naming http_req_duration p(99)<1 and the p99 observed', async () => {
    const { code, output } = await runCli([
      'run',
      '--profile',
      profilePath,
      '--suite',
      'load/guestbook',
      '--grep',
      'steady load',
      ...negativeResultsArgs('load-threshold-unmeetable'),
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/steady load: http_req_duration p\(99\)<1 failed \(observed p\(99\)=[0-9.]+ ms\)/);
    expect(output).toMatch(/0 passed, 1 failed, 3 skipped/);
  }, 300_000);
});
