/**
 * k6-syntax thresholds, written from k6's documented grammar (using-k6/thresholds): per metric key
 * `name{tag:value,...}` a list of `<method> <operator> <value>` expressions, judged over the normalized RequestSamples.
 * Deliberate difference from k6: a Trend or Rate over no samples fails with "no samples" instead of passing silently.
 */
import { UserError } from '../errors.ts';
import type { LoadResult, RequestSample } from './samples.ts';
import { durationMs, type ThresholdSpec } from './scenario.ts';

export interface ParsedThreshold {
  /** the metric key as written, e.g. "http_req_duration{endpoint:read}" */
  key: string;
  metric: string;
  tags: Record<string, string>;
  expression: string;
  /** "avg", "min", "max", "med", "p(95)", "count", "rate" */
  method: string;
  op: string;
  value: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export interface ThresholdVerdict {
  key: string;
  expression: string;
  observed: number | undefined;
  /** e.g. "p(95)=212.4 ms", "rate=0.0312 (13 of 417)", "no samples" */
  observedText: string;
  ok: boolean;
  /** how many samples the value was computed over */
  samples: number;
}

export interface WindowVerdict {
  fromMs: number;
  toMs: number;
  verdicts: ThresholdVerdict[];
}

type Run = Pick<LoadResult, 'samples' | 'dropped' | 'elapsedMs'>;
type MetricType = 'Counter' | 'Rate' | 'Trend';

const METRIC_TYPES: Record<string, MetricType> = {
  http_reqs: 'Counter',
  http_req_duration: 'Trend',
  http_req_failed: 'Rate',
  checks: 'Rate',
  iterations: 'Counter',
  dropped_iterations: 'Counter',
};
const METHODS_BY_TYPE: Record<MetricType, string[]> = {
  Counter: ['count', 'rate'],
  Rate: ['rate'],
  Trend: ['avg', 'min', 'max', 'med', 'p(N)'],
};
/** every method k6 documents; "value" (Gauge) is known so that it gets a "wrong type" message, though no Gauge is derived */
const KNOWN_METHODS = ['avg', 'min', 'max', 'med', 'p', 'count', 'rate', 'value'];
const TAGS = ['endpoint', 'method', 'status', 'expected_response', 'error'];

const COMPARE: Record<string, (observed: number, limit: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

const KEY = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\{([^{}]*)\})?\s*$/;
/** method, optional "(argument)", operator (longest first), the rest is the value */
const EXPRESSION = /^([a-z]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*(===|==|!=|>=|<=|>|<)\s*(.*)$/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A threshold that cannot be parsed; the message names the key, the expression and what would be accepted. */
export class ThresholdSyntaxError extends UserError {
  readonly key: string;
  readonly expression: string | undefined;
  constructor(key: string, expression: string | undefined, problem: string) {
    super(expression === undefined ? `threshold key "${key}": ${problem}` : `threshold "${key}": "${expression}": ${problem}`);
    this.name = 'ThresholdSyntaxError';
    this.key = key;
    this.expression = expression;
  }
}

const orList = (items: string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`);

function parseKey(key: string): { metric: string; type: MetricType; tags: Record<string, string> } {
  const m = KEY.exec(key);
  if (!m) throw new ThresholdSyntaxError(key, undefined, 'expected a metric name with an optional tag filter, e.g. http_req_duration{endpoint:read}');
  const metric = m[1];
  const type = METRIC_TYPES[metric];
  if (!type) throw new ThresholdSyntaxError(key, undefined, `unknown metric "${metric}"; supported: ${orList(Object.keys(METRIC_TYPES))}`);
  const tags: Record<string, string> = {};
  if (m[2] === undefined) return { metric, type, tags };
  if (metric === 'dropped_iterations') throw new ThresholdSyntaxError(key, undefined, 'dropped_iterations has no tags: drop the {…} filter');
  if (m[2].trim() === '') throw new ThresholdSyntaxError(key, undefined, 'empty tag filter {}: write {tag:value}, or drop the braces');
  for (const part of m[2].split(',')) {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (colon < 0 || name === '' || value === '') throw new ThresholdSyntaxError(key, undefined, `tag filter "${part.trim()}" must be name:value, e.g. endpoint:read`);
    if (!TAGS.includes(name)) throw new ThresholdSyntaxError(key, undefined, `unknown tag "${name}"; samples carry ${orList(TAGS)}`);
    if (name in tags) throw new ThresholdSyntaxError(key, undefined, `tag "${name}" is filtered twice`);
    tags[name] = value;
  }
  return { metric, type, tags };
}

function parseExpression(key: string, metric: string, type: MetricType, expression: string): { method: string; op: string; value: number } {
  const fail = (problem: string): never => {
    throw new ThresholdSyntaxError(key, expression, problem);
  };
  const allowed = `${metric} is a ${type}: use ${orList(METHODS_BY_TYPE[type])}`;
  const m = EXPRESSION.exec(expression);
  if (!m) return fail(`expected <method> <operator> <value>, e.g. "p(95)<300" or "rate<0.01"; operators: > >= < <= == === !=`);
  const [, name, argument, op, valueText] = m;
  if (!KNOWN_METHODS.includes(name)) return fail(`unknown aggregation method "${name}"; ${allowed}`);
  let method = name;
  if (name === 'p') {
    if (argument === undefined) return fail('p needs a percentile, e.g. p(95) or p(99.9)');
    if (!/^\d+(?:\.\d+)?$/.test(argument) || Number(argument) > 100) return fail(`percentile must be a number from 0 to 100, e.g. p(95) or p(99.9), not p(${argument})`);
    method = `p(${Number(argument)})`;
  } else if (argument !== undefined) {
    return fail(`${name} takes no argument: write ${name}${op}${valueText}`);
  }
  if (!METHODS_BY_TYPE[type].includes(name === 'p' ? 'p(N)' : name)) return fail(`${allowed}, not ${method}`);
  if (!NUMBER.test(valueText)) return fail(`"${valueText}" is not a number; write e.g. ${method}${op}300`);
  return { method, op, value: Number(valueText) };
}

/** Every threshold of a scenario, validated; throws ThresholdSyntaxError on the first bad key or expression. */
export function parseThresholds(spec: Record<string, ThresholdSpec[]>): ParsedThreshold[] {
  return Object.entries(spec).flatMap(([key, list]) => {
    const { metric, type, tags } = parseKey(key);
    return list.map((item): ParsedThreshold => {
      const long = typeof item === 'string' ? undefined : item;
      const expression = (long ? long.threshold : (item as string)).trim();
      let delayAbortEvalMs = 0;
      if (long?.delayAbortEval !== undefined) {
        try {
          delayAbortEvalMs = durationMs(long.delayAbortEval);
        } catch {
          throw new ThresholdSyntaxError(key, expression, `delayAbortEval "${long.delayAbortEval}" is not a k6 duration (e.g. "10s", "1m30s")`);
        }
      }
      return { key, metric, tags, expression, ...parseExpression(key, metric, type, expression), abortOnFail: long?.abortOnFail === true, delayAbortEvalMs };
    });
  });
}

/**
 * Percentile by linear interpolation between closest ranks: on ascending values x[0..n-1], rank r = p/100·(n-1),
 * p = x[⌊r⌋] + (r-⌊r⌋)·(x[⌈r⌉]-x[⌊r⌋]). So p(0) = min, p(100) = max, med = p(50), and 1..100 gives p(95) = 95.05.
 */
export function percentile(ascending: number[], p: number): number {
  const rank = (p / 100) * (ascending.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return ascending[low] + (rank - low) * (ascending[high] - ascending[low]);
}

function tagValue(s: RequestSample, tag: string): string | undefined {
  switch (tag) {
    case 'endpoint':
      return s.endpoint;
    case 'method':
      return s.method;
    case 'status':
      return String(s.status);
    case 'expected_response':
      return String(s.expected);
    case 'error':
      return s.error;
    default:
      return undefined;
  }
}

const fmt = (n: number, decimals: number): string => String(Number(n.toFixed(decimals)));

function trendValue(method: string, values: number[]): number {
  if (method === 'avg') return values.reduce((a, b) => a + b, 0) / values.length;
  const ascending = [...values].sort((a, b) => a - b);
  if (method === 'min') return ascending[0];
  if (method === 'max') return ascending[ascending.length - 1];
  return percentile(ascending, method === 'med' ? 50 : Number(method.slice(2, -1)));
}

function observe(t: ParsedThreshold, run: Run, noSamplesText: string): Pick<ThresholdVerdict, 'observed' | 'observedText' | 'samples'> {
  const type = METRIC_TYPES[t.metric];
  const selected = t.metric === 'dropped_iterations' ? [] : run.samples.filter((s) => Object.entries(t.tags).every(([tag, v]) => tagValue(s, tag) === v));
  if (type === 'Counter') {
    const count = t.metric === 'dropped_iterations' ? run.dropped : selected.length;
    if (t.method === 'count') return { observed: count, observedText: `count=${count}`, samples: count };
    if (run.elapsedMs <= 0) return { observed: undefined, observedText: 'no elapsed time', samples: count };
    const perSecond = count / (run.elapsedMs / 1000);
    return { observed: perSecond, observedText: `rate=${fmt(perSecond, 2)}/s (${count} in ${fmt(run.elapsedMs / 1000, 3)} s)`, samples: count };
  }
  if (selected.length === 0) return { observed: undefined, observedText: noSamplesText, samples: 0 };
  if (type === 'Rate') {
    const hit = (s: RequestSample): boolean => (t.metric === 'checks' ? s.expected : !s.expected);
    const hits = selected.filter(hit).length;
    return { observed: hits / selected.length, observedText: `rate=${fmt(hits / selected.length, 4)} (${hits} of ${selected.length})`, samples: selected.length };
  }
  const value = trendValue(t.method, selected.map((s) => s.durationMs));
  return { observed: value, observedText: `${t.method}=${fmt(value, 2)} ms`, samples: selected.length };
}

function judge(t: ParsedThreshold, run: Run, noSamples: { text: string; ok: boolean }): ThresholdVerdict {
  const seen = observe(t, run, noSamples.text);
  const compare = COMPARE[t.op];
  if (!compare) throw new Error(`threshold "${t.key}": "${t.expression}": unknown operator "${t.op}"`);
  const ok = seen.observed === undefined ? seen.samples === 0 && noSamples.ok : compare(seen.observed, t.value);
  return { key: t.key, expression: t.expression, ...seen, ok };
}

/** Every threshold over the whole run. A Trend or Rate over no samples fails ("no samples"): unlike k6, no silent pass. */
export function evaluate(thresholds: ParsedThreshold[], result: Run): ThresholdVerdict[] {
  return thresholds.map((t) => judge(t, result, { text: 'no samples', ok: false }));
}

/**
 * The same thresholds per window [k·w, (k+1)·w) over [0, elapsedMs), so a burst shows even when the run passes.
 * A sample at or after elapsedMs (the last response defines it) counts in the last window, which may be shorter
 * than w; a Counter's rate uses the window's own length. dropped_iterations is judged only on the whole run: the
 * engines report a total, not when each iteration was dropped.
 * A window with no samples passes its Trend and Rate thresholds ("no samples in window"). This cannot hide an
 * outage: the load is open-model, so requests keep starting and a failed or timed-out request is still a sample
 * (in the window where it ended); an empty window had no planned load, and the whole-run verdict still fails an
 * empty run.
 */
export function evaluateWindows(thresholds: ParsedThreshold[], result: Run, windowMs: number): WindowVerdict[] {
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`window must be a positive number of ms, not ${windowMs}`);
  const count = Math.ceil(result.elapsedMs / windowMs);
  if (!(count > 0)) return [];
  const buckets: RequestSample[][] = Array.from({ length: count }, () => []);
  for (const s of result.samples) buckets[Math.min(count - 1, Math.max(0, Math.floor(s.atMs / windowMs)))].push(s);
  const windowed = thresholds.filter((t) => t.metric !== 'dropped_iterations');
  return buckets.map((samples, k) => {
    const fromMs = k * windowMs;
    const toMs = Math.min((k + 1) * windowMs, result.elapsedMs);
    const run = { samples, dropped: 0, elapsedMs: toMs - fromMs };
    return { fromMs, toMs, verdicts: windowed.map((t) => judge(t, run, { text: 'no samples in window', ok: true })) };
  });
}

/**
 * For engines while the run goes: the first abortOnFail threshold, past its delayAbortEval, that fails on the samples
 * so far. A threshold with no value yet (no samples) does not abort: the final verdict judges it.
 */
export function abortDemanded(thresholds: ParsedThreshold[], soFar: Run): ThresholdVerdict | undefined {
  const due = thresholds.filter((t) => t.abortOnFail && soFar.elapsedMs >= t.delayAbortEvalMs);
  return evaluate(due, soFar).find((v) => !v.ok && v.observed !== undefined);
}

/** Plain-text table: threshold (key + expression), observed, verdict (ok / FAILED), columns aligned. */
export function renderThresholdTable(verdicts: ThresholdVerdict[]): string {
  const rows = [['threshold', 'observed', 'verdict'], ...verdicts.map((v) => [`${v.key} ${v.expression}`, v.observedText, v.ok ? 'ok' : 'FAILED'])];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`;
  return [line(rows[0]), line(widths.map((w) => '-'.repeat(w)).concat('-------')), ...rows.slice(1).map(line)].join('\n');
}
