/**
 * A negative control's lab: the file brings the lab up as `variant` (from a clean lab down) before its tests, and
 * leaves the normal lab up after them, for the files that follow.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { LabVariant } from '../../bootstrap/lab/variants.ts';
import { runCli } from './cli.ts';

export function useLabVariant(variant: LabVariant, opts: { workers?: 'real' } = {}): void {
  beforeAll(async () => {
    expect((await runCli(['lab', 'down'])).code).toBe(0);
    expect((await runCli(['lab', 'up', '--variant', variant, ...(opts.workers ? ['--workers', opts.workers] : [])])).code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await runCli(['lab', 'down']);
    await runCli(['lab', 'up']);
  }, 600_000);
}
