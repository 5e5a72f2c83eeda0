// @ts-check
/**
 * clusterproof's k6 script: load on the guestbook, driven by a scenario file (k6/guestbook.scenario.json by default,
 * schema k6/scenario.schema.json, source of truth core/load/scenario.ts). The same file drives the embedded engine
 * and the k6-operator, so this script only maps it onto k6: executor options, thresholds (verbatim), weighted
 * endpoints with their expected statuses, and an end-of-test summary in clusterproof's own format.
 *
 * Plain JavaScript with JSDoc types (type-checked by `tsc -p k6/tsconfig.json` against @types/k6), written without
 * optional chaining, `??` or object spread so that old k6 versions and the k6-operator's runners run it as is.
 *
 *   k6 run -e BASE_URL=http://<lb-address> k6/guestbook.js
 *   optional: -e SCENARIO=<scenario.json> (relative to this script), -e SUMMARY=<summary file to write>
 */
import http from 'k6/http';
import { check } from 'k6';

/**
 * A scenario file as written (the zod schema's input: fields with a default may be omitted).
 * @typedef {[number, number]} StatusRange an inclusive range of HTTP statuses
 * @typedef {{ name: string, method?: string, path: string, weight: number, expectStatus?: StatusRange[] }} EndpointSpec
 * @typedef {{ threshold: string, abortOnFail?: boolean, delayAbortEval?: string }} ThresholdObject
 * @typedef {{ executor: 'constant-arrival-rate', rate: number, duration: string, timeUnit?: string, preAllocatedVUs?: number, maxVUs?: number }} ConstantLoad
 * @typedef {{ target: number, duration: string }} Stage
 * @typedef {{ executor: 'ramping-arrival-rate', startRate?: number, stages: Stage[], timeUnit?: string, preAllocatedVUs?: number, maxVUs?: number }} RampingLoad
 * @typedef {object} ScenarioFile
 * @property {string} name
 * @property {string} [description]
 * @property {EndpointSpec[]} endpoints
 * @property {ConstantLoad | RampingLoad} load
 * @property {{ timeout?: string, keepAlive?: boolean }} [http]
 * @property {Record<string, (string | ThresholdObject)[]>} [thresholds]
 * @property {string} [window] clusterproof's extension (windowed thresholds); k6 ignores it
 */

/**
 * The defaults core/load/scenario.ts applies where a scenario file omits a field (tests/load/scenario.test.ts
 * checks that both sides agree).
 */
export const DEFAULTS = Object.freeze({
  method: 'GET',
  expectStatus: /** @type {StatusRange[]} */ ([[200, 399]]),
  timeUnit: '1s',
  preAllocatedVUs: 10,
  maxVUs: 100,
  startRate: 0,
  timeout: '3s',
  keepAlive: true,
});

// ---- init code: open() works only here ----

const SCENARIO_FILE = __ENV.SCENARIO || './guestbook.scenario.json';
/** @type {ScenarioFile} */
const scenario = parseJson(open(SCENARIO_FILE));
validate(scenario);

const BASE_URL = (__ENV.BASE_URL || '').replace(/\/+$/, '');
if (!BASE_URL) {
  throw new Error('BASE_URL is not set: run k6 with -e BASE_URL=http://<lb-address> (the guestbook LoadBalancer address)');
}
if (!/^https?:\/\/[^/]/.test(BASE_URL)) {
  throw new Error(`BASE_URL "${BASE_URL}" is not an http:// or https:// URL, e.g. -e BASE_URL=http://192.168.1.240`);
}

const httpSpec = scenario.http || {};
const TIMEOUT = httpSpec.timeout || DEFAULTS.timeout;
const KEEP_ALIVE = httpSpec.keepAlive === undefined ? DEFAULTS.keepAlive : httpSpec.keepAlive;
const SUMMARY_FILE = __ENV.SUMMARY || 'clusterproof-summary.json';

