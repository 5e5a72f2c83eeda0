/**
 * Negative control for ha/lb-failover: on the lab variant where w2 is excluded from external load balancers (so no
 * speaker but w1's may announce), powering off the announcer must make the suite fail, saying that no other node
 * took the LoadBalancer address over. Needs real workers (opt-in builds): skips naming the build otherwise.
 */
import { describe, expect, test } from 'vitest';
import { labPaths } from '../../providers/lab/paths.ts';
import { componentBinary } from '../../bootstrap/lab/build/index.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { useLabVariant } from '../support/lab-variant.ts';

function skipReason(): string | undefined {
  const lab = labSkipReason();
  if (lab) return lab;
  try {
    for (const b of ['kubelet', 'containerd', 'runc', 'bridge', 'coredns', 'metallb-speaker']) componentBinary(b);
  } catch (err) {
    return `real workers not built: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

const skip = skipReason();

describe.skipIf(skip)(`negative control: only one node may announce the LoadBalancer address${skip ? ` (skipped: ${skip})` : ''}`, () => {
  useLabVariant('lb-single-speaker', { workers: 'real' });

  test('ha/lb-failover fails: no other node took the address over', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'ha/lb-failover', '--results', `${labPaths.logs()}/negative-results`]);
    expect(code).toBe(1);
    expect(output).toMatch(/"another node announces 198\.18\.40\.70" never happened: .*no other node took 198\.18\.40\.70 over \(announced by: (w1|nobody)\)/);
  }, 900_000);
});
