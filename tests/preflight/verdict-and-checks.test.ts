import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeAllureResults } from '../../core/preflight/allure-results.ts';
import { checkCertificates } from '../../core/preflight/certificates.ts';
import { checkEtcd, type EtcdMemberFacts } from '../../core/preflight/etcd-health.ts';
import { checkApps } from '../../core/preflight/gitops.ts';
import { renderJson, renderText, type PreflightReport } from '../../core/preflight/render.ts';
import { checkTimings } from '../../core/preflight/timings.ts';
import { verdictOf, type CheckResult } from '../../core/preflight/verdict.ts';
import { readMeasurementHistory, type RunMeasurements } from '../../core/report/trends.ts';

const check = (id: string, status: CheckResult['status'], findings: CheckResult['findings'] = []): CheckResult => ({ id, title: id, status, summary: `${id} summary`, findings, evidence: {}, seconds: 0.5 });

describe('verdict', () => {
  test('go only without blockers and errors; warnings and skips do not stop it', () => {
    expect(verdictOf([check('a', 'passed'), check('b', 'warning', [{ severity: 'warning', message: 'w' }]), check('c', 'skipped')]).go).toBe(true);
    expect(verdictOf([check('a', 'passed'), check('b', 'blocker', [{ severity: 'blocker', message: 'x' }])])).toMatchObject({ go: false, blockers: 1 });
    expect(verdictOf([check('a', 'error')])).toMatchObject({ go: false, errors: 1 });
  });

  test('text and JSON carry every check, every finding and the verdict; Allure gets one result per check', () => {
    const report: PreflightReport = {
      target: 'lab',
      to: 'kubernetes=1.35.x',
      startedAt: '2026-12-02T10:00:00.000Z',
      checks: [check('gitops', 'passed'), check('drain', 'blocker', [{ severity: 'blocker', message: 'PDB x stalls', fix: 'raise replicas' }]), check('timings', 'skipped')],
    };
    const text = renderText(report);
    expect(text).toContain(' 2. FAIL  drain: drain summary (0.5 s)\n      blocker: PDB x stalls\n        fix: raise replicas');
    expect(text.split('\n').at(-1)).toBe('verdict: NO-GO (1 blocker, 0 warnings, 1 skipped)');
    expect(JSON.parse(renderJson(report))).toMatchObject({ verdict: 'no-go', blockers: 1, checks: [{ id: 'gitops' }, { id: 'drain' }, { id: 'timings' }] });
    const dir = mkdtempSync(join(tmpdir(), 'preflight-allure-'));
    writeAllureResults(report, dir);
    const results = readdirSync(dir).filter((f) => f.endsWith('-result.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
    expect(results.map((r) => [r.name, r.status]).sort()).toEqual([['drain', 'failed'], ['gitops', 'passed'], ['timings', 'skipped']]);
    expect(results.find((r) => r.name === 'drain').statusDetails.message).toBe('PDB x stalls');
  });
});

describe('gitops, certificates, etcd', () => {
  test('an Application not Synced and Healthy blocks, with ArgoCD\'s error', () => {
    expect(checkApps([{ name: 'a', sync: 'Synced', health: 'Healthy' }])).toEqual([]);
    expect(checkApps([{ name: 'b', sync: 'OutOfSync', health: 'Missing', revision: '0123456789abcdef', error: 'sync Failed: the server could not find the requested resource' }])[0]!.message).toBe(
      'Application b is OutOfSync/Missing at 0123456789ab: sync Failed: the server could not find the requested resource',
    );
    expect(checkApps([])[0]!.severity).toBe('blocker');
  });

  test('certificates: expired and inside the window block, within twice the window warns', () => {
    const now = new Date('2026-12-02T00:00:00Z');
    const cert = (days: number) => ({ what: 'kubeconfig client certificate (user admin)', subject: 'CN=admin', notAfter: new Date(now.getTime() + days * 86_400_000) });
    expect(checkCertificates([cert(-1), cert(10), cert(45), cert(400)], 30, now).map((f) => f.severity)).toEqual(['blocker', 'blocker', 'warning']);
    expect(checkCertificates([cert(10)], 30, now)[0]!.message).toBe('kubeconfig client certificate (user admin) (CN=admin) expires on 2026-12-12T00:00:00.000Z, in 10.0 days: inside the 30-day window');
  });

  test('etcd: an unhealthy member, a full database, an alarm and an unverified or empty snapshot block', () => {
    const m = (name: string, extra: Partial<EtcdMemberFacts> = {}): EtcdMemberFacts => ({ name, endpoint: `https://198.18.40.61:2379`, healthy: true, id: name, leader: 'cp1', dbSizeBytes: 20e6, quotaBytes: 1024 ** 3, ...extra });
    const snap = { path: '/s/etcd.db', sha256: 'ab', bytes: 10, takenFrom: 'cp2', status: { hash: 1, revision: 900, totalKey: 800, totalSize: 10 } };
    expect(checkEtcd([m('cp1'), m('cp2'), m('cp3')], 3, [], snap)).toEqual([]);
    const bad = checkEtcd([m('cp1', { dbSizeBytes: 0.9 * 1024 ** 3 }), m('cp2', { healthy: false, error: 'context deadline exceeded' })], 3, ['NOSPACE on member 1'], { ...snap, status: { ...snap.status, totalKey: 0 } });
    expect(bad.map((f) => f.message)).toEqual([
      'etcd member cp2 (https://198.18.40.61:2379) is not healthy: context deadline exceeded',
      'etcd has 2 members, the profile describes 3 control planes',
      'etcd alarm raised: NOSPACE on member 1',
      'etcd cp1: database 921.6 MiB is 90 % of its 1024.0 MiB quota',
      'the etcd snapshot /s/etcd.db holds no key',
    ]);
    expect(checkEtcd([m('cp1')], 1, [], undefined)[0]!.message).toBe('no etcd snapshot was taken');
  });
});

describe('timings against the last good run', () => {
  const run = (id: string, at: string, seconds: number | null, status = 'passed'): RunMeasurements => ({
    run: { id, at },
    tests: [{ key: 'k1', path: ['ha', 'vip-failover', 'hard power-off'], status, measurements: [{ name: 'recovery', seconds: seconds as number, sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds', outcome: 'ok' }] }],
  });

  test('a regression beyond the tolerance blocks, naming both figures', () => {
    const out = checkTimings([run('r1', '2026-11-30T00:00:00Z', 40), run('r2', '2026-12-01T00:00:00Z', 70)], { relative: 0.25, absoluteSeconds: 1 }, 'h.jsonl');
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]!.message).toMatch(/^ha > vip-failover > hard power-off: recovery: 70\.0 s, 75 % slower than the last good run \(40\.0 s on 2026-11-30T00:00:00Z, run r1\)/);
  });

  test('within tolerance passes; no history skips; a doctored history file is read like any other', () => {
    expect(checkTimings([run('r1', '2026-11-30T00:00:00Z', 40), run('r2', '2026-12-01T00:00:00Z', 41)], { relative: 0.25, absoluteSeconds: 1 }, 'h').findings).toEqual([]);
    expect(checkTimings([], { relative: 0.25, absoluteSeconds: 1 }, 'h.jsonl').skipped).toMatch(/no run in h\.jsonl/);
    const file = join(mkdtempSync(join(tmpdir(), 'timings-')), 'measurements.jsonl');
    writeFileSync(file, [run('r1', '2026-11-30T00:00:00Z', 10), run('r2', '2026-12-01T00:00:00Z', 30)].map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(checkTimings(readMeasurementHistory(file), { relative: 0.25, absoluteSeconds: 1 }, file).findings[0]!.severity).toBe('blocker');
  });
});