/**
 * @typedef {object} PreparedEndpoint
 * @property {string} name
 * @property {string} method
 * @property {string} path
 * @property {StatusRange[]} expectStatus
 * @property {ReturnType<typeof http.expectedStatuses>} responseCallback
 * @property {number} upTo cumulative weight: the endpoint is picked when the random draw is below it
 */

let cumulative = 0;
/** @type {PreparedEndpoint[]} */
const endpoints = scenario.endpoints.map((e) => {
  const expectStatus = e.expectStatus || DEFAULTS.expectStatus;
  cumulative += e.weight;
  return {
    name: e.name,
    method: (e.method || DEFAULTS.method).toUpperCase(),
    path: e.path,
    expectStatus,
    // decides http_req_failed (and the expected_response tag) the way the check below decides "status expected"
    responseCallback: http.expectedStatuses(...expectStatus.map((r) => ({ min: r[0], max: r[1] }))),
    upTo: cumulative,
  };
});
const TOTAL_WEIGHT = cumulative;

/**
 * k6 scenario options for the scenario's load, defaults filled in.
 * @param {ConstantLoad | RampingLoad} load
 * @returns {import('k6/options').ConstantArrivalRateScenario | import('k6/options').RampingArrivalRateScenario}
 */
export function executorOptions(load) {
  const timeUnit = load.timeUnit || DEFAULTS.timeUnit;
  const preAllocatedVUs = load.preAllocatedVUs === undefined ? DEFAULTS.preAllocatedVUs : load.preAllocatedVUs;
  const maxVUs = load.maxVUs === undefined ? DEFAULTS.maxVUs : load.maxVUs;
  if (load.executor === 'constant-arrival-rate') {
    return { executor: 'constant-arrival-rate', rate: load.rate, duration: load.duration, timeUnit, preAllocatedVUs, maxVUs, exec: 'default' };
  }
  return {
    executor: 'ramping-arrival-rate',
    startRate: load.startRate === undefined ? DEFAULTS.startRate : load.startRate,
    stages: load.stages.map((s) => ({ target: s.target, duration: s.duration })),
    timeUnit,
    preAllocatedVUs,
    maxVUs,
    exec: 'default',
  };
}

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { [scenario.name]: executorOptions(scenario.load) },
  // k6 understands the long form ({threshold, abortOnFail, delayAbortEval}) as it is
  thresholds: scenario.thresholds || {},
  // p(99) for the summary and for the normalized file (k6's default stops at p(95))
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  noConnectionReuse: !KEEP_ALIVE,
};

// ---- VU code ----

/** @returns {PreparedEndpoint} */
function pick() {
  const draw = Math.random() * TOTAL_WEIGHT;
  for (let i = 0; i < endpoints.length; i++) if (draw < endpoints[i].upTo) return endpoints[i];
  return endpoints[endpoints.length - 1];
}

/**
 * @param {number} status
 * @param {StatusRange[]} ranges
 */
function expected(status, ranges) {
  for (let i = 0; i < ranges.length; i++) if (status >= ranges[i][0] && status <= ranges[i][1]) return true;
  return false;
}

// one request per iteration and no sleep(): the arrival-rate executor paces the requests
export default function () {
  const e = pick();
  const unique = `${__VU}-${__ITER}-${Date.now()}`;
  const res = http.request(e.method, BASE_URL + e.path.replace(/\{unique\}/g, unique), null, {
    // `name` groups the unique URLs of one endpoint into one time series (k6's URL grouping)
    tags: { endpoint: e.name, name: BASE_URL + e.path },
    timeout: TIMEOUT,
    responseCallback: e.responseCallback,
  });
  check(res, { [`${e.name} status expected`]: (r) => expected(r.status, e.expectStatus) });
}

// ---- end-of-test summary ----

/**
 * clusterproof's normalized k6 summary (the file handleSummary writes). A metric, or a single statistic, that the
 * summary data k6 passed does not contain is null, never a guess.
 * @typedef {object} ClusterproofK6Summary
 * @property {'clusterproof-k6-summary/1'} format
 * @property {string} scenario the scenario name
 * @property {{ testRunDurationMs: number | null, version: string | null, summaryShape: SummaryShape }} k6
 *   version: only the machine-readable shape says it; summaryShape: which k6 summary data shape was read
 * @property {NormalizedThreshold[]} thresholds every expression of the scenario, in scenario order
 * @property {NormalizedMetrics} metrics
 */
