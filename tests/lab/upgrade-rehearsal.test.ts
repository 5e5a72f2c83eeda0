/**
 * The pre-upgrade rehearsal end to end on the lab, opt-in: CLUSTERPROOF_TEST_UPGRADE_TO=v1.35.4 (built first with
 * `lab build --kubernetes v1.35.4`). Not part of CI: the second Kubernetes build adds about 7 minutes to a cold run,
 * which would take it past its 60-minute budget (docs/BENCHMARKS.md); the figures it produces are recorded there.
 * From a lab at its default release: preflight says go for the next minor, upgrade/rolling rolls the lab there under
 * probes and load, and every property suite passes on the upgraded lab.
 */
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { preflightJson } from '../support/preflight.ts';

const to = process.env.CLUSTERPROOF_TEST_UPGRADE_TO;
const skip = labSkipReason() ?? (to ? undefined : 'opt-in: set CLUSTERPROOF_TEST_UPGRADE_TO=v1.35.4 (after lab build --kubernetes v1.35.4) to rehearse an upgrade on the lab');

describe.skipIf(skip)(`the lab rehearses an upgrade to ${to}`, () => {
  test('from the default release: preflight go, the rolling upgrade within its SLOs, then every property suite passes', async () => {
    expect((await runCli(['lab', 'down'])).code).toBe(0);
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    const pre = await preflightJson(['--no-snapshot']);
    expect(pre.report.verdict, JSON.stringify(pre.report.checks.filter((c) => c.status === 'blocker' || c.status === 'error'))).toBe('go');
    const rolled = await runCli(['run', '--target', 'lab', '--suite', 'upgrade/rolling', '--upgrade-to', to!]);
    expect(rolled.output).toMatch(/✓ passed: a rolling Kubernetes minor upgrade/);
    expect(rolled.code).toBe(0);
    const status = await runCli(['lab', 'status', '--json']);
    expect(status.code).toBe(0);
    const after = await runCli(['run', '--target', 'lab']);
    expect(after.output).not.toMatch(/^refused: /m);
    expect(after.code, 'every property suite passes on the upgraded lab').toBe(0);
  }, 3_600_000);
});
