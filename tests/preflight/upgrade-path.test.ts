import { describe, expect, test } from 'vitest';
import { checkUpgradePath, type Inventory } from '../../core/preflight/upgrade-path.ts';
import { hops, parseTargets, parseVersion } from '../../core/preflight/versions.ts';

const inv = (api: string[], kubelets: string[], talos?: string[]): Inventory => ({
  apiservers: api.map((version, i) => ({ node: `cp${i + 1}`, version })),
  kubelets: kubelets.map((version, i) => ({ node: `n${i + 1}`, version })),
  talos: talos?.map((version, i) => ({ node: `cp${i + 1}`, version })),
});
const to = (v: string, talos?: string) => ({ kubernetes: parseVersion(v), talos: talos ? parseVersion(talos) : undefined });

describe('versions', () => {
  test('parsing and hops', () => {
    expect(parseVersion('1.35.x')).toEqual({ major: 1, minor: 35, patch: undefined });
    expect(parseVersion('v1.34.4')).toEqual({ major: 1, minor: 34, patch: 4 });
    expect(hops(parseVersion('1.34.4'), parseVersion('1.37'))).toEqual(['1.35', '1.36', '1.37']);
    expect(() => parseVersion('latest', '--to kubernetes')).toThrow('--to kubernetes "latest" is not a version: expected e.g. 1.35.2');
    expect(() => parseTargets('talos=v1.12.x', ['kubernetes', 'talos'])).toThrow('--to must name the Kubernetes version');
    expect(() => parseTargets('kubernetes', ['kubernetes'])).toThrow('"kubernetes" is not name=version');
  });
});

describe('upgrade path', () => {
  test('one minor up with matching versions passes and lists the hop', () => {
    const out = checkUpgradePath(inv(['v1.34.4', 'v1.34.4', 'v1.34.4'], ['v1.34.4', 'v1.34.4']), to('1.35.x'));
    expect(out.findings).toEqual([]);
    expect(out.summary).toBe('Kubernetes 1.34.4 -> 1.35.x on 3 API servers and 2 kubelets');
  });

  test('several minors warn with every hop; a downgrade blocks', () => {
    const far = checkUpgradePath(inv(['v1.34.4'], ['v1.34.4']), to('1.37.2'));
    expect(far.findings[0]!.message).toContain('the path crosses 3 minors: 1.34 -> 1.35 -> 1.36 -> 1.37');
    expect(far.evidence.hops).toEqual(['1.35.x', '1.36.x', '1.37.2']);
    expect(checkUpgradePath(inv(['v1.34.4'], []), to('1.33.x')).findings[0]!.severity).toBe('blocker');
  });

  test('skew: a kubelet newer than the API server, or too old for the target, blocks', () => {
    const newer = checkUpgradePath(inv(['v1.34.4'], ['v1.35.0']), to('1.35.x'));
    expect(newer.findings[0]!.message).toContain('kubelet on n1 (v1.35.0) is newer than the oldest API server (1.34.4)');
    const old = checkUpgradePath(inv(['v1.34.4'], ['v1.31.2']), to('1.35.x'));
    expect(old.findings.map((f) => f.message)).toContain('kubelet on n1 (v1.31.2) would be 4 minors older than API servers at 1.35; the policy allows 3');
    const spread = checkUpgradePath(inv(['v1.34.4', 'v1.32.1'], []), to('1.35.x'));
    expect(spread.findings.find((f) => f.severity === 'blocker')!.message).toMatch(/^API servers are 2 minors apart \(cp1 v1.34.4, cp2 v1.32.1\)/);
  });

  test('the Talos matrix: Talos 1.11 does not run Kubernetes 1.35, and says which Talos does', () => {
    const out = checkUpgradePath(inv(['v1.34.4'], ['v1.34.4'], ['v1.11.5']), to('1.35.x'));
    expect(out.findings).toEqual([{ severity: 'blocker', message: 'Talos 1.11 supports Kubernetes 1.29-1.34, not 1.35', fix: 'upgrade Talos first to a release that supports 1.35 (1.12, 1.13)' }]);
    expect(checkUpgradePath(inv(['v1.34.4'], ['v1.34.4'], ['v1.11.5']), to('1.35.x', 'v1.12.x')).findings).toEqual([]);
    expect(checkUpgradePath(inv(['v1.34.4'], [], ['v1.14.0']), to('1.35.x')).findings[0]!.message).toContain('no support-matrix data for Talos 1.14');
  });
});
