import { describe, expect, test } from 'vitest';
import type { AllureResult } from '../../core/report/result-files.ts';
import { flattenTree, SELF_TESTS, treePath } from '../../core/report/tree.ts';

/** A result as allure-vitest writes it: fullName "<project>:<file>#<describes> <test>", titlePath project > folders > file > describes. */
function result(project: string, file: string, describes: string[], name: string, labels: AllureResult['labels'] = []): AllureResult {
  return {
    uuid: `uuid-${name}`,
    name,
    fullName: `${project}:${file}#${[...describes, name].join(' ')}`,
    titlePath: [project, ...file.split('/'), ...describes],
    labels,
  };
}

const VIP = 'the VIP moves to another node within its SLO after a hard power-off of its holder';

describe('treePath', () => {
  test('a catalogued suite becomes family > suite, from its "family/suite" describe block', () => {
    const r = result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover'], VIP);
    expect(r.titlePath).toEqual(['suites', 'suites', 'ha', 'vip-failover.test.ts', 'ha/vip-failover']);
    expect(treePath(r)).toEqual(['ha', 'vip-failover']);
  });

  test('describe blocks nested inside a suite id follow family > suite', () => {
    const r = result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover', 'under load', 'soft shutdown'], VIP);
    expect(treePath(r)).toEqual(['ha', 'vip-failover', 'under load', 'soft shutdown']);
  });

  test('a suite file whose describe is not an id takes the family from its folder and the suite from its file name', () => {
    const r = result('suites', 'suites/etcd/leader-loss.test.ts', ['a leader lost'], 'a new leader is elected');
    expect(treePath(r)).toEqual(['etcd', 'leader-loss', 'a leader lost']);
  });

  test('a suite file without describe blocks is family > suite', () => {
    const r = result('suites', 'suites/etcd/leader-loss.test.ts', [], 'a new leader is elected');
    expect(treePath(r)).toEqual(['etcd', 'leader-loss']);
  });

  test("clusterproof's own tests group under the self-tests node, by folder below tests/ and file, then describe blocks", () => {
    const r = result('clusterproof', 'tests/report/build.test.ts', ['clusterproof report'], 'builds a report');
    expect(r.fullName).toBe('clusterproof:tests/report/build.test.ts#clusterproof report builds a report');
    expect(r.titlePath).toEqual(['clusterproof', 'tests', 'report', 'build.test.ts', 'clusterproof report']);
    expect(treePath(r)).toEqual([SELF_TESTS, 'report/build', 'clusterproof report']);
    expect(SELF_TESTS).toBe('clusterproof self-tests');
  });

  test('a self-test nested describes stay in order after the file', () => {
    const r = result('project', 'tests/load/k6-binary.test.ts', ['k6 binary', 'thresholds'], 'aborts');
    expect(treePath(r)).toEqual([SELF_TESTS, 'load/k6-binary', 'k6 binary', 'thresholds']);
  });

  test('the file suffix is dropped whatever the extension of a test file (.test.mjs, .test.tsx)', () => {
    expect(treePath(result('p', 'tests/cli/plan.test.mjs', ['plan'], 'x'))).toEqual([SELF_TESTS, 'cli/plan', 'plan']);
    expect(treePath(result('p', 'tests/cli/view.test.tsx', [], 'x'))).toEqual([SELF_TESTS, 'cli/view']);
  });

  test('a fullName without a project prefix reads the same spec file', () => {
    const r = result('clusterproof', 'tests/report/build.test.ts', ['clusterproof report'], 'builds a report');
    r.fullName = 'tests/report/build.test.ts#clusterproof report builds a report';
    expect(treePath(r)).toEqual([SELF_TESTS, 'report/build', 'clusterproof report']);
  });

  test('a title path naming no test file is kept as it is (already flat)', () => {
    const r: AllureResult = { uuid: 'u', name: VIP, fullName: 'suites:suites/ha/vip-failover.test.ts#ha/vip-failover x', titlePath: ['ha', 'vip-failover'] };
    expect(treePath(r)).toEqual(['ha', 'vip-failover']);
    expect(treePath({ uuid: 'u', name: 'n' })).toEqual([]);
  });
});

describe('flattenTree', () => {
  test('rewrites the title path and replaces parentSuite/suite/subSuite labels, keeping every other label', () => {
    const r = result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover', 'under load', 'soft'], VIP, [
      { name: 'framework', value: 'vitest' },
      { name: 'parentSuite', value: 'suites' },
      { name: 'suite', value: 'ha/vip-failover.test.ts' },
      { name: 'subSuite', value: 'ha/vip-failover' },
      { name: 'host', value: 'vm' },
    ]);
    expect(flattenTree(r)).toBe(true);
    expect(r.titlePath).toEqual(['ha', 'vip-failover', 'under load', 'soft']);
    expect(r.labels).toEqual([
      { name: 'framework', value: 'vitest' },
      { name: 'host', value: 'vm' },
      { name: 'parentSuite', value: 'ha' },
      { name: 'suite', value: 'vip-failover' },
      { name: 'subSuite', value: 'under load > soft' },
    ]);
  });

  test('a two-level path gets no subSuite label', () => {
    const r = result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover'], VIP, [{ name: 'subSuite', value: 'stale' }]);
    flattenTree(r);
    expect(r.labels).toEqual([
      { name: 'parentSuite', value: 'ha' },
      { name: 'suite', value: 'vip-failover' },
    ]);
  });

  test('self-tests get the self-tests node as parentSuite and folder/file as suite', () => {
    const r = result('clusterproof', 'tests/report/build.test.ts', ['clusterproof report'], 'builds a report', [{ name: 'parentSuite', value: 'clusterproof report' }]);
    flattenTree(r);
    expect(r.labels).toEqual([
      { name: 'parentSuite', value: SELF_TESTS },
      { name: 'suite', value: 'report/build' },
      { name: 'subSuite', value: 'clusterproof report' },
    ]);
  });

  test('is idempotent: a second pass changes nothing and says so', () => {
    for (const r of [
      result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover', 'under load'], VIP, [{ name: 'framework', value: 'vitest' }]),
      result('clusterproof', 'tests/report/build.test.ts', ['clusterproof report'], 'builds a report'),
      result('suites', 'suites/ha/vip-failover.test.ts', ['ha/vip-failover'], VIP),
    ]) {
      expect(flattenTree(r)).toBe(true);
      const once = structuredClone(r);
      expect(flattenTree(r)).toBe(false);
      expect(r).toEqual(once);
    }
  });

  test('a result already flat with matching labels is reported unchanged', () => {
    const r: AllureResult = {
      uuid: 'u',
      name: VIP,
      fullName: 'suites:suites/ha/vip-failover.test.ts#ha/vip-failover x',
      titlePath: ['ha', 'vip-failover'],
      labels: [
        { name: 'language', value: 'javascript' },
        { name: 'parentSuite', value: 'ha' },
        { name: 'suite', value: 'vip-failover' },
      ],
    };
    expect(flattenTree(r)).toBe(false);
  });
});
