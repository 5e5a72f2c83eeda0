import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../../suites/catalogue.ts';
import { formatPlan, planRun, selectSuites } from '../../cli/plan.ts';
import { loadProfile } from '../../core/profile/load.ts';

const root = join(import.meta.dirname, '..', '..');

function suiteFiles(dir = join(root, 'suites')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? suiteFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [relative(root, join(dir, e.name))] : [],
  );
}

describe('suite catalogue', () => {
  test('lists exactly the suite files that exist, so a dry-run plan never omits or invents a suite', () => {
    expect(CATALOGUE.map((s) => s.file).sort()).toEqual(suiteFiles().sort());
    for (const s of CATALOGUE) expect(s.file).toBe(`suites/${s.id}.test.ts`);
  });

  test('selects by id or by family, and names the known suites for a typo', () => {
    expect(selectSuites(['ha']).map((s) => s.id)).toEqual(CATALOGUE.filter((s) => s.id.startsWith('ha/')).map((s) => s.id));
    expect(() => selectSuites(['ha/vip-failvoer'])).toThrow(/unknown suite "ha\/vip-failvoer"; known: .*ha\/vip-failover/);
  });
});

describe('run plan and blast-radius guard', () => {
  test('on the seed homelab, destructive suites are refused without --destructive and quorum loss needs its own flag', async () => {
    const { profile } = await loadProfile(join(root, 'profiles/seed.yaml'));
    const plain = planRun(profile, CATALOGUE, { destructive: false, quorumLoss: false });
    expect(plain.find((p) => p.suite.id === 'ha/vip-failover')).toMatchObject({ status: 'refused', reason: expect.stringMatching(/need --destructive/) });
    expect(plain.find((p) => p.suite.id === 'conformance/cluster-health')?.status).toBe('run');

    const destructive = planRun(profile, CATALOGUE, { destructive: true, quorumLoss: false });
    const quorum = destructive.find((p) => p.suite.id === 'ha/etcd-quorum')!;
    expect(quorum.status).toBe('run');
    expect(quorum.faults.find((f) => f.quorumLoss)).toMatchObject({ verdict: 'refused', reason: expect.stringMatching(/--allow-quorum-loss/) });
    expect(planRun(profile, CATALOGUE, { destructive: true, quorumLoss: true }).flatMap((p) => p.faults).every((f) => f.verdict === 'allowed')).toBe(true);

    const text = formatPlan(profile.metadata.name, plain);
    expect(text).toMatch(/REFUSED ha\/etcd-quorum/);
    expect(text).toMatch(/power-off the etcd leader/);
  });

  test('a suite needing a capability the target lacks is skipped with that reason', async () => {
    const { profile } = await loadProfile(join(root, 'profiles/seed.yaml'));
    const noPower = { ...profile, target: { ...profile.target, capabilities: profile.target.capabilities.filter((c) => c !== 'node-power') } };
    expect(planRun(noPower, CATALOGUE, { destructive: true, quorumLoss: true }).find((p) => p.suite.id === 'ha/vip-failover')).toMatchObject({
      status: 'skip',
      reason: 'target lacks capability node-power',
    });
  });

  test('gitops/convergence on a real target without gitops.testBranch is skipped, saying it never pushes to the deployed branch', async () => {
    const { profile } = await loadProfile(join(root, 'profiles/seed.yaml'));
    expect(profile.target.capabilities).toContain('gitops-push');
    expect(planRun(profile, selectSuites(['gitops']), { destructive: false, quorumLoss: false })).toMatchObject([
      {
        status: 'skip',
        reason: 'gitops-push: gitops.testBranch is not set: on a real target clusterproof pushes only to a throwaway branch the profile names, never to main',
      },
    ]);
    const withBranch = { ...profile, gitops: { ...profile.gitops!, testBranch: 'clusterproof-test' } };
    expect(planRun(withBranch, selectSuites(['gitops']), { destructive: false, quorumLoss: false })[0]).toMatchObject({ status: 'run' });
  });
});
