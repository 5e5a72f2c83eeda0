import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { PROJECT_ROOT } from '../../core/report/allure-config.ts';
import { buildReport, countHistoryEntries } from '../../core/report/build.ts';
import { formatProperties, parseProperties, readEnvironment } from '../../core/report/environment.ts';
import { embeddedReportFiles } from '../../core/report/report-html.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
function freshDir(name: string): string {
  const dir = join(scratch, `${++seq}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface FakeResult {
  name: string;
  status: 'passed' | 'failed' | 'broken';
  message?: string;
  errorClass?: string;
  attachment?: string;
  parameters?: Array<{ name: string; value: string }>;
}

/** Allure results as any Allure adapter writes them (the Allure 2 JSON format Allure 3 reads). */
function writeResults(dir: string, results: FakeResult[]): void {
  results.forEach((r, i) => {
    const uuid = `00000000-0000-4000-8000-00000000000${i}`;
    const attachments = [];
    if (r.attachment) {
      writeFileSync(join(dir, `${uuid}-attachment.txt`), r.attachment);
      attachments.push({ name: 'evidence', source: `${uuid}-attachment.txt`, type: 'text/plain' });
    }
    const result = {
      uuid,
      historyId: `history-${r.name}`,
      testCaseId: `case-${r.name}`,
      fullName: `suites/ha.test.ts#${r.name}`,
      name: r.name,
      status: r.status,
      statusDetails: r.message ? { message: r.message, trace: `${r.errorClass ?? 'Error'}: ${r.message}\n    at suites/ha.test.ts:1:1` } : {},
      stage: 'finished',
      start: 1_700_000_000_000 + i,
      stop: 1_700_000_001_000 + i,
      labels: [{ name: 'suite', value: 'ha' }],
      parameters: r.parameters ?? [],
      steps: [],
      attachments,
    };
    writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify(result));
  });
}

const SECRET_TOKEN = 'sekr3t-t0ken-value';
const SECRET_PASSWORD = 'hunter2hunter2';

function fakeRun(dir: string): void {
  writeResults(dir, [
    {
      name: 'VIP fails over',
      status: 'passed',
      attachment: `GET /readyz\nAuthorization: Bearer ${SECRET_TOKEN}\n200 OK`,
      parameters: [{ name: 'token', value: SECRET_TOKEN }],
    },
    { name: 'new etcd leader in time', status: 'failed', message: 'SLO violated: new leader after 7.2 s, SLO 5 s' },
    {
      name: 'API answers through the VIP again',
      status: 'broken',
      errorClass: 'SloViolation',
      message: '"readyz" never happened: still not true 30.0 s after the fault (SLO 10 s); last error: connect ECONNREFUSED',
    },
    {
      name: 'ArgoCD syncs the commit',
      status: 'broken',
      message: `connect ECONNREFUSED 198.18.40.20:8080 (https://admin:${SECRET_PASSWORD}@198.18.40.20:8080)`,
    },
    { name: 'guestbook holds its latency', status: 'broken', message: 'expectation failed: p95 412 ms > 250 ms' },
    { name: 'evidence collector', status: 'broken', message: "TypeError: Cannot read properties of undefined (reading 'nodes')" },
  ]);
}

function reportFiles(indexHtml: string): Map<string, Buffer> {
  return embeddedReportFiles(readFileSync(indexHtml, 'utf8'));
}

function widget<T>(files: Map<string, Buffer>, name: string): T {
  const file = files.get(`widgets/${name}`);
  expect(file, `widgets/${name} in the report`).toBeDefined();
  return JSON.parse(file!.toString('utf8')) as T;
}

