import { describe, expect, test } from 'vitest';
import { REGRESSION_LABEL } from '../../core/report/categories.ts';
import { renderJunit } from '../../core/report/junit.ts';
import type { AllureResult, ResultFile } from '../../core/report/result-files.ts';

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  cdata: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
const decode = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp|#x[0-9a-fA-F]+|#\d+);/g, (_m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!,
  );

/** A strict-enough XML reader: every tag closed in order, attributes quoted, no stray text, raw `<`/`&` nowhere but CDATA. */
function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', attrs: {}, children: [], cdata: '' };
  const stack = [root];
  const token = /<\?xml[^?]*\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = token.exec(xml); m; m = token.exec(xml)) {
    const between = xml.slice(at, m.index);
    expect(between.trim(), `text before ${m[0]}`).toBe('');
    at = token.lastIndex;
    const [, cdata, closing, name, attrText, selfClosing] = m;
    const top = stack.at(-1)!;
    if (cdata !== undefined) {
      top.cdata += cdata;
      continue;
    }
    if (!name) continue; // the XML declaration
    if (closing) {
      expect(stack.pop()!.name, `closing </${name}>`).toBe(name);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      expect(a[2], `attribute ${a[1]}`).not.toMatch(/&(?!(lt|gt|quot|apos|amp|#x[0-9a-fA-F]+|#\d+);)/);
      attrs[a[1]!] = decode(a[2]!);
    }
    const node: XmlNode = { name: name!, attrs, children: [], cdata: '' };
    top.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  expect(xml.slice(at).trim()).toBe('');
  expect(stack.map((n) => n.name)).toEqual(['#document']);
  expect(root.children).toHaveLength(1);
  return root.children[0]!;
}

const childrenNamed = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);
const properties = (testcase: XmlNode) =>
  Object.fromEntries(childrenNamed(testcase, 'properties').flatMap((p) => childrenNamed(p, 'property').map((q) => [q.attrs.name, q.attrs.value])));

let seq = 0;
function rf(over: Partial<AllureResult> & { name: string }): ResultFile {
  const uuid = `uuid-${++seq}`;
  return {
    file: `/dev/null/${uuid}-result.json`,
    result: { uuid, titlePath: ['ha', 'vip-failover'], status: 'passed', start: 1_700_000_000_000, stop: 1_700_000_001_500, ...over },
  };
}

const MEASURED = '61.9 s of 75 s (slo.vipFailoverHardSeconds)';
const REGRESSED = 'VIP answers again: 61.9 s, 30 % slower than the last good run (47.6 s on 2024-03-01T08:15:00.000Z, run run-1)';

const results = (): ResultFile[] => [
  rf({
    name: 'the VIP moves',
    start: 1_700_000_000_000,
    stop: 1_700_000_061_900,
    parameters: [{ name: 'VIP answers again', value: MEASURED, excluded: true }],
    labels: [
      { name: 'suite', value: 'vip-failover' },
      { name: REGRESSION_LABEL, value: REGRESSED },
    ],
  }),
  rf({
    name: 'a new etcd leader in time',
    titlePath: ['etcd', 'leader-loss'],
    status: 'failed',
    statusDetails: { message: 'SLO violated: new leader after 7.2 s, SLO 5 s', trace: 'AssertionError: SLO violated: new leader after 7.2 s\n    at suites/etcd.test.ts:1:1' },
  }),
  rf({
    name: 'the API answers through the VIP again',
    status: 'broken',
    statusDetails: {
      message: '"readyz" never happened within 30.0 s (SLO 10 s); last error: connect ECONNREFUSED',
      trace: 'SloViolation: "readyz" never happened\n    at fixtures/slo.ts:1:1',
    },
  }),
  rf({
    name: 'the lab answers',
    titlePath: ['etcd', 'leader-loss'],
    status: 'broken',
    statusDetails: { message: 'connect ECONNREFUSED 198.18.40.60:6443', trace: 'Error: connect ECONNREFUSED 198.18.40.60:6443\n    at net.js:1:1' },
  }),
  rf({
    name: 'ArgoCD syncs the commit',
    titlePath: ['gitops', 'sync'],
    status: 'broken',
    statusDetails: { message: "Cannot read properties of undefined (reading 'status')", trace: "TypeError: Cannot read properties of undefined (reading 'status')\n    at x.ts:1:1" },
  }),
  rf({ name: 'MetalLB announces from two nodes', titlePath: ['gitops', 'sync'], status: 'skipped', description: 'Skipped: the profile has one node' }),
];

function testcases(xml: string): Map<string, XmlNode> {
  const doc = parseXml(xml);
  return new Map(childrenNamed(doc, 'testsuite').flatMap((s) => childrenNamed(s, 'testcase').map((c) => [c.attrs.name!, c] as const)));
}

describe('renderJunit', () => {
  test('one testsuites root named for the report, one testsuite per tree path (sorted), one testcase per result', () => {
    const doc = parseXml(renderJunit(results(), 'clusterproof lab'));
    expect(doc.name).toBe('testsuites');
    expect(doc.attrs.name).toBe('clusterproof lab');
    expect(doc.attrs.tests).toBe('6');
    const suites = childrenNamed(doc, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual(['etcd > leader-loss', 'gitops > sync', 'ha > vip-failover']);
    expect(suites.map((s) => childrenNamed(s, 'testcase').map((c) => c.attrs.name))).toEqual([
      ['a new etcd leader in time', 'the lab answers'],
      ['ArgoCD syncs the commit', 'MetalLB announces from two nodes'],
      ['the VIP moves', 'the API answers through the VIP again'],
    ]);
    for (const s of suites) for (const c of childrenNamed(s, 'testcase')) expect(c.attrs.classname).toBe(s.attrs.name);
  });

  test("a testcase's time is its duration in seconds", () => {
    const cases = testcases(renderJunit(results(), 'r'));
    expect(Number(cases.get('the VIP moves')!.attrs.time)).toBeCloseTo(61.9, 6);
    expect(Number(cases.get('the lab answers')!.attrs.time)).toBeCloseTo(1.5, 6);
    const noTimes = testcases(renderJunit([rf({ name: 'untimed', start: undefined, stop: undefined })], 'r'));
    expect(noTimes.get('untimed')!.attrs.time).toBe('0');
  });

  test('a passed result is a bare testcase apart from its properties', () => {
    const c = testcases(renderJunit(results(), 'r')).get('the VIP moves')!;
    expect(c.children.map((n) => n.name)).toEqual(['properties']);
  });

  test('parameters (the measurements) and a regression label become properties; other labels do not', () => {
    const c = testcases(renderJunit(results(), 'r')).get('the VIP moves')!;
    expect(properties(c)).toEqual({ 'VIP answers again': MEASURED, 'slower than the last good run': REGRESSED });
  });

  test('a property violation is a <failure> with its message and trace, whether failed or an SloViolation that broke', () => {
    const cases = testcases(renderJunit(results(), 'r'));
    for (const [name, message, traceStart] of [
      ['a new etcd leader in time', 'SLO violated: new leader after 7.2 s, SLO 5 s', 'AssertionError: SLO violated'],
      ['the API answers through the VIP again', '"readyz" never happened within 30.0 s (SLO 10 s); last error: connect ECONNREFUSED', 'SloViolation: '],
    ] as const) {
      const c = cases.get(name)!;
      const failures = childrenNamed(c, 'failure');
      expect(failures, name).toHaveLength(1);
      expect(failures[0]!.attrs).toEqual({ message, type: 'property violation' });
      expect(failures[0]!.cdata.startsWith(traceStart)).toBe(true);
      expect(childrenNamed(c, 'error'), name).toEqual([]);
      expect(childrenNamed(c, 'skipped'), name).toEqual([]);
    }
  });

  test('an infrastructure flake is an <error>, not a <failure>', () => {
    const c = testcases(renderJunit(results(), 'r')).get('the lab answers')!;
    const errors = childrenNamed(c, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attrs).toEqual({ message: 'connect ECONNREFUSED 198.18.40.60:6443', type: 'infrastructure flake' });
    expect(childrenNamed(c, 'failure')).toEqual([]);
  });

  test('a harness error is an <error>, not a <failure>', () => {
    const c = testcases(renderJunit(results(), 'r')).get('ArgoCD syncs the commit')!;
    const errors = childrenNamed(c, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attrs).toEqual({ message: "Cannot read properties of undefined (reading 'status')", type: 'harness error' });
    expect(childrenNamed(c, 'failure')).toEqual([]);
  });

  test("the suites' failure and error counts match: two property violations, two errors, one skipped", () => {
    const doc = parseXml(renderJunit(results(), 'r'));
    expect({ failures: doc.attrs.failures, errors: doc.attrs.errors, skipped: doc.attrs.skipped }).toEqual({ failures: '2', errors: '2', skipped: '1' });
  });

  test('a skipped result is <skipped/> and nothing else', () => {
    const c = testcases(renderJunit(results(), 'r')).get('MetalLB announces from two nodes')!;
    expect(c.children.map((n) => n.name)).toEqual(['skipped']);
  });

  test('a result without a tree path goes to a "results" testsuite', () => {
    const doc = parseXml(renderJunit([rf({ name: 'lonely', titlePath: [] }), rf({ name: 'pathless', titlePath: undefined })], 'r'));
    const suites = childrenNamed(doc, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual(['results']);
    expect(childrenNamed(suites[0]!, 'testcase').map((c) => c.attrs.name)).toEqual(['lonely', 'pathless']);
  });

  test('escapes <, & and " in suite names, test names, property names and values, and messages', () => {
    const nasty = `<img src=x> & "quoted"`;
    const xml = renderJunit(
      [
        rf({
          name: `name ${nasty}`,
          titlePath: [`family ${nasty}`, 'suite'],
          status: 'failed',
          statusDetails: { message: `SLO violated: ${nasty}`, trace: `AssertionError: ${nasty}` },
          parameters: [{ name: `param ${nasty}`, value: `value ${nasty}` }],
        }),
      ],
      `report ${nasty}`,
    );
    expect(xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')).not.toContain('<img'); // the trace is CDATA, so stays as it was
    const doc = parseXml(xml); // raw < & " anywhere outside CDATA would not parse
    expect(doc.attrs.name).toBe(`report ${nasty}`);
    const suite = childrenNamed(doc, 'testsuite')[0]!;
    expect(suite.attrs.name).toBe(`family ${nasty} > suite`);
    const c = childrenNamed(suite, 'testcase')[0]!;
    expect(c.attrs.name).toBe(`name ${nasty}`);
    expect(properties(c)).toEqual({ [`param ${nasty}`]: `value ${nasty}` });
    expect(childrenNamed(c, 'failure')[0]!.attrs.message).toBe(`SLO violated: ${nasty}`);
    expect(childrenNamed(c, 'failure')[0]!.cdata).toBe(`AssertionError: ${nasty}`);
  });

  test('no results is an empty testsuites document', () => {
    const doc = parseXml(renderJunit([], 'empty'));
    expect(doc.name).toBe('testsuites');
    expect(doc.attrs.tests).toBe('0');
    expect(doc.children).toEqual([]);
  });
  test('an experiment run again (Allure retry: same history id) is one testcase, its last result', () => {
    const first = rf({ name: 'the VIP moves', historyId: 'h1', status: 'passed', stop: 1_700_000_001_000 });
    const rerun = rf({ name: 'the VIP moves', historyId: 'h1', status: 'broken', stop: 1_700_000_009_000, statusDetails: { message: 'SLO violated: "x" took 80.0 s', trace: 'SloViolation: SLO violated' } });
    const doc = parseXml(renderJunit([rerun, first], 'r'));
    expect(doc.attrs.tests).toBe('1');
    expect(childrenNamed([...testcases(renderJunit([first, rerun], 'r')).values()][0]!, 'failure')).toHaveLength(1);
  });
});
