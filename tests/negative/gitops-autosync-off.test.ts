/**
 * Negative control for gitops/convergence: on the lab variant whose repository holds Applications without automated
 * sync, a pushed commit must fail the suite saying the app stayed OutOfSync at the old revision (not pass, not a bare
 * timeout).
 */
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { useLabVariant } from '../support/lab-variant.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: ArgoCD auto-sync disabled', () => {
  useLabVariant('gitops-autosync-off', { workers: 'kwok' });

  test('gitops/convergence fails: the app stayed OutOfSync at the old revision', async () => {
    const { code, output } = await runCli([
      'run', '--target', 'lab', '--suite', 'gitops/convergence', '--grep', 'through the webhook', ...negativeResultsArgs('gitops-autosync-off'),
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/app1-nginx stayed OutOfSync at the old revision [0-9a-f]{12}: ArgoCD saw [0-9a-f]{12} but did not sync it \(automated sync off\)/);
  }, 900_000);
});