/**
 * @typedef {'legacy' | 'machine-readable' | 'unknown'} SummaryShape
 * @typedef {object} NormalizedThreshold
 * @property {string} key the metric key as in the scenario, e.g. "http_req_duration{endpoint:read}"
 * @property {string} expression e.g. "p(95)<300"
 * @property {boolean | null} ok null: k6 did not report it and the summary data does not hold the statistic
 * @property {'k6' | 'evaluated' | 'unknown'} source k6: k6's own verdict; evaluated: judged here from the
 *   summary values (the machine-readable shape carries no per-threshold verdicts); unknown: ok is null
 * @typedef {object} NormalizedMetrics
 * @property {{ count: number, rate: number | null } | null} http_reqs rate per second
 * @property {{ rate: number, passes: number | null, fails: number | null } | null} http_req_failed k6's Rate
 *   naming: passes = failed requests (non-zero samples), fails = requests that did not fail
 * @property {TrendStats | null} http_req_duration milliseconds
 * @property {{ count: number } | null} dropped_iterations null when k6 reported no such metric, which it does
 *   when no iteration was dropped
 * @property {{ rate: number } | null} checks share of checks that passed
 * @typedef {{ avg: number | null, min: number | null, med: number | null, max: number | null, 'p(90)': number | null, 'p(95)': number | null, 'p(99)': number | null }} TrendStats
 *   p(99) is null in the machine-readable shape, which carries avg, min, med, max, p(90) and p(95) only
 */

/**
 * @param {unknown} data k6's end-of-test summary data, in either shape
 * @returns {Record<string, string>}
 */
export function handleSummary(data) {
  const summary = normalizeSummary(data, scenario);
  return { stdout: textSummary(summary), [SUMMARY_FILE]: JSON.stringify(summary, null, 2) };
}

/**
 * @typedef {{ type: string | null, values: Record<string, unknown>, thresholds: Record<string, unknown> | undefined }} RawMetric
 * @typedef {object} SummaryReader
 * @property {SummaryShape} shape
 * @property {number | null} durationMs
 * @property {string | null} version
 * @property {(name: string) => RawMetric | null} metric
 */

/**
 * Reads either k6 summary data shape.
 *
 * legacy (every k6 up to 1.x, and k6 2.x with --new-machine-readable-summary=false):
 *   { state: { testRunDurationMs }, metrics: { "<name or name{tag:value}>": { type, contains, values: {...},
 *     thresholds: { "<expression>": { ok } } } }, root_group: {...} }
 *   Trend values follow summaryTrendStats; Rate values are { rate, passes, fails }; Counter { count, rate }.
 *
 * machine-readable (k6 1.5+ opt-in via --new-machine-readable-summary, schema in grafana/k6-summary):
 *   { version, metadata: { generatedAt, k6Version }, config: { execution, script, duration (seconds) },
 *     results: { metrics: [{ name, type, contains, values }], checks: { metrics: [checks_total, checks_succeeded,
 *     checks_failed], results: [{ name, passes, fails }] } } }
 *   What we were not sure of, hence read defensively:
 *   - Rate values are { matches, total, rate } in k6's generator but { rate, passes, fails } in some schema drafts:
 *     both are read.
 *   - Counter values may be { count } only: the rate is then count / duration.
 *   - Trend values hold avg, min, med, max, p(90), p(95) only (not summaryTrendStats): p(99) is absent.
 *   - No per-threshold verdicts were found in this shape: the thresholds are judged here from the values (see
 *     evaluate()), and reported unknown where the statistic is missing. If a later version carries verdicts under
 *     results.thresholds (as { "<key>": [{ source|threshold, ok }] }), they are used.
 *   - results.metrics and results.checks.metrics are read as arrays or as objects keyed by anything.
 *   - Whether sub-metrics (name{tag:value}) appear in results.metrics is not documented: looked up by name.
 *
 * @param {unknown} data
 * @returns {SummaryReader}
 */
