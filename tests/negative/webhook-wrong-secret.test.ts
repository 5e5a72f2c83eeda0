/**
 * Negative control for the webhook path of gitops/convergence: on the lab variant whose git server signs webhooks
 * with a secret ArgoCD does not know, the suite must fail at once saying the webhook was rejected (ArgoCD's HMAC
 * answer), instead of timing out silently or passing through polling.
 */
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';
import { useLabVariant } from '../support/lab-variant.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: webhook signed with the wrong secret', () => {
  useLabVariant('webhook-wrong-secret', { workers: 'kwok' });

  test('gitops/convergence fails: the push webhook was rejected', async () => {
    const started = Date.now();
    const { code, output } = await runCli([
      'run', '--target', 'lab', '--suite', 'gitops/convergence', '--grep', 'through the webhook', ...negativeResultsArgs('webhook-wrong-secret'),
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/the push webhook for [0-9a-f]{12} was rejected: HTTP 400 from http:\/\/198\.18\.40\.20:8080\/api\/webhook: Webhook processing failed: HMAC verification failed/);
    // failing fast: well before the convergence SLO's timeout would have expired
    expect(Date.now() - started).toBeLessThan(120_000);
  }, 900_000);
});
