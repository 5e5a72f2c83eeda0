import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { REGENERATE_COMMAND, SCENARIO_SCHEMA_FILE, renderScenarioSchema } from '../../core/load/scenario-schema.ts';
import { type Load, parseScenario } from '../../core/load/scenario.ts';

const DEFAULT_SCENARIO_FILE = 'k6/guestbook.scenario.json';
const SCRIPT_URL = new URL('../../k6/guestbook.js', import.meta.url);

function committed(file: string): string {
  return readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
}

function defaultScenario(): unknown {
  return JSON.parse(committed(DEFAULT_SCENARIO_FILE));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('load scenario schema', () => {
  test(`${SCENARIO_SCHEMA_FILE} is up to date with core/load/scenario.ts`, () => {
    const upToDate = committed(SCENARIO_SCHEMA_FILE) === renderScenarioSchema();
    expect(upToDate, `${SCENARIO_SCHEMA_FILE} is out of date: run ${REGENERATE_COMMAND}`).toBe(true);
  });

  test('the JSON Schema is draft 2020-12, says it is generated and refuses unknown keys', () => {
    const schema = JSON.parse(renderScenarioSchema());
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('clusterproof load scenario');
    expect(schema.description).toContain(`Generated from core/load/scenario.ts by ${REGENERATE_COMMAND}`);
    expect(schema.additionalProperties).toBe(false);
    // io: 'input': what has a default may be left out
    expect(schema.required).toEqual(['name', 'endpoints', 'load']);
  });

  test('the default scenario parses, with the values the brief gives', () => {
    const s = parseScenario(defaultScenario(), DEFAULT_SCENARIO_FILE);
    expect(s.name).toBe('guestbook');
    expect(s.endpoints.map((e) => [e.name, e.method, e.path, e.weight])).toEqual([
      ['browse', 'GET', '/', 6],
      ['read', 'GET', '/lrange/guestbook', 3],
      ['post', 'GET', '/rpush/guestbook/clusterproof-{unique}', 1],
    ]);
    expect(s.load).toEqual({ executor: 'constant-arrival-rate', rate: 20, duration: '30s', timeUnit: '1s', preAllocatedVUs: 10, maxVUs: 50 });
    expect(s.http).toEqual({ timeout: '2s', keepAlive: true });
    expect(s.thresholds).toEqual({
      http_req_failed: ['rate<0.01'],
      http_req_duration: ['p(95)<200', 'p(99)<500'],
      'http_req_duration{endpoint:read}': ['p(95)<300'],
      checks: [{ threshold: 'rate>0.99', abortOnFail: true, delayAbortEval: '10s' }],
    });
    expect(s.window).toBe('10s');
    expect(s.$schema).toBe('./scenario.schema.json');
  });

  test('a malformed scenario fails with messages naming each field path', () => {
    const bad = defaultScenario() as { endpoints: { weight: number }[]; load: { duration: string }; http: Record<string, unknown> };
    bad.endpoints[2].weight = 0;
    bad.load.duration = '30 seconds';
    bad.http.keepalive = false;
    const message = errorOf(() => parseScenario(bad, 'bad.json'));
    expect(message).toContain('bad.json is not a valid load scenario');
    expect(message).toMatch(/endpoints\.2\.weight: .*>0/);
    expect(message).toContain('load.duration: expected a k6 duration such as "500ms", "30s" or "1m30s"');
    expect(message).toContain('http: Unrecognized key: "keepalive"');
  });
});

// ---- the k6 script, run under Node with k6's modules and globals stubbed ----

const request = vi.fn((_method: string, _url: string, _body: unknown, _params: Record<string, unknown>) => ({ status: 200 }));
const check = vi.fn((_value: unknown, _sets: Record<string, (v: unknown) => boolean>) => true);
vi.mock('k6/http', () => ({
  default: {
    request: (...args: Parameters<typeof request>) => request(...args),
    expectedStatuses: (...ranges: unknown[]) => ({ expectedStatuses: ranges }),
  },
}));
vi.mock('k6', () => ({ check: (...args: Parameters<typeof check>) => check(...args) }));

interface Script {
  options: { scenarios: Record<string, Record<string, unknown>>; thresholds: unknown; noConnectionReuse: boolean };
  DEFAULTS: Record<string, unknown>;
  default: () => void;
  handleSummary: (data: unknown) => Record<string, string>;
}

let loads = 0;
async function loadScript(env: Record<string, string>, scenarioText?: string): Promise<Script> {
  vi.stubGlobal('__ENV', env);
  vi.stubGlobal('__VU', 3);
  vi.stubGlobal('__ITER', 7);
  vi.stubGlobal('open', (path: string) => scenarioText ?? readFileSync(new URL(path, SCRIPT_URL), 'utf8'));
  // a fresh module per load: init code reads __ENV and the scenario file
  return (await import(/* @vite-ignore */ `${SCRIPT_URL.href}?load=${++loads}`)) as Script;
}

/** What k6 should be given for a parsed load: the zod defaults are the script's defaults. */
function k6Scenario(load: Load): Record<string, unknown> {
  return { ...load, exec: 'default' };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  request.mockClear();
  check.mockClear();
});