export function readSummary(data) {
  const root = obj(data) || {};
  const results = obj(root.results);
  const legacyMetrics = obj(root.metrics);
  if (legacyMetrics && !results) {
    const state = obj(root.state) || {};
    return {
      shape: 'legacy',
      durationMs: num(state.testRunDurationMs),
      version: null,
      metric(name) {
        const m = obj(legacyMetrics[name]);
        if (!m) return null;
        // handleSummary data nests the numbers under `values`; a flat metric (old --summary-export files) is read as is
        return { type: str(m.type), values: obj(m.values) || m, thresholds: obj(m.thresholds) };
      },
    };
  }
  if (results) {
    const config = obj(root.config) || {};
    const metadata = obj(root.metadata) || {};
    const seconds = num(config.duration);
    /** @type {Record<string, unknown>[]} */
    const list = [];
    for (const m of listOf(results.metrics)) list.push(m);
    const checks = obj(results.checks) || {};
    for (const m of listOf(checks.metrics)) list.push(m);
    const verdicts = obj(results.thresholds);
    return {
      shape: 'machine-readable',
      durationMs: seconds === null ? null : seconds * 1000,
      version: str(metadata.k6Version),
      metric(name) {
        let m = list.find((x) => x.name === name);
        if (!m && name === 'checks') m = list.find((x) => x.name === 'checks_succeeded') || checksFromResults(checks);
        if (!m) return null;
        const values = obj(m.values) || {};
        return { type: str(m.type), values: rateValues(values), thresholds: verdictsFor(verdicts, name) };
      },
    };
  }
  return { shape: 'unknown', durationMs: null, version: null, metric: () => null };
}

/**
 * Normalizes k6's summary data into clusterproof's format; never throws on missing metrics.
 * @param {unknown} data
 * @param {ScenarioFile} spec
 * @returns {ClusterproofK6Summary}
 */
export function normalizeSummary(data, spec) {
  const reader = readSummary(data);
  /** @type {NormalizedThreshold[]} */
  const thresholds = [];
  const specThresholds = spec.thresholds || {};
  for (const key of Object.keys(specThresholds)) {
    for (const t of specThresholds[key]) {
      const expression = typeof t === 'string' ? t : t.threshold;
      thresholds.push(judge(reader, key, expression));
    }
  }
  const reqs = reader.metric('http_reqs');
  const failed = reader.metric('http_req_failed');
  const duration = reader.metric('http_req_duration');
  const dropped = reader.metric('dropped_iterations');
  const checks = reader.metric('checks');
  const reqCount = reqs ? num(reqs.values.count) : null;
  const droppedCount = dropped ? num(dropped.values.count) : null;
  const failedRate = failed ? num(failed.values.rate) : null;
  const checksRate = checks ? num(checks.values.rate) : null;
  return {
    format: 'clusterproof-k6-summary/1',
    scenario: spec.name,
    k6: { testRunDurationMs: reader.durationMs, version: reader.version, summaryShape: reader.shape },
    thresholds,
    metrics: {
      http_reqs: reqs && reqCount !== null ? { count: reqCount, rate: counterRate(reqs, reader.durationMs) } : null,
      http_req_failed:
        failed && failedRate !== null ? { rate: failedRate, passes: num(failed.values.passes), fails: num(failed.values.fails) } : null,
      http_req_duration: duration
        ? {
            avg: num(duration.values.avg),
            min: num(duration.values.min),
            med: num(duration.values.med),
            max: num(duration.values.max),
            'p(90)': num(duration.values['p(90)']),
            'p(95)': num(duration.values['p(95)']),
            'p(99)': num(duration.values['p(99)']),
          }
        : null,
      dropped_iterations: droppedCount !== null ? { count: droppedCount } : null,
      checks: checksRate !== null ? { rate: checksRate } : null,
    },
  };
}

