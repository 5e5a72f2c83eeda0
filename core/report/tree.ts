/**
 * A flat, meaningful tree: family > suite > experiment (`ha > vip-failover > the VIP moves … hard power-off of its
 * holder`), instead of allure-vitest's project > folders > file > describe > test, which names everything twice.
 * The target and the run belong to the environment block, not the tree. clusterproof's own tests group the same way
 * under "clusterproof self-tests" (their folder and file, then their describe blocks).
 */
import type { AllureResult } from './result-files.ts';

export const SELF_TESTS = 'clusterproof self-tests';

/** The tree path of one result (without the experiment's own name, which Allure adds as the leaf). */
export function treePath(result: AllureResult): string[] {
  const titlePath = result.titlePath ?? [];
  const fileAt = titlePath.findIndex((p) => TEST_FILE.test(p));
  if (fileAt < 0) return titlePath;
  const describes = titlePath.slice(fileAt + 1);
  // the spec file relative to the root, from "<vitest project>:<file>#<describes> <test>" (the project name may hold no colon)
  const spec = /^(?:[^:#]*:)?([^#]+)#/.exec(result.fullName ?? '')?.[1] ?? titlePath.slice(0, fileAt + 1).join('/');
  const folders = spec.split('/').slice(0, -1);
  const file = spec.split('/').at(-1)!.replace(TEST_FILE, '');
  if (folders[0] === 'suites') {
    // a catalogued suite's describe block is its id, "family/suite"
    const [id, ...rest] = describes;
    const [family, suite] = id?.includes('/') ? id.split('/', 2) : [folders[1] ?? 'suites', file];
    return [family!, suite!, ...(id?.includes('/') ? rest : describes)];
  }
  const where = [...folders.filter((p, i) => !(i === 0 && p === 'tests')), file].join('/');
  return [SELF_TESTS, where, ...describes];
}

const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;

const TREE_LABELS = new Set(['parentSuite', 'suite', 'subSuite']);

/** Rewrites the result's tree path and its suite labels to match (JUnit and other views read the labels). */
export function flattenTree(result: AllureResult): boolean {
  const path = treePath(result);
  const before = JSON.stringify([result.titlePath, result.labels]);
  result.titlePath = path;
  const [parentSuite, suite, ...rest] = path;
  result.labels = [
    ...(result.labels ?? []).filter((l) => !TREE_LABELS.has(l.name)),
    ...(parentSuite ? [{ name: 'parentSuite', value: parentSuite }] : []),
    ...(suite ? [{ name: 'suite', value: suite }] : []),
    ...(rest.length ? [{ name: 'subSuite', value: rest.join(' > ') }] : []),
  ];
  return JSON.stringify([result.titlePath, result.labels]) !== before;
}
