/**
 * Negative controls for preflight, on the normal lab (run before the lab variants): each breaks one thing the
 * preflight must catch, and the verdict must be no-go naming what broke.
 * - An object using an API version deprecated now and removed on the requested path, committed to the gitops
 *   repository: storage.k8s.io/v1alpha1 VolumeAttributesClass, deprecated in 1.32 and removed in 1.35
 *   (k8s.io/api storage/v1alpha1 zz_generated.prerelease-lifecycle.go; the v1 API is GA since 1.34, KEP-3751).
 * - An SLO regression: a history whose last good run was much faster than the latest run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadProfile } from '../../core/profile/load.ts';
import type { RunMeasurements } from '../../core/report/trends.ts';
import { openTargetFile } from '../../fixtures/targets/index.ts';
import { GitRepo } from '../../providers/gitops/git-repo.ts';
import { addManifest } from '../../providers/gitops/kustomization.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { historyFromSuitesOnLab, preflightJson } from '../support/preflight.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';

const skip = labSkipReason();

const REMOVED_API_OBJECT = `apiVersion: storage.k8s.io/v1alpha1
kind: VolumeAttributesClass
metadata:
  name: lab-gold
driverName: lab.local/csi
parameters:
  iops: "3000"
`;

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe.skipIf(skip)('negative controls: preflight says no-go', () => {
  test('an object using an API removed in 1.35, committed to git: no-go naming the object and the version that removes it', async () => {
    const { profile } = await loadProfile(labPaths.profile());
    const target = await openTargetFile(labPaths.profile());
    const app = await target.argocd!.app('app1-nginx');
    const repo = await new GitRepo(profile.gitops!.repo, profile.gitops!.branch).clone();
    let sha: string | undefined;
    try {
      const file = await addManifest(repo, app.path!, 'lab-gold-volumeattributesclass.yaml', REMOVED_API_OBJECT);
      sha = await repo.commit('negative control: a VolumeAttributesClass in storage.k8s.io/v1alpha1 (removed in 1.35)');
      await repo.push();
      await waitFor('ArgoCD resolving the pushed commit', 120_000, async () => ((await target.argocd!.app('app1-nginx')).revision === sha ? true : undefined));
      const { code, report } = await preflightJson(['--no-snapshot']);
      expect(code).toBe(1);
      expect(report.verdict).toBe('no-go');
      const apis = report.checks.find((c) => c.id === 'api-removals')!;
      expect(apis.status).toBe('blocker');
      expect(apis.findings.map((f) => f.message)).toContainEqual(
        `VolumeAttributesClass lab-gold uses storage.k8s.io/v1alpha1, removed in Kubernetes 1.35, deprecated since 1.32 (git app1-nginx@${sha.slice(0, 12)} ${file})`,
      );
    } finally {
      if (sha) {
        const undo = await repo.revert(sha, 'negative control: remove the VolumeAttributesClass again');
        await repo.push();
        await waitFor('app1-nginx Synced and Healthy again', 180_000, async () => {
          const a = await target.argocd!.app('app1-nginx');
          return a.revision === undo && a.sync === 'Synced' && a.health === 'Healthy' ? true : undefined;
        });
      }
      await repo.dispose();
    }
  }, 600_000);

  test('an SLO regression in the history: no-go naming the latest figure and the last good one', async () => {
    const history = historyFromSuitesOnLab();
    const [latest] = readFileSync(history, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunMeasurements);
    const measured = latest!.tests.find((t) => t.measurements.some((m) => m.seconds !== null && m.seconds > 2))!;
    const m = measured.measurements.find((x) => x.seconds !== null && x.seconds > 2)!;
    const seconds = m.seconds as number;
    // the doctored entry: a run a day earlier where this experiment passed four times faster
    const earlier: RunMeasurements = {
      run: { id: 'doctored-last-good', at: new Date(Date.parse(latest!.run.at) - 86_400_000).toISOString() },
      tests: [{ ...measured, status: 'passed', measurements: [{ ...m, seconds: seconds / 4 }] }],
    };
    writeFileSync(history, `${JSON.stringify(earlier)}\n${JSON.stringify(latest)}\n`);
    const { code, report } = await preflightJson(['--no-snapshot', '--history', history]);
    expect(code).toBe(1);
    const timings = report.checks.find((c) => c.id === 'timings')!;
    expect(timings.status).toBe('blocker');
    const now = seconds.toFixed(1);
    const then = (seconds / 4).toFixed(1);
    expect(timings.findings.map((f) => f.message)).toContainEqual(
      expect.stringContaining(`${measured.path.join(' > ')}: ${m.name}: ${now} s, 300 % slower than the last good run (${then} s on ${earlier.run.at}, run doctored-last-good)`),
    );
  }, 300_000);
});
