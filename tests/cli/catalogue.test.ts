import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CATALOGUE, freeze, suite, type SuiteInfo } from '../../suites/catalogue.ts';
import { parseProfile } from '../../core/profile/load.ts';
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

  test('each suite file opens its describe with its own catalogue entry, so the plan and the fixtures skip on the same needs', () => {
    for (const s of CATALOGUE) {
      const source = readFileSync(join(root, s.file), 'utf8');
      const named = [...source.matchAll(/describeSuite\(suite\('([^']+)'\)/g)].map((m) => m[1]);
      expect(named, `${s.file} must call describeSuite(suite('${s.id}'), ...) exactly once`).toEqual([s.id]);
      expect(source, `${s.file} must not open a plain describe() beside its suite`).not.toMatch(/^describe\(/m);
    }
  });

  test('suite() refuses an id that is not catalogued', () => {
    expect(() => suite('ha/vip-failvoer')).toThrow(/suite "ha\/vip-failvoer" is not in suites\/catalogue.ts/);
  });

  test('selects by id or by family, and names the known suites for a typo', () => {
    expect(selectSuites(['ha']).map((s) => s.id)).toEqual(CATALOGUE.filter((s) => s.id.startsWith('ha/')).map((s) => s.id));
    expect(() => selectSuites(['ha/vip-failvoer'])).toThrow(/unknown suite "ha\/vip-failvoer"; known: .*ha\/vip-failover/);
  });
});

const seedPath = join(root, 'profiles/seed.yaml');

/** The seed with direct etcd access (client URLs and certificates), so the etcd probe can write sentinel keys. */
function seedWithEtcdAccess() {
  const text = readFileSync(seedPath, 'utf8').replace(
    /^access:\n/m,
    'access:\n  etcd:\n    endpoints:\n      - { node: cp-node-1, url: "https://192.168.40.61:2379" }\n    caFile: etcd-ca.crt\n    certFile: etcd-client.crt\n    keyFile: etcd-client.key\n',
  );
  return parseProfile(text, seedPath);
}

describe('run plan and blast-radius guard', () => {
  test('on the seed homelab, destructive suites are refused without --destructive and quorum loss needs its own flag', async () => {
    const profile = seedWithEtcdAccess();
    const plain = planRun(profile, seedPath, CATALOGUE, { destructive: false, quorumLoss: false });
    expect(plain.find((p) => p.suite.id === 'ha/vip-failover')).toMatchObject({ status: 'refused', reason: expect.stringMatching(/need --destructive/) });
    expect(plain.find((p) => p.suite.id === 'conformance/cluster-health')?.status).toBe('run');

    const destructive = planRun(profile, seedPath, CATALOGUE, { destructive: true, quorumLoss: false });
    const quorum = destructive.find((p) => p.suite.id === 'ha/etcd-quorum')!;
    expect(quorum.status).toBe('run');
    expect(quorum.faults.find((f) => f.quorumLoss)).toMatchObject({ verdict: 'refused', reason: expect.stringMatching(/--allow-quorum-loss/) });
    const everything = planRun(profile, seedPath, CATALOGUE, { destructive: true, quorumLoss: true });
    expect(everything.filter((p) => p.status !== 'skip').flatMap((p) => p.faults).filter((f) => f.verdict !== 'allowed')).toMatchObject([{ action: 'load', reason: expect.stringMatching(/needs --load/) }]);
    expect(planRun(profile, seedPath, CATALOGUE, { destructive: true, quorumLoss: true, load: true }).flatMap((p) => p.faults).every((f) => f.verdict === 'allowed')).toBe(true);

    const text = formatPlan(profile.metadata.name, plain);
    expect(text).toMatch(/REFUSED ha\/etcd-quorum/);
    expect(text).toMatch(/power-off the etcd leader/);
  });

  test('the rolling upgrade is opt-in: skipped without --upgrade-to, saying why; planned with it', () => {
    const profile = seedWithEtcdAccess();
    const without = planRun(profile, seedPath, CATALOGUE, { destructive: true, quorumLoss: false }).find((p) => p.suite.id === 'upgrade/rolling')!;
    expect(without).toMatchObject({ status: 'skip', reason: 'opt-in: give --upgrade-to <version> (it upgrades every node of the cluster for good)' });
    const withIt = planRun(profile, seedPath, CATALOGUE, { destructive: true, quorumLoss: false, load: true, upgradeTo: 'v1.35.4' }).find((p) => p.suite.id === 'upgrade/rolling')!;
    expect(withIt.status).toBe('run');
    expect(formatPlan('seed', [withIt])).toMatch(/fault +upgrade every node, one at a time/);
    expect(planRun(profile, seedPath, CATALOGUE, { destructive: false, quorumLoss: false, upgradeTo: 'v1.35.4' }).find((p) => p.suite.id === 'upgrade/rolling')!.status).toBe('refused');
  });

  test('a freeze is planned as a node-down fault: refused without --destructive, printed with its undo', () => {
    const profile = seedWithEtcdAccess();
    const frozen: SuiteInfo = { id: 'ha/grey', file: 'suites/ha/grey.test.ts', title: 'a frozen worker', needs: [], faults: [freeze('a worker')] };
    const [plain] = planRun(profile, seedPath, [frozen], { destructive: false, quorumLoss: false });
    expect(plain).toMatchObject({ status: 'refused', faults: [{ action: 'freeze', verdict: 'refused', reason: expect.stringMatching(/need --destructive/) }] });
    const [allowed] = planRun(profile, seedPath, [frozen], { destructive: true, quorumLoss: false });
    expect(allowed?.status).toBe('run');
    expect(formatPlan(profile.metadata.name, [allowed!])).toMatch(/ fault +freeze a worker; undo: thaw the node \(resume it where it stopped\)/);
  });

  test('a suite needing a capability the target lacks is skipped with that reason', async () => {
    const { profile } = await loadProfile(seedPath);
    const noPower = { ...profile, target: { ...profile.target, capabilities: profile.target.capabilities.filter((c) => c !== 'node-power') } };
    expect(planRun(noPower, seedPath, CATALOGUE, { destructive: true, quorumLoss: true }).find((p) => p.suite.id === 'ha/vip-failover')).toMatchObject({
      status: 'skip',
      reason: `target "seed" lacks capability node-power (not declared in ${seedPath} target.capabilities)`,
    });
  });

  test('the plan predicts the run-time skip of ha/etcd-quorum when the etcd probe is talosctl (no key-value call)', async () => {
    const { profile } = await loadProfile(seedPath);
    expect(profile.access.etcd).toBeUndefined();
    expect(planRun(profile, seedPath, selectSuites(['ha/etcd-quorum']), { destructive: true, quorumLoss: true })[0]).toMatchObject({
      status: 'skip',
      reason: expect.stringMatching(/lacks capability etcd-keys \(the etcd probe is talosctl, which cannot write or read keys/),
    });
  });

  test('gitops/convergence on a real target without gitops.testBranch is skipped, saying it never pushes to the deployed branch', async () => {
    const { profile } = await loadProfile(seedPath);
    expect(profile.target.capabilities).toContain('gitops-push');
    expect(planRun(profile, seedPath, selectSuites(['gitops']), { destructive: false, quorumLoss: false })).toMatchObject([
      {
        status: 'skip',
        reason:
          'target "seed" lacks capability gitops-push (gitops.testBranch is not set: on a real target clusterproof pushes only to a throwaway branch the profile names, never to main)',
      },
    ]);
    const withBranch = { ...profile, gitops: { ...profile.gitops!, testBranch: 'clusterproof-test' } };
    expect(planRun(withBranch, seedPath, selectSuites(['gitops']), { destructive: false, quorumLoss: false })[0]).toMatchObject({ status: 'run' });
  });
});