describe('k6/guestbook.js', () => {
  test('maps the default scenario onto k6 options, thresholds verbatim', async () => {
    const script = await loadScript({ BASE_URL: 'http://192.0.2.10/' });
    const parsed = parseScenario(defaultScenario(), DEFAULT_SCENARIO_FILE);
    expect(script.options.scenarios).toEqual({ guestbook: k6Scenario(parsed.load) });
    expect(script.options.thresholds).toEqual((defaultScenario() as { thresholds: unknown }).thresholds);
    expect(script.options.noConnectionReuse).toBe(false);
  });

  test('fills in the same defaults as the zod schema where the file leaves a field out', async () => {
    const minimal = {
      name: 'minimal',
      endpoints: [{ name: 'home', path: '/', weight: 1 }],
      load: { executor: 'ramping-arrival-rate', stages: [{ target: 5, duration: '10s' }] },
    };
    const script = await loadScript({ BASE_URL: 'http://192.0.2.10' }, JSON.stringify(minimal));
    const parsed = parseScenario(minimal, 'minimal.json');
    expect(script.options.scenarios).toEqual({ minimal: k6Scenario(parsed.load) });
    expect(script.options.thresholds).toEqual(parsed.thresholds);
    expect(script.options.noConnectionReuse).toBe(!parsed.http.keepAlive);

    script.default();
    const [method, , , params] = request.mock.calls[0];
    expect(method).toBe(parsed.endpoints[0].method);
    expect(params.timeout).toBe(parsed.http.timeout);
    expect(params.responseCallback).toEqual({ expectedStatuses: parsed.endpoints[0].expectStatus.map(([min, max]) => ({ min, max })) });

    const constant = { ...minimal, load: { executor: 'constant-arrival-rate', rate: 4, duration: '1m' } };
    const again = await loadScript({ BASE_URL: 'http://192.0.2.10' }, JSON.stringify(constant));
    expect(again.options.scenarios).toEqual({ minimal: k6Scenario(parseScenario(constant, 'constant.json').load) });
  });

  test('picks endpoints by weight, makes {unique} unique, tags and checks every request', async () => {
    const script = await loadScript({ BASE_URL: 'http://192.0.2.10' });
    vi.spyOn(Date, 'now').mockReturnValue(1700000000000);
    const random = vi.spyOn(Math, 'random');
    for (const draw of [0, 0.59, 0.6, 0.89, 0.9, 0.999]) {
      random.mockReturnValueOnce(draw);
      script.default();
    }
    expect(request.mock.calls.map(([, url, , params]) => [url, (params.tags as { endpoint: string }).endpoint])).toEqual([
      ['http://192.0.2.10/', 'browse'],
      ['http://192.0.2.10/', 'browse'],
      ['http://192.0.2.10/lrange/guestbook', 'read'],
      ['http://192.0.2.10/lrange/guestbook', 'read'],
      ['http://192.0.2.10/rpush/guestbook/clusterproof-3-7-1700000000000', 'post'],
      ['http://192.0.2.10/rpush/guestbook/clusterproof-3-7-1700000000000', 'post'],
    ]);
    const params = request.mock.calls[4][3];
    expect(params.timeout).toBe('2s');
    expect(params.responseCallback).toEqual({ expectedStatuses: [{ min: 200, max: 399 }] });
    // one time series per endpoint, not per unique URL
    expect((params.tags as { name: string }).name).toBe('http://192.0.2.10/rpush/guestbook/clusterproof-{unique}');

    const sets = check.mock.calls[4][1];
    expect(Object.keys(sets)).toEqual(['post status expected']);
    expect(sets['post status expected']({ status: 200 })).toBe(true);
    expect(sets['post status expected']({ status: 399 })).toBe(true);
    expect(sets['post status expected']({ status: 503 })).toBe(false);
    expect(sets['post status expected']({ status: 0 })).toBe(false);
  });

  test('refuses to start without BASE_URL, saying how to pass it', async () => {
    await expect(loadScript({})).rejects.toThrow('BASE_URL is not set: run k6 with -e BASE_URL=http://<lb-address>');
    await expect(loadScript({ BASE_URL: '192.0.2.10' })).rejects.toThrow('is not an http:// or https:// URL');
  });

  test('reads the scenario named by SCENARIO and refuses a broken one', async () => {
    const opened: string[] = [];
    vi.stubGlobal('open', (path: string) => {
      opened.push(path);
      return '{}';
    });
    vi.stubGlobal('__ENV', { BASE_URL: 'http://192.0.2.10', SCENARIO: './other.json' });
    await expect(import(/* @vite-ignore */ `${SCRIPT_URL.href}?load=${++loads}`)).rejects.toThrow('./other.json is not a valid load scenario: name');
    expect(opened).toEqual(['./other.json']);
    await expect(loadScript({ BASE_URL: 'http://192.0.2.10' }, '{ not json')).rejects.toThrow('./guestbook.scenario.json is not valid JSON');
  });
});

