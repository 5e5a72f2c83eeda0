import { describe, expect, test } from 'vitest';
import { lintReport, renderLintText } from '../../core/lint/render.ts';
import { fixedSeed, lint, seed } from './profiles.ts';

describe('lintProfile', () => {
  test('every finding is complete: severity, code, field path, message', () => {
    const all = [...lint(seed()), ...lint(fixedSeed((p) => (p.nodes[4].ip = '10.0.0.1')))];
    for (const f of all) {
      expect(['error', 'warning']).toContain(f.severity);
      expect(f.code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(f.path).toMatch(/^[a-zA-Z]+(\.[a-zA-Z]+|\[\d+\])*$/);
      expect(f.message.length).toBeGreaterThan(10);
    }
  });

  test('errors come before warnings', () => {
    const severities = lint(seed((p) => (p.apps[0].workload.replicas = 3))).map((f) => f.severity);
    expect(severities).toEqual([...severities].sort());
  });

  test('the fixed seed has warnings only', () => {
    const findings = lint(fixedSeed());
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(findings.map((f) => f.code)).toEqual(['anti-affinity-rollout-stall', 'argocd-url-single-node']);
  });

  test('lint does not change the profile', () => {
    const p = seed();
    const before = structuredClone(p);
    lint(p);
    expect(p).toEqual(before);
  });
});

describe('lint report', () => {
  test('text groups errors then warnings, each with path, why and fix, then a summary', () => {
    const text = renderLintText(lintReport('profiles/seed.yaml', lint(seed())));
    const order = ['Errors (1)', '✗ network.loadBalancerPools[0].addresses[0]  [vip-in-lb-pool]', 'why: ', 'fix: ', 'Warnings (2)', '1 error, 2 warnings'];
    const positions = order.map((s) => text.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(text.split('\n').every((l) => l.length <= 100)).toBe(true);
  });

  test('no findings says so', () => {
    expect(renderLintText(lintReport('x.yaml', []))).toContain('no problems found');
  });
});
