/**
 * The scenario a suite really runs: the shipped scenario file with the profile's load SLOs as thresholds (over the
 * file's own), reshaped to the rate and duration an experiment needs, and refused beyond the profile's safety
 * limits (safety.maxLoadRps, safety.maxLoadSeconds) before a single request is sent.
 */
import { readFileSync } from 'node:fs';
import { RefusedError } from '../errors.ts';
import type { Profile } from '../profile/schema.ts';
import { parseScenario, peakRps, plannedMs, type Scenario } from './scenario.ts';

export const DEFAULT_SCENARIO_FILE = 'k6/guestbook.scenario.json';

export function readScenario(path: string): Scenario {
  return parseScenario(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** The profile's steady-load SLOs in k6's syntax; they replace the file's thresholds on the same keys. */
export function profileThresholds(profile: Profile): Scenario['thresholds'] {
  const { p95Ms, p99Ms, maxErrorRate } = profile.slo.load;
  return { http_req_failed: [`rate<${maxErrorRate}`], http_req_duration: [`p(95)<${p95Ms}`, `p(99)<${p99Ms}`] };
}

export interface Reshape {
  /** a constant arrival rate per second instead of the file's load model */
  rps?: number;
  seconds?: number;
  /** thresholds replacing every other (a failover judges its own budget, without the steady-state aborts) */
  thresholds?: Scenario['thresholds'];
}

export function boundedScenario(base: Scenario, profile: Profile, reshape: Reshape = {}): Scenario {
  const load: Scenario['load'] =
    reshape.rps !== undefined || reshape.seconds !== undefined
      ? {
          executor: 'constant-arrival-rate',
          rate: reshape.rps ?? peakRps(base.load),
          timeUnit: '1s',
          duration: `${reshape.seconds ?? plannedMs(base.load) / 1000}s`,
          preAllocatedVUs: base.load.preAllocatedVUs,
          maxVUs: base.load.maxVUs,
        }
      : base.load;
  const { maxLoadRps, maxLoadSeconds } = profile.safety;
  const rps = peakRps(load);
  const seconds = plannedMs(load) / 1000;
  if (rps > maxLoadRps) {
    throw new RefusedError(`load of ${rps}/s refused: safety.maxLoadRps is ${maxLoadRps} on "${profile.metadata.name}" (lower the rate or raise the limit)`);
  }
  if (seconds > maxLoadSeconds) {
    throw new RefusedError(`load for ${seconds} s refused: safety.maxLoadSeconds is ${maxLoadSeconds} on "${profile.metadata.name}" (shorten it or raise the limit)`);
  }
  return { ...base, load, thresholds: reshape.thresholds ?? { ...base.thresholds, ...profileThresholds(profile) } };
}
