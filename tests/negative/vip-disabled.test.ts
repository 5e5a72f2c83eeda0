/**
 * Negative control for ha/vip-failover: on the lab variant where only cp1 may hold the VIP, the failover suite
 * must fail saying the VIP never came back (not time out silently, not pass). The hard power-off experiment alone
 * proves it (the graceful-shutdown one fails the same way, waiting out the same SLO a second time).
 */
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { useLabVariant } from '../support/lab-variant.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: VIP failover disabled', () => {
  useLabVariant('vip-single-holder', { workers: 'kwok' });

  test('ha/vip-failover fails: /readyz never answers through the VIP from another node', async () => {
    const { code, output } = await runCli([
      'run', '--target', 'lab', '--suite', 'ha/vip-failover', '--grep', 'hard power-off', ...negativeResultsArgs('vip-disabled'),
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/0 passed, 1 failed/);
    expect(output).toMatch(/"\/readyz answers through the VIP from another node" never happened/);
  }, 900_000);
});
