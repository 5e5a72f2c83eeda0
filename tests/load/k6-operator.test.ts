import { readFileSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { DEFAULT_SCENARIO_FILE, readScenario } from '../../core/load/bounded.ts';
import { runnerVerdict, SCENARIO_FILE, SCRIPT_FILE, testRunObjects } from '../../providers/load/k6-operator.ts';

const job = (name: string, status: k8s.V1JobStatus): k8s.V1Job => ({ metadata: { name }, status });

describe('k6-operator TestRun', () => {
  test('one ConfigMap with the script and the scenario, one TestRun reading them from /test/', () => {
    const scenario = readScenario(DEFAULT_SCENARIO_FILE);
    const { configMap, testRun } = testRunObjects(scenario, { name: 'gb', namespace: 'load', parallelism: 2, baseUrl: 'http://198.18.40.70', script: readFileSync('k6/guestbook.js', 'utf8') });
    expect(Object.keys(configMap.data!)).toEqual([SCRIPT_FILE, SCENARIO_FILE]);
    expect(JSON.parse(configMap.data![SCENARIO_FILE]!)).toEqual(scenario);
    expect(testRun.spec).toMatchObject({ parallelism: 2, script: { configMap: { name: 'gb-script', file: SCRIPT_FILE } } });
    expect(testRun.spec.arguments).toContain(`-e SCENARIO=/test/${SCENARIO_FILE}`);
    expect(testRun.spec.arguments).toContain('-e BASE_URL=http://198.18.40.70');
  });

  test('"finished" is not a verdict: every runner Job is read', () => {
    const ok = [job('gb-initializer', { succeeded: 1 }), job('gb-starter', { succeeded: 1 }), job('gb-1', { succeeded: 1 }), job('gb-2', { succeeded: 1 })];
    expect(runnerVerdict(ok, 2, 'finished')).toEqual({ ok: true, message: '2 runner Jobs succeeded' });
    const thresholdFailed = [job('gb-1', { succeeded: 1 }), job('gb-2', { failed: 1 })];
    expect(runnerVerdict(thresholdFailed, 2, 'finished')).toEqual({ ok: false, message: expect.stringMatching(/runner Jobs failed .*gb-2; the TestRun says "finished"/) });
    expect(runnerVerdict([job('gb-1', { succeeded: 1 })], 2, 'finished').message).toMatch(/1 runner Jobs, expected 2/);
    expect(runnerVerdict([job('gb-1', { active: 1 })], 1, 'started').message).toMatch(/still running: gb-1/);
    expect(runnerVerdict(ok, 2, 'error').ok).toBe(false);
  });
});
