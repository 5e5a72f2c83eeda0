/**
 * Negative control for the webhook path of gitops/convergence: on the lab variant whose git server signs webhooks
 * with a secret ArgoCD does not know, the suite must fail at once saying the webhook was rejected (ArgoCD's HMAC
 * answer), instead of timing out silently or passing through polling.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labPaths } from '../../bootstrap/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: webhook signed with the wrong secret', () => {
  beforeAll(async () => {
    expect((await runCli(['lab', 'down'])).code).toBe(0);
    expect((await runCli(['lab', 'up', '--variant', 'webhook-wrong-secret'])).code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await runCli(['lab', 'down']);
    await runCli(['lab', 'up']);
  }, 600_000);

  test('gitops/convergence fails: the push webhook was rejected', async () => {
    const started = Date.now();
    const { code, output } = await runCli([
      'run', '--target', 'lab', '--suite', 'gitops/convergence', '--grep', 'through the webhook', '--results', `${labPaths.logs()}/negative-results`,
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/the push webhook for [0-9a-f]{12} was rejected: HTTP 400 from http:\/\/198\.18\.40\.20:8080\/api\/webhook: Webhook processing failed: HMAC verification failed/);
    // failing fast: well before the convergence SLO's timeout would have expired
    expect(Date.now() - started).toBeLessThan(120_000);
  }, 900_000);
});