/**
 * @param {SummaryReader} reader
 * @param {string} key
 * @param {string} expression
 * @returns {NormalizedThreshold}
 */
function judge(reader, key, expression) {
  const m = reader.metric(key);
  const verdict = m && m.thresholds ? obj(m.thresholds[expression]) : undefined;
  if (verdict && typeof verdict.ok === 'boolean') return { key, expression, ok: verdict.ok, source: 'k6' };
  const ok = m ? evaluate(expression, m, reader.durationMs) : null;
  return { key, expression, ok, source: ok === null ? 'unknown' : 'evaluated' };
}

/**
 * Judges a k6 threshold expression ("<aggregation> <operator> <number>", as documented for k6 thresholds) against
 * a metric's summary values. Returns null when the expression does not parse or the statistic is not there.
 * @param {string} expression
 * @param {RawMetric} m
 * @param {number | null} durationMs
 * @returns {boolean | null}
 */
export function evaluate(expression, m, durationMs) {
  const parsed = /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|<|>=|>|===|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expression);
  if (!parsed) return null;
  const aggregation = parsed[1];
  const operator = parsed[2];
  const bound = Number(parsed[3]);
  /** @type {number | null} */
  let actual = num(m.values[aggregation]);
  if (actual === null && aggregation === 'rate' && m.type === 'counter') actual = counterRate(m, durationMs);
  if (actual === null && aggregation === 'med') actual = num(m.values['p(50)']);
  if (actual === null) return null;
  switch (operator) {
    case '<':
      return actual < bound;
    case '<=':
      return actual <= bound;
    case '>':
      return actual > bound;
    case '>=':
      return actual >= bound;
    case '!=':
      return actual !== bound;
    default:
      return actual === bound;
  }
}

/**
 * @param {ClusterproofK6Summary} s
 * @returns {string}
 */
export function textSummary(s) {
  const lines = [`clusterproof k6 summary: scenario ${s.scenario} (${s.k6.summaryShape} summary data${s.k6.testRunDurationMs === null ? '' : `, ${(s.k6.testRunDurationMs / 1000).toFixed(1)}s`})`];
  lines.push(s.thresholds.length ? 'thresholds:' : 'thresholds: none');
  for (const t of s.thresholds) {
    const mark = t.ok === true ? 'ok     ' : t.ok === false ? 'FAILED ' : 'unknown';
    lines.push(`  ${mark} ${t.key}: ${t.expression}${t.source === 'unknown' ? ' (not in the summary data)' : ''}`);
  }
  const d = s.metrics.http_req_duration;
  lines.push(d ? `http_req_duration p95=${ms(d['p(95)'])} p99=${ms(d['p(99)'])}` : 'http_req_duration: absent');
  const f = s.metrics.http_req_failed;
  const reqs = s.metrics.http_reqs;
  lines.push(
    f ? `http_req_failed rate=${(f.rate * 100).toFixed(2)}%${reqs ? ` of ${reqs.count} requests` : ''}` : 'http_req_failed: absent',
  );
  if (s.metrics.dropped_iterations) lines.push(`dropped_iterations ${s.metrics.dropped_iterations.count}`);
  lines.push(`summary written to ${SUMMARY_FILE}`);
  return `${lines.join('\n')}\n`;
}

// ---- small readers: nothing in the summary data is trusted to be there ----

/**
 * @param {unknown} v
 * @returns {Record<string, unknown> | undefined}
 */
function obj(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? /** @type {Record<string, unknown>} */ (v) : undefined;
}

/**
 * @param {unknown} v
 * @returns {number | null}
 */