describe('k6/guestbook.js handleSummary', () => {
  /** k6's summary data as handleSummary receives it in every k6 up to 1.x (and 2.x with the legacy shape). */
  const legacy = {
    root_group: { name: '', path: '', groups: [], checks: [{ name: 'browse status expected', path: '::browse status expected', passes: 590, fails: 10 }] },
    options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'], summaryTimeUnit: '' },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 30012.5 },
    metrics: {
      http_reqs: { type: 'counter', contains: 'default', values: { count: 600, rate: 19.99 } },
      http_req_failed: {
        type: 'rate',
        contains: 'default',
        values: { rate: 10 / 600, passes: 10, fails: 590 },
        thresholds: { 'rate<0.01': { ok: false } },
      },
      http_req_duration: {
        type: 'trend',
        contains: 'time',
        values: { avg: 21, min: 2, med: 15, max: 2100, 'p(90)': 60, 'p(95)': 120, 'p(99)': 640, count: 600 },
        thresholds: { 'p(95)<200': { ok: true }, 'p(99)<500': { ok: false } },
      },
      'http_req_duration{endpoint:read}': {
        type: 'trend',
        contains: 'time',
        values: { avg: 18, min: 2, med: 12, max: 900, 'p(90)': 50, 'p(95)': 90, 'p(99)': 300, count: 180 },
        thresholds: { 'p(95)<300': { ok: true } },
      },
      dropped_iterations: { type: 'counter', contains: 'default', values: { count: 3, rate: 0.1 } },
      checks: { type: 'rate', contains: 'default', values: { rate: 590 / 600, passes: 590, fails: 10 }, thresholds: { 'rate>0.99': { ok: false } } },
    },
  };

  /** The machine-readable shape (k6 1.5+ opt-in): metrics in an array, no per-threshold verdicts. */
  const machineReadable = {
    version: '1.0.0',
    metadata: { generatedAt: '2026-01-15T10:30:45.123Z', k6Version: '2.3.0' },
    config: { execution: 'local', script: 'guestbook.js', duration: 30.0125 },
    results: {
      metrics: [
        { name: 'http_reqs', type: 'counter', contains: 'default', values: { count: 600 } },
        { name: 'http_req_failed', type: 'rate', contains: 'default', values: { matches: 3, total: 600, rate: 0.005 } },
        { name: 'http_req_duration', type: 'trend', contains: 'time', values: { avg: 21, min: 2, med: 15, max: 2100, 'p(90)': 60, 'p(95)': 250 } },
        { name: 'vus', type: 'gauge', contains: 'default', values: { value: 1, min: 1, max: 12 } },
      ],
      checks: {
        metrics: [
          { name: 'checks_total', type: 'counter', contains: 'default', values: { count: 600 } },
          { name: 'checks_succeeded', type: 'rate', contains: 'default', values: { matches: 597, total: 600, rate: 0.995 } },
          { name: 'checks_failed', type: 'rate', contains: 'default', values: { matches: 3, total: 600, rate: 0.005 } },
        ],
        results: [{ name: 'browse status expected', passes: 597, fails: 3 }],
      },
    },
  };

  async function summarize(data: unknown, env: Record<string, string> = {}) {
    const script = await loadScript({ BASE_URL: 'http://192.0.2.10', ...env });
    const out = script.handleSummary(data);
    const file = env.SUMMARY ?? 'clusterproof-summary.json';
    expect(Object.keys(out).sort()).toEqual([file, 'stdout'].sort());
    return { normalized: JSON.parse(out[file]), stdout: out.stdout };
  }

  test('legacy shape: k6 verdicts and values', async () => {
    const { normalized, stdout } = await summarize(legacy, { SUMMARY: 'out/summary.json' });
    expect(normalized).toEqual({
      format: 'clusterproof-k6-summary/1',
      scenario: 'guestbook',
      k6: { testRunDurationMs: 30012.5, version: null, summaryShape: 'legacy' },
      thresholds: [
        { key: 'http_req_failed', expression: 'rate<0.01', ok: false, source: 'k6' },
        { key: 'http_req_duration', expression: 'p(95)<200', ok: true, source: 'k6' },
        { key: 'http_req_duration', expression: 'p(99)<500', ok: false, source: 'k6' },
        { key: 'http_req_duration{endpoint:read}', expression: 'p(95)<300', ok: true, source: 'k6' },
        { key: 'checks', expression: 'rate>0.99', ok: false, source: 'k6' },
      ],
      metrics: {
        http_reqs: { count: 600, rate: 19.99 },
        http_req_failed: { rate: 10 / 600, passes: 10, fails: 590 },
        http_req_duration: { avg: 21, min: 2, med: 15, max: 2100, 'p(90)': 60, 'p(95)': 120, 'p(99)': 640 },
        dropped_iterations: { count: 3 },
        checks: { rate: 590 / 600 },
      },
    });
    expect(stdout).toContain('FAILED  http_req_failed: rate<0.01');
    expect(stdout).toContain('ok      http_req_duration: p(95)<200');
    expect(stdout).toContain('http_req_duration p95=120.00ms p99=640.00ms');
    expect(stdout).toContain('http_req_failed rate=1.67% of 600 requests');
    expect(stdout).toContain('summary written to out/summary.json');
  });

  test('machine-readable shape: thresholds judged from the values, missing statistics reported unknown', async () => {
    const { normalized, stdout } = await summarize(machineReadable);
    expect(normalized.k6).toEqual({ testRunDurationMs: 30012.5, version: '2.3.0', summaryShape: 'machine-readable' });
    expect(normalized.thresholds).toEqual([
      { key: 'http_req_failed', expression: 'rate<0.01', ok: true, source: 'evaluated' },
      { key: 'http_req_duration', expression: 'p(95)<200', ok: false, source: 'evaluated' },
      { key: 'http_req_duration', expression: 'p(99)<500', ok: null, source: 'unknown' },
      { key: 'http_req_duration{endpoint:read}', expression: 'p(95)<300', ok: null, source: 'unknown' },
      { key: 'checks', expression: 'rate>0.99', ok: true, source: 'evaluated' },
    ]);
    expect(normalized.metrics.http_reqs.count).toBe(600);
    expect(normalized.metrics.http_reqs.rate).toBeCloseTo(600 / 30.0125, 6);
    expect(normalized.metrics.http_req_failed).toEqual({ rate: 0.005, passes: 3, fails: 597 });
    expect(normalized.metrics.http_req_duration['p(95)']).toBe(250);
    expect(normalized.metrics.http_req_duration['p(99)']).toBeNull();
    expect(normalized.metrics.dropped_iterations).toBeNull();
    expect(normalized.metrics.checks).toEqual({ rate: 0.995 });
    expect(stdout).toContain('unknown http_req_duration: p(99)<500 (not in the summary data)');
    expect(stdout).toContain('p99=absent');
  });

  test('machine-readable shape: the older {passes, fails} rate values and checks without a checks metric', async () => {
    const data = structuredClone(machineReadable) as typeof machineReadable & { results: { checks: { metrics: unknown[] } } };
    data.results.metrics[1].values = { rate: 0.02, passes: 12, fails: 588 } as never;
    data.results.checks.metrics = [];
    const { normalized } = await summarize(data);
    expect(normalized.metrics.http_req_failed).toEqual({ rate: 0.02, passes: 12, fails: 588 });
    expect(normalized.metrics.checks).toEqual({ rate: 597 / 600 });
    expect(normalized.thresholds[0]).toEqual({ key: 'http_req_failed', expression: 'rate<0.01', ok: false, source: 'evaluated' });
  });

  test.each([
    ['nothing', undefined],
    ['an empty object', {}],
    ['metrics without values', { metrics: { http_reqs: { type: 'counter' }, http_req_duration: null } }],
    ['an empty machine-readable result', { results: { metrics: 'garbage' } }],
  ])('never crashes on %s: every metric absent, every threshold unknown', async (_name, data) => {
    const { normalized, stdout } = await summarize(data);
    expect(normalized.format).toBe('clusterproof-k6-summary/1');
    expect(normalized.thresholds.every((t: { ok: unknown; source: string }) => t.ok === null && t.source === 'unknown')).toBe(true);
    expect(normalized.metrics.http_reqs).toBeNull();
    expect(normalized.metrics.http_req_failed).toBeNull();
    expect(normalized.metrics.dropped_iterations).toBeNull();
    expect(normalized.metrics.checks).toBeNull();
    expect(stdout).toContain('http_req_failed: absent');
  });
});