describe('clusterproof report', () => {
  test('a missing results directory is a clear user error', async () => {
    const missing = join(scratch, 'no-such-dir');
    const err = await buildReport({ resultsDir: missing, outputDir: freshDir('out'), historyFile: join(scratch, 'h.jsonl') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(`no test results at ${missing}`);
    expect((err as Error).message).toContain('fix: run the tests first');
  });

  test('a results directory without results is a clear user error', async () => {
    const err = await buildReport({ resultsDir: freshDir('empty'), outputDir: freshDir('out') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/holds no test results \(no \*-result\.json files\)/);
  });

  test(
    'builds offline with environment info, categories, redaction and history that grows run after run',
    async () => {
      const results = freshDir('results');
      const output = freshDir('report');
      const history = join(freshDir('history'), 'history.jsonl');
      fakeRun(results);
      writeFileSync(join(results, 'environment.properties'), 'kubernetes.version=v1.34.1\n'); // recorded by the run

      const environment = { target: 'lab', profile: 'profiles/lab.yaml', 'etcd.version': '3.6.5' };
      const first = await buildReport({ resultsDir: results, outputDir: output, historyFile: history, environment });
      expect(first.historyEntries).toBe(1);
      expect(first.results).toBe(6);
      expect(first.stats).toMatchObject({ total: 6, passed: 1, failed: 1, broken: 4 });

      const second = await buildReport({ resultsDir: results, outputDir: output, historyFile: history, environment });
      expect(second.historyEntries).toBe(2);
      expect(countHistoryEntries(history)).toBe(2);
      const files = reportFiles(second.indexHtml);

      // trends: the second report knows the first run
      const previousRuns = [...files.keys()].filter((k) => k.startsWith('data/history/'));
      expect(previousRuns).toHaveLength(1);
      const charts = widget<{ general: Record<string, { type: string; data: unknown[] }> }>(files, 'charts.json');
      const dynamics = Object.values(charts.general).find((c) => c.type === 'statusDynamics');
      expect(dynamics?.data).toHaveLength(2); // the previous run and this one

      // environment: what the run recorded plus what was passed in
      const env = widget<Array<{ name: string; values: string[] }>>(files, 'allure_environment.json');
      expect(Object.fromEntries(env.map((e) => [e.name, e.values[0]]))).toMatchObject({
        'kubernetes.version': 'v1.34.1',
        target: 'lab',
        profile: 'profiles/lab.yaml',
        'etcd.version': '3.6.5',
        'clusterproof.version': expect.any(String),
      });

      // categories: infrastructure flakes apart from property violations
      const categories = widget<{ roots: string[]; nodes: Record<string, { type: string; name: string; childrenIds?: string[] }> }>(
        files,
        'categories.json',
      );
      const testsIn = (category: string): string[] => {
        const root = categories.roots.map((id) => categories.nodes[id]).find((n) => n.name === category);
        const names: string[] = [];
        const walk = (id: string): void => {
          const node = categories.nodes[id];
          if (node.type === 'tr') names.push(node.name);
          node.childrenIds?.forEach(walk);
        };
        root?.childrenIds?.forEach(walk);
        return names.sort();
      };
      expect(testsIn('Infrastructure flakes')).toEqual(['ArgoCD syncs the commit']);
      expect(testsIn('Property violations')).toEqual(['API answers through the VIP again', 'guestbook holds its latency', 'new etcd leader in time']);
      expect(testsIn('Harness errors (bug in clusterproof or a suite)')).toEqual(['evidence collector']);

      // no secret anywhere: report, history, results
      const everything = [
        readFileSync(second.indexHtml, 'utf8'),
        ...[...files.values()].map((b) => b.toString('utf8')),
        readFileSync(history, 'utf8'),
        ...readdirSync(results).map((f) => readFileSync(join(results, f), 'utf8')),
      ].join('\n');
      expect(everything).not.toContain(SECRET_TOKEN);
      expect(everything).not.toContain(SECRET_PASSWORD);
      expect(everything).toContain('https://admin:[REDACTED]@198.18.40.20:8080');

      // offline: nothing in the page loads from the network
      const html = readFileSync(second.indexHtml, 'utf8');
      expect(html).not.toMatch(/<script[^>]+src="https?:/);
      expect(html).not.toContain('googletagmanager');
    },
    120_000,
  );

  test(
    'the sample experiment makes it into the report with its timeline chart and data',
    async () => {
      const results = freshDir('sample-results');
      await runVitest(['tests/report/sample-experiment.test.ts'], { ALLURE_RESULTS_DIR: results });
      const built = await buildReport({
        resultsDir: results,
        outputDir: freshDir('sample-report'),
        historyFile: join(freshDir('sample-history'), 'history.jsonl'),
      });
      expect(built.stats).toMatchObject({ total: 1, passed: 1 });

      const files = reportFiles(built.indexHtml);
      const testResult = [...files].find(([k]) => k.startsWith('data/test-results/'))![1].toString('utf8');
      const { name, steps } = JSON.parse(testResult) as { name: string; steps: Array<{ link?: { id: string; ext: string; name: string } }> };
      expect(name).toBe('records a timeline and attaches it to the report');
      const linked = steps.flatMap((s) => (s.link ? [s.link] : []));
      const chart = linked.find((l) => l.ext === '.svg');
      const data = linked.find((l) => l.ext === '.json');
      expect(chart?.name).toBe('timeline: ha/etcd-quorum: survives the loss of the leader');
      expect(data?.name).toBe('timeline data: ha/etcd-quorum: survives the loss of the leader');

      const svg = files.get(`data/attachments/${chart!.id}${chart!.ext}`)!.toString('utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg).toContain('>power off cp2 (etcd leader) 2 s</text>');
      expect(svg).toContain('>API write accepted</text>');
      const json = JSON.parse(files.get(`data/attachments/${data!.id}${data!.ext}`)!.toString('utf8'));
      expect(json.marks.map((m: { kind: string }) => m.kind)).toEqual(['info', 'fault', 'symptom', 'detection', 'recovery', 'info', 'recovery']);
    },
    180_000,
  );
});

describe('environment.properties', () => {
  test('round-trips keys and values with separators, escapes and unicode', () => {
    const values = { 'etcd.version': '3.6.5', 'key with=sep:s': 'a=b: c', multi: 'line1\nline2', lead: ' #x', 'ünï': 'çødé\\' };
    expect(parseProperties(formatProperties(values))).toEqual(values);
  });

  test('reads what Java-style files hold', () => {
    const text = '# comment\n! also\nplain=1\ncolon: 2\nspace 3\ncont=a\\\n   b\nuni=\\u00e9\n';
    expect(parseProperties(text)).toEqual({ plain: '1', colon: '2', space: '3', cont: 'ab', uni: 'é' });
  });

  test('a results directory without the file has no environment', () => {
    expect(readEnvironment(freshDir('no-env'))).toEqual({});
  });
});

/** A nested vitest run with its own results directory, so it never mixes with the run it is part of. */
function runVitest(files: string[], env: Record<string, string>): Promise<void> {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const cli = join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'run', '--project', 'project', ...files], {
      cwd: PROJECT_ROOT,
      env: { ...cleanEnv, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nested vitest run failed (${code}):\n${output}`))));
  });
}
