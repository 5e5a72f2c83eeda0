/**
 * A negative control's lab: the file brings the lab up as `variant` (from a clean lab down) before its tests and takes
 * it down after them. It does not bring the normal lab back: every file that needs a lab brings up the one it needs
 * (`lab up` is idempotent), so a run of several negative controls starts no lab it does not use.
 *
 * `workers` is the lab's default (real) unless the control says otherwise: a variant that breaks a control-plane
 * property (etcd, the VIP, ArgoCD's webhook or sync) breaks it the same with kwok workers, and that lab starts in
 * about half the time.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { LabVariant } from '../../bootstrap/lab/variants.ts';
import type { WorkerMode } from '../../bootstrap/lab/worker/worker-mode.ts';
import { runCli } from './cli.ts';

export function useLabVariant(variant: LabVariant, opts: { workers?: WorkerMode } = {}): void {
  beforeAll(async () => {
    expect((await runCli(['lab', 'down'])).code).toBe(0);
    const up = await runCli(['lab', 'up', '--variant', variant, ...(opts.workers ? ['--workers', opts.workers] : [])]);
    expect(up.code, up.output.slice(-2000)).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await runCli(['lab', 'down']);
  }, 600_000);
}
