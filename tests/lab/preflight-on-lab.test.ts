/**
 * `clusterproof preflight --target lab --to kubernetes=<next minor>` on the lab the suites just ran on: a verdict with
 * every check and its evidence, as a user gets it. Its timings check reads a measurement history built from the
 * suites-on-lab results of the same `npm test` (so it runs after that test), and its etcd check really takes and
 * verifies a snapshot. The lab's own expected findings are asserted, not just tolerated: its control planes are kwok
 * nodes (no kubelet to check), and the seed-shaped nginx (2 replicas, required anti-affinity, 2 workers) leaves a
 * replica Pending whichever worker drains.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../../bootstrap/lab/build/index.ts';
import { appsConverged, historyFromSuitesOnLab, NEXT_MINOR, NEXT_MINOR_VERSION, preflightJson } from '../support/preflight.ts';

const skip = labSkipReason();

describe.skipIf(skip)('preflight on the lab', () => {
  test(`preflight --target lab --to ${NEXT_MINOR}: GO, with every check, its evidence and the lab's expected warnings`, async () => {
    // as a user would: after the suites, the last experiment's rollout must settle before asking for a verdict
    await appsConverged();
    const history = historyFromSuitesOnLab();
    const allure = mkdtempSync(join(tmpdir(), 'preflight-allure-'));
    const { code, report } = await preflightJson(['--history', history, '--allure-results', allure]);
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(report.checks.map((c) => c.id)).toEqual(['gitops-converged', 'upgrade-path', 'api-removals', 'etcd', 'drain', 'certificates', 'timings']);
    expect(report.checks.filter((c) => c.status === 'blocker' || c.status === 'error').map((c) => `${c.id}: ${c.summary} ${JSON.stringify(c.findings)}`)).toEqual([]);
    expect(report.verdict).toBe('go');
    expect(code).toBe(0);

    expect(byId['gitops-converged']!.summary).toBe('4 of 4 Applications Synced and Healthy');
    expect(byId['upgrade-path']!.evidence.hops).toEqual([NEXT_MINOR_VERSION]);
    expect(byId['upgrade-path']!.evidence.inventory.apiservers.map((a: { version: string }) => a.version)).toEqual([DEFAULT_KUBERNETES_VERSION, DEFAULT_KUBERNETES_VERSION, DEFAULT_KUBERNETES_VERSION]);
    expect(byId['upgrade-path']!.findings.map((f) => f.message)).toEqual(['cp1, cp2, cp3 report kubelet version "kwok-v0.8.0": no Kubernetes kubelet runs there, so the skew policy is not checked for them']);
    expect(byId['api-removals']!.evidence.manifests.read).toHaveLength(4);
    expect(byId['api-removals']!.evidence.manifests.objects).toBeGreaterThan(5);

    const etcd = byId.etcd!;
    expect(etcd.evidence.members.map((m: { healthy: boolean }) => m.healthy)).toEqual([true, true, true]);
    const snap = etcd.evidence.snapshot;
    expect(snap.status.totalKey).toBeGreaterThan(100);
    expect(createHash('sha256').update(readFileSync(snap.path)).digest('hex')).toBe(snap.sha256);
    rmSync(snap.path);

    const drain = byId.drain!.findings.map((f) => `${f.severity}: ${f.message}`);
    for (const [w, other] of [['w1', 'w2'], ['w2', 'w1']]) {
      expect(drain).toContainEqual(expect.stringMatching(new RegExp(
        `^warning: draining ${w} leaves 1 of 2 replicas of Deployment app1-nginx/nginx Pending until ${w} returns \\(1 keep running\\): .*${other}: required podAntiAffinity \\(topologyKey kubernetes.io/hostname, app.kubernetes.io/name=nginx\\) of Deployment app1-nginx/nginx`,
      )));
    }
    expect(byId.certificates!.evidence.certificates.map((c: { what: string }) => c.what)).toEqual([
      'kubeconfig client certificate (user kubernetes-admin)',
      expect.stringMatching(/^API server serving certificate \(198\.18\.40\.60:6443\)$/),
    ]);
    expect(byId.timings!.status).toBe('passed');
    expect(byId.timings!.evidence.measurements.length).toBeGreaterThan(0);

    const results = readdirSync(allure).filter((f) => f.endsWith('-result.json'));
    expect(results).toHaveLength(7);
  }, 300_000);
});