function num(v) {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

/**
 * @param {unknown} v
 * @returns {string | null}
 */
function str(v) {
  return typeof v === 'string' ? v : null;
}

/**
 * The objects of an array, or the object values of a map.
 * @param {unknown} v
 * @returns {Record<string, unknown>[]}
 */
function listOf(v) {
  const items = Array.isArray(v) ? v : obj(v) ? Object.values(/** @type {Record<string, unknown>} */ (v)) : [];
  /** @type {Record<string, unknown>[]} */
  const out = [];
  for (const item of items) {
    const o = obj(item);
    if (o) out.push(o);
  }
  return out;
}

/**
 * Rate values with passes and fails whichever naming the data uses ({matches, total} or {passes, fails}).
 * @param {Record<string, unknown>} values
 * @returns {Record<string, unknown>}
 */
function rateValues(values) {
  const matches = num(values.matches);
  const total = num(values.total);
  if (matches === null || values.passes !== undefined) return values;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const k of Object.keys(values)) out[k] = values[k];
  out.passes = matches;
  if (total !== null) out.fails = total - matches;
  if (out.rate === undefined && total) out.rate = matches / total;
  return out;
}

/**
 * A `checks` Rate built from the per-check passes and fails, when no checks metric is in the data.
 * @param {Record<string, unknown>} checks
 * @returns {Record<string, unknown> | undefined}
 */
function checksFromResults(checks) {
  const list = listOf(checks.results);
  if (!list.length) return undefined;
  let passes = 0;
  let fails = 0;
  for (const c of list) {
    passes += num(c.passes) || 0;
    fails += num(c.fails) || 0;
  }
  return passes + fails ? { name: 'checks', type: 'rate', values: { rate: passes / (passes + fails), passes, fails } } : undefined;
}

/**
 * Per-threshold verdicts of one metric in the machine-readable shape, if the data carries any, as { expression: { ok } }.
 * @param {Record<string, unknown> | undefined} verdicts
 * @param {string} name
 * @returns {Record<string, unknown> | undefined}
 */
function verdictsFor(verdicts, name) {
  if (!verdicts) return undefined;
  const entry = verdicts[name];
  const asMap = obj(entry);
  if (asMap) return asMap;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const t of listOf(entry)) {
    const expression = str(t.source) || str(t.threshold) || str(t.expression);
    if (expression !== null && typeof t.ok === 'boolean') out[expression] = { ok: t.ok };
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * @param {RawMetric} m
 * @param {number | null} durationMs
 * @returns {number | null}
 */
function counterRate(m, durationMs) {
  const rate = num(m.values.rate);
  if (rate !== null) return rate;
  const count = num(m.values.count);
  return count !== null && durationMs ? count / (durationMs / 1000) : null;
}

/**
 * @param {number | null} v
 * @returns {string}
 */
function ms(v) {
  return v === null ? 'absent' : `${v.toFixed(2)}ms`;
}

/**
 * @param {string} text
 * @returns {ScenarioFile}
 */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${SCENARIO_FILE} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The checks k6 cannot do on a plain JSON file; the zod schema (k6/scenario.schema.json) says more.
 * @param {ScenarioFile} s
 */
function validate(s) {
  /** @param {string} what */
  const fail = (what) => {
    throw new Error(`${SCENARIO_FILE} is not a valid load scenario: ${what} (see k6/scenario.schema.json)`);
  };
  if (!s || typeof s !== 'object') fail('expected a JSON object');
  if (typeof s.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(s.name)) fail('name: expected a lower-case name');
  if (!Array.isArray(s.endpoints) || !s.endpoints.length) fail('endpoints: expected at least one endpoint');
  s.endpoints.forEach((e, i) => {
    if (!e || typeof e.name !== 'string') fail(`endpoints.${i}.name: expected a string`);
    if (typeof e.path !== 'string' || e.path.charAt(0) !== '/') fail(`endpoints.${i}.path: expected a path starting with "/"`);
    if (typeof e.weight !== 'number' || !(e.weight > 0)) fail(`endpoints.${i}.weight: expected a positive number`);
  });
  const executor = s.load && s.load.executor;
  if (executor !== 'constant-arrival-rate' && executor !== 'ramping-arrival-rate') {
    fail('load.executor: expected "constant-arrival-rate" or "ramping-arrival-rate"');
  }
}
