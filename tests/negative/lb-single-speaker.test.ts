/**
 * Negative control for ha/lb-failover: on the lab variant where w2 is excluded from external load balancers (so no
 * speaker but w1's may announce), powering off the announcer must make the suite fail, saying that no other node
 * took the LoadBalancer address over. Runs on real workers (the lab's default; speakers need a data plane).
 */
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { useLabVariant } from '../support/lab-variant.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';

const skip = labSkipReason();

describe.skipIf(skip)(`negative control: only one node may announce the LoadBalancer address${skip ? ` (skipped: ${skip})` : ''}`, () => {
  useLabVariant('lb-single-speaker');

  test('ha/lb-failover fails: no other node took the address over', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'ha/lb-failover', ...negativeResultsArgs('lb-single-speaker')]);
    expect(code).toBe(1);
    expect(output).toMatch(/"another node announces 198\.18\.40\.70" never happened: .*no other node took 198\.18\.40\.70 over \(announced by: (w1|nobody)\)/);
  }, 900_000);
});
