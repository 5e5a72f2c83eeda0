import { describe, expect, test } from 'vitest';
import { boundedScenario, DEFAULT_SCENARIO_FILE, readScenario } from '../../core/load/bounded.ts';
import { errorWindows, perSecond } from '../../core/load/per-second.ts';
import type { RequestSample } from '../../core/load/samples.ts';
import { rateSegments } from '../../providers/load/embedded-engine.ts';
import { RefusedError } from '../../core/errors.ts';
import { loadProfile } from '../../core/profile/load.ts';

const sample = (atMs: number, expected = true, durationMs = 5): RequestSample => ({ atMs, endpoint: 'browse', method: 'GET', status: expected ? 200 : 0, durationMs, expected });

describe('the load a suite runs', () => {
  test('k6 executors become rate segments per second', () => {
    expect(rateSegments({ executor: 'constant-arrival-rate', rate: 30, timeUnit: '1m', duration: '2m', preAllocatedVUs: 1, maxVUs: 1 })).toEqual([
      { durationMs: 120_000, fromRps: 0.5, toRps: 0.5 },
    ]);
    expect(
      rateSegments({ executor: 'ramping-arrival-rate', startRate: 5, timeUnit: '1s', stages: [{ target: 20, duration: '10s' }, { target: 20, duration: '1m' }, { target: 0, duration: '5s' }], preAllocatedVUs: 1, maxVUs: 1 }),
    ).toEqual([
      { durationMs: 10_000, fromRps: 5, toRps: 20 },
      { durationMs: 60_000, fromRps: 20, toRps: 20 },
      { durationMs: 5_000, fromRps: 20, toRps: 0 },
    ]);
  });

  test("the shipped scenario gets the profile's thresholds and is refused beyond its safety limits, naming the field", async () => {
    const { profile } = await loadProfile('profiles/seed.yaml');
    const base = readScenario(DEFAULT_SCENARIO_FILE);
    const s = boundedScenario(base, profile);
    expect(s.thresholds.http_req_duration).toEqual([`p(95)<${profile.slo.load.p95Ms}`, `p(99)<${profile.slo.load.p99Ms}`]);
    expect(s.thresholds['http_req_duration{endpoint:read}']).toEqual(base.thresholds['http_req_duration{endpoint:read}']);
    expect(() => boundedScenario(base, profile, { rps: profile.safety.maxLoadRps + 1 })).toThrow(RefusedError);
    expect(() => boundedScenario(base, profile, { rps: profile.safety.maxLoadRps + 1 })).toThrow(/safety\.maxLoadRps is 100/);
    expect(() => boundedScenario(base, profile, { seconds: profile.safety.maxLoadSeconds + 1 })).toThrow(/safety\.maxLoadSeconds is/);
    const failover = boundedScenario(base, profile, { rps: 20, seconds: 60, thresholds: { http_req_failed: ['rate==0'] } });
    expect(failover.thresholds).toEqual({ http_req_failed: ['rate==0'] });
    expect(failover.load).toMatchObject({ executor: 'constant-arrival-rate', rate: 20, duration: '60s' });
  });

  test('per second: requests, failures and percentiles of the answered ones', () => {
    const samples = [sample(100, true, 10), sample(900, true, 20), sample(1500, false, 2000), sample(2500, true, 30)];
    const b = perSecond(samples, 3000);
    expect(b.map((x) => [x.requests, x.failed])).toEqual([[2, 0], [1, 1], [1, 0]]);
    expect(b[0]!.p50).toBe(15);
    expect(b[1]!.p50).toBeUndefined();
  });

  test('error windows merge failures closer than the gap and split the others', () => {
    const samples = [sample(1000, false), sample(1500, false), sample(1800, true), sample(2400, false), sample(9000, false), sample(9100, true)];
    expect(errorWindows(samples, 1000)).toEqual([
      { fromMs: 1000, toMs: 2400, failed: 3 },
      { fromMs: 9000, toMs: 9000, failed: 1 },
    ]);
    expect(errorWindows([sample(1), sample(2)])).toEqual([]);
  });
});
