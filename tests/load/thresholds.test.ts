import { describe, expect, test } from 'vitest';
import type { RequestSample } from '../../core/load/samples.ts';
import type { ThresholdSpec } from '../../core/load/scenario.ts';
import {
  abortDemanded,
  evaluate,
  evaluateWindows,
  parseThresholds,
  percentile,
  renderThresholdTable,
  ThresholdSyntaxError,
} from '../../core/load/thresholds.ts';

function sample(over: Partial<RequestSample> = {}): RequestSample {
  return { atMs: 0, endpoint: 'read', method: 'GET', status: 200, durationMs: 10, expected: true, ...over };
}

/** `n` samples evenly spread over [0, spanMs), each shaped by `shape(i)`. */
function spread(n: number, spanMs: number, shape: (i: number) => Partial<RequestSample> = () => ({})): RequestSample[] {
  return Array.from({ length: n }, (_, i) => sample({ atMs: (i * spanMs) / n, ...shape(i) }));
}

const one = (key: string, spec: ThresholdSpec) => parseThresholds({ [key]: [spec] })[0];
const verdict = (key: string, spec: ThresholdSpec, samples: RequestSample[], elapsedMs = 10_000, dropped = 0) =>
  evaluate(parseThresholds({ [key]: [spec] }), { samples, dropped, elapsedMs })[0];

function syntaxError(spec: Record<string, ThresholdSpec[]>): ThresholdSyntaxError {
  try {
    parseThresholds(spec);
  } catch (e) {
    if (e instanceof ThresholdSyntaxError) return e;
    throw e;
  }
  throw new Error('expected a ThresholdSyntaxError');
}

describe('parseThresholds', () => {
  test.each([
    ['http_req_duration', 'avg<200', 'avg', '<', 200],
    ['http_req_duration', 'min>=1', 'min', '>=', 1],
    ['http_req_duration', 'max<=3000', 'max', '<=', 3000],
    ['http_req_duration', 'med>5', 'med', '>', 5],
    ['http_req_duration', 'p(95)<300', 'p(95)', '<', 300],
    ['http_req_duration', 'p(99.9)!=0', 'p(99.9)', '!=', 0],
    ['http_req_duration', 'p(0)>0', 'p(0)', '>', 0],
    ['http_req_duration', 'p(100)<1e4', 'p(100)', '<', 10_000],
    ['http_reqs', 'count==600', 'count', '==', 600],
    ['http_reqs', 'rate===10', 'rate', '===', 10],
    ['iterations', 'count>0', 'count', '>', 0],
    ['dropped_iterations', 'count==0', 'count', '==', 0],
    ['http_req_failed', 'rate<0.01', 'rate', '<', 0.01],
    ['checks', 'rate>0.99', 'rate', '>', 0.99],
  ])('%s: %s', (key, expression, method, op, value) => {
    expect(one(key, expression)).toEqual({ key, metric: key, tags: {}, expression, method, op, value, abortOnFail: false, delayAbortEvalMs: 0 });
  });

  test('whitespace around every part, in keys and expressions', () => {
    const t = one(' http_req_duration { endpoint : read , method : GET } ', '  p( 99.9 ) <=  300.5 ');
    expect(t).toMatchObject({ metric: 'http_req_duration', tags: { endpoint: 'read', method: 'GET' }, expression: 'p( 99.9 ) <=  300.5', method: 'p(99.9)', op: '<=', value: 300.5 });
    expect(one('http_req_failed', 'rate < 0.01')).toMatchObject({ method: 'rate', op: '<', value: 0.01 });
  });

  test('tag filters with several tags, including expected_response, status and error', () => {
    expect(one('http_reqs{endpoint:write,method:POST,status:503,expected_response:false}', 'count==0').tags).toEqual({
      endpoint: 'write',
      method: 'POST',
      status: '503',
      expected_response: 'false',
    });
    expect(one('http_reqs{error:dial tcp: refused}', 'count==0').tags).toEqual({ error: 'dial tcp: refused' });
  });

  test('the long form: abortOnFail and delayAbortEval', () => {
    expect(one('http_req_duration', { threshold: 'p(99)<10', abortOnFail: true, delayAbortEval: '1m30s' })).toMatchObject({
      expression: 'p(99)<10',
      abortOnFail: true,
      delayAbortEvalMs: 90_000,
    });
    expect(one('http_req_duration', { threshold: 'p(99)<10', abortOnFail: false })).toMatchObject({ abortOnFail: false, delayAbortEvalMs: 0 });
  });

  test('several expressions per key, several keys', () => {
    const all = parseThresholds({ http_req_duration: ['p(95)<300', 'max<1000'], http_req_failed: ['rate<0.01'] });
    expect(all.map((t) => `${t.key} ${t.method}`)).toEqual(['http_req_duration p(95)', 'http_req_duration max', 'http_req_failed rate']);
  });

  test.each([
    ['percentile above 100', { http_req_duration: ['p(101)<300'] }, /"http_req_duration": "p\(101\)<300": percentile must be a number from 0 to 100.*not p\(101\)/],
    ['negative percentile', { http_req_duration: ['p(-1)<300'] }, /percentile must be a number from 0 to 100/],
    ['p without a percentile', { http_req_duration: ['p<300'] }, /p needs a percentile, e\.g\. p\(95\)/],
    ['unknown method', { http_req_duration: ['mean<300'] }, /"mean<300": unknown aggregation method "mean"; http_req_duration is a Trend: use avg, min, max, med or p\(N\)/],
    ['method not valid for a Rate', { http_req_failed: ['p(95)<0.01'] }, /"http_req_failed": "p\(95\)<0.01": http_req_failed is a Rate: use rate, not p\(95\)/],
    ['method not valid for a Trend', { http_req_duration: ['rate<0.01'] }, /http_req_duration is a Trend: use avg, min, max, med or p\(N\), not rate/],
    ['Gauge method on a Counter', { http_reqs: ['value<3'] }, /http_reqs is a Counter: use count or rate, not value/],
    ['argument on a plain method', { http_req_duration: ['avg(5)<3'] }, /avg takes no argument/],
    ['unknown metric', { http_req_latency: ['p(95)<300'] }, /threshold key "http_req_latency": unknown metric "http_req_latency"; supported: http_reqs, http_req_duration/],
    ['unknown tag', { 'http_reqs{scenario:x}': ['count>0'] }, /unknown tag "scenario"; samples carry endpoint, method, status, expected_response or error/],
    ['tag without a value', { 'http_reqs{endpoint}': ['count>0'] }, /tag filter "endpoint" must be name:value/],
    ['empty filter', { 'http_reqs{}': ['count>0'] }, /empty tag filter/],
    ['tags on dropped_iterations', { 'dropped_iterations{endpoint:read}': ['count==0'] }, /dropped_iterations has no tags/],
    ['garbage key', { 'http_reqs{endpoint:read': ['count>0'] }, /expected a metric name with an optional tag filter/],
    ['garbage expression', { http_req_duration: ['fast please'] }, /"fast please": expected <method> <operator> <value>, e\.g\. "p\(95\)<300"/],
    ['single =', { http_req_duration: ['avg=3'] }, /expected <method> <operator> <value>/],
    ['not a number', { http_req_duration: ['avg<fast'] }, /"fast" is not a number/],
    ['missing value', { http_req_duration: ['avg<'] }, /"" is not a number/],
    ['bad delayAbortEval', { http_req_duration: [{ threshold: 'avg<3', abortOnFail: true, delayAbortEval: 'soon' }] }, /delayAbortEval "soon" is not a k6 duration/],
  ])('%s is a ThresholdSyntaxError naming key, expression and fix', (_, spec, message) => {
    const e = syntaxError(spec as Record<string, ThresholdSpec[]>);
    expect(e.message).toMatch(message);
    expect(e.key).toBe(Object.keys(spec)[0]);
  });
});

describe('percentile', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  test('linear interpolation between closest ranks: r = p/100·(n-1)', () => {
    expect(percentile(oneToHundred, 95)).toBeCloseTo(95.05, 10);
    expect(percentile(oneToHundred, 50)).toBeCloseTo(50.5, 10);
    expect(percentile(oneToHundred, 99.9)).toBeCloseTo(99.901, 10);
    expect(percentile(oneToHundred, 0)).toBe(1);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([10, 20], 25)).toBe(12.5);
  });

  test('trend methods over unsorted durations', () => {
    const samples = [...oneToHundred].reverse().map((d) => sample({ durationMs: d }));
    const at = (expression: string) => verdict('http_req_duration', expression, samples);
    expect(at('p(95)<95.06')).toMatchObject({ observed: expect.closeTo(95.05, 10), observedText: 'p(95)=95.05 ms', ok: true, samples: 100 });
    expect(at('p(95)<95')).toMatchObject({ ok: false });
    expect(at('med==50.5')).toMatchObject({ observed: 50.5, observedText: 'med=50.5 ms', ok: true });
    expect(at('avg==50.5')).toMatchObject({ observed: 50.5, ok: true });
    expect(at('min===1')).toMatchObject({ observed: 1, observedText: 'min=1 ms', ok: true });
    expect(at('max!=100')).toMatchObject({ observed: 100, ok: false });
    expect(at('max>=100').ok).toBe(true);
    expect(at('max>100').ok).toBe(false);
    expect(at('max<=99').ok).toBe(false);
  });
});

describe('evaluate', () => {
  test('rate of failed requests and of checks', () => {
    const samples = spread(417, 10_000, (i) => (i < 13 ? { status: 503, expected: false, error: 'HTTP 503' } : {}));
    expect(verdict('http_req_failed', 'rate<0.01', samples)).toMatchObject({ observed: 13 / 417, observedText: 'rate=0.0312 (13 of 417)', ok: false, samples: 417 });
    expect(verdict('http_req_failed', 'rate<0.05', samples).ok).toBe(true);
    expect(verdict('checks', 'rate>0.99', samples)).toMatchObject({ observed: 404 / 417, observedText: 'rate=0.9688 (404 of 417)', ok: false });
  });

  test('counter count and rate per second of elapsed time', () => {
    const samples = spread(417, 10_000);
    expect(verdict('http_reqs', 'count==417', samples)).toMatchObject({ observed: 417, observedText: 'count=417', ok: true });
    expect(verdict('iterations', 'count>417', samples).ok).toBe(false);
    expect(verdict('http_reqs', 'rate>=41.7', samples)).toMatchObject({ observed: 41.7, observedText: 'rate=41.7/s (417 in 10 s)', ok: true });
    expect(verdict('http_reqs', 'rate>41.7', samples).ok).toBe(false);
    expect(verdict('http_reqs', 'rate>0', samples, 0)).toMatchObject({ observed: undefined, observedText: 'no elapsed time', ok: false });
  });

  test('tag filters select the samples whose tags all match', () => {
    const samples = [
      sample({ endpoint: 'read', method: 'GET', durationMs: 10 }),
      sample({ endpoint: 'read', method: 'HEAD', durationMs: 20 }),
      sample({ endpoint: 'write', method: 'POST', status: 503, expected: false, durationMs: 500, error: 'HTTP 503' }),
      sample({ endpoint: 'write', method: 'POST', status: 0, expected: false, durationMs: 3000, error: 'timeout' }),
    ];
    expect(verdict('http_req_duration{endpoint:read}', 'max<100', samples)).toMatchObject({ observed: 20, samples: 2, ok: true });
    expect(verdict('http_req_duration{endpoint:read,method:GET}', 'max<15', samples)).toMatchObject({ observed: 10, samples: 1, ok: true });
    expect(verdict('http_reqs{status:503}', 'count==1', samples).ok).toBe(true);
    expect(verdict('http_reqs{status:0}', 'count==1', samples).ok).toBe(true);
    expect(verdict('http_req_duration{expected_response:true}', 'max<100', samples)).toMatchObject({ observed: 20, ok: true });
    expect(verdict('http_reqs{error:timeout}', 'count==1', samples).ok).toBe(true);
    expect(verdict('http_req_failed{endpoint:write}', 'rate==1', samples)).toMatchObject({ observedText: 'rate=1 (2 of 2)', ok: true });
  });

  test('dropped_iterations comes from LoadResult.dropped', () => {
    expect(verdict('dropped_iterations', 'count==0', spread(10, 10_000), 10_000, 3)).toMatchObject({ observed: 3, observedText: 'count=3', ok: false });
    expect(verdict('dropped_iterations', 'count==0', spread(10, 10_000), 10_000, 0).ok).toBe(true);
    expect(verdict('dropped_iterations', 'rate<1', [], 10_000, 20)).toMatchObject({ observed: 2, ok: false });
  });

  test('a trend or rate over no samples fails with "no samples"; a count of none is 0', () => {
    const none = { observed: undefined, observedText: 'no samples', ok: false, samples: 0 };
    expect(verdict('http_req_duration', 'p(95)<300', [])).toMatchObject(none);
    expect(verdict('http_req_failed', 'rate<0.01', [])).toMatchObject(none);
    expect(verdict('http_req_duration{endpoint:nope}', 'avg<300', spread(10, 10_000))).toMatchObject(none);
    expect(verdict('http_reqs', 'count==0', [])).toMatchObject({ observed: 0, ok: true });
  });
});

describe('evaluateWindows', () => {
  // 60 s at 10 requests/s; in [20 s, 30 s) a quarter of the requests fail: 25 of 600 overall (4.2 %)
  const samples = spread(600, 60_000, (i) => (i >= 200 && i < 300 && i % 4 === 0 ? { status: 503, expected: false } : {}));
  const run = { samples, dropped: 5, elapsedMs: 60_000 };
  const thresholds = parseThresholds({ http_req_failed: ['rate<0.05'], dropped_iterations: ['count==0'], http_reqs: ['rate>=10'] });

  test('a burst fails its window while the whole run passes', () => {
    expect(evaluate(thresholds, run)[0]).toMatchObject({ observedText: 'rate=0.0417 (25 of 600)', ok: true });
    const windows = evaluateWindows(thresholds, run, 10_000);
    expect(windows.map((w) => [w.fromMs, w.toMs])).toEqual([0, 1, 2, 3, 4, 5].map((k) => [k * 10_000, (k + 1) * 10_000]));
    expect(windows.map((w) => w.verdicts[0].ok)).toEqual([true, true, false, true, true, true]);
    expect(windows[2].verdicts[0]).toMatchObject({ observedText: 'rate=0.25 (25 of 100)', samples: 100 });
  });

  test('dropped_iterations only on the whole run; counter rate over the window length', () => {
    expect(evaluate(thresholds, run)[1].ok).toBe(false);
    const windows = evaluateWindows(thresholds, run, 10_000);
    for (const w of windows) expect(w.verdicts.map((v) => v.key)).toEqual(['http_req_failed', 'http_reqs']);
    expect(windows[0].verdicts[1]).toMatchObject({ observed: 10, observedText: 'rate=10/s (100 in 10 s)', ok: true });
  });

  test('a sample at elapsedMs counts in the last window, which may be partial', () => {
    const partial = evaluateWindows(parseThresholds({ http_reqs: ['count>=1'] }), { samples: [sample({ atMs: 25_000 })], dropped: 0, elapsedMs: 25_000 }, 10_000);
    expect(partial.map((w) => [w.fromMs, w.toMs, w.verdicts[0].observed])).toEqual([
      [0, 10_000, 0],
      [10_000, 20_000, 0],
      [20_000, 25_000, 1],
    ]);
    const onBoundary = evaluateWindows(parseThresholds({ http_reqs: ['count>=1'] }), { samples: [sample({ atMs: 20_000 })], dropped: 0, elapsedMs: 20_000 }, 10_000);
    expect(onBoundary.map((w) => [w.fromMs, w.toMs, w.verdicts[0].observed])).toEqual([
      [0, 10_000, 0],
      [10_000, 20_000, 1],
    ]);
  });

  test('an empty window passes trend and rate thresholds as "no samples in window"', () => {
    const ts = parseThresholds({ http_req_duration: ['p(95)<300'], http_req_failed: ['rate<0.01'] });
    const windows = evaluateWindows(ts, { samples: [sample({ atMs: 15_000 })], dropped: 0, elapsedMs: 20_000 }, 10_000);
    expect(windows[0].verdicts).toEqual([
      { key: 'http_req_duration', expression: 'p(95)<300', observed: undefined, observedText: 'no samples in window', ok: true, samples: 0 },
      { key: 'http_req_failed', expression: 'rate<0.01', observed: undefined, observedText: 'no samples in window', ok: true, samples: 0 },
    ]);
    expect(windows[1].verdicts.map((v) => v.ok)).toEqual([true, true]);
  });

  test('a window must be positive', () => {
    expect(() => evaluateWindows(thresholds, run, 0)).toThrow(RangeError);
  });
});

describe('abortDemanded', () => {
  const thresholds = parseThresholds({
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s' }],
    http_req_duration: ['p(95)<1'],
  });
  const failing = spread(50, 5_000, () => ({ status: 503, expected: false, durationMs: 100 }));

  test('not before delayAbortEval has elapsed', () => {
    expect(abortDemanded(thresholds, { samples: failing, dropped: 0, elapsedMs: 9_999 })).toBeUndefined();
    expect(abortDemanded(thresholds, { samples: failing, dropped: 0, elapsedMs: 10_000 })).toMatchObject({ key: 'http_req_failed', observedText: 'rate=1 (50 of 50)', ok: false });
  });

  test('only abortOnFail thresholds, only when they fail, not for lack of samples', () => {
    const slowButFine = spread(50, 5_000, () => ({ durationMs: 100 }));
    expect(abortDemanded(thresholds, { samples: slowButFine, dropped: 0, elapsedMs: 20_000 })).toBeUndefined();
    expect(abortDemanded(thresholds, { samples: [], dropped: 0, elapsedMs: 20_000 })).toBeUndefined();
    const immediate = parseThresholds({ http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] });
    expect(abortDemanded(immediate, { samples: failing.slice(0, 1), dropped: 0, elapsedMs: 0 })?.ok).toBe(false);
  });
});

describe('renderThresholdTable', () => {
  test('aligned columns with the expression, the observed text and the verdict', () => {
    const samples = spread(100, 10_000, (i) => ({ durationMs: i + 1, ...(i < 3 ? { expected: false } : {}) }));
    const ts = parseThresholds({ 'http_req_duration{endpoint:read}': ['p(95)<300'], http_req_failed: ['rate<0.01'] });
    const table = renderThresholdTable(evaluate(ts, { samples, dropped: 0, elapsedMs: 10_000 }));
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^threshold\s+observed\s+verdict$/);
    expect(lines[2]).toMatch(/^http_req_duration\{endpoint:read\} p\(95\)<300\s+p\(95\)=95\.05 ms\s+ok$/);
    expect(lines[3]).toMatch(/^http_req_failed rate<0\.01\s+rate=0\.03 \(3 of 100\)\s+FAILED$/);
    const observedColumn = lines[0].indexOf('observed');
    const verdictColumn = lines[0].indexOf('verdict');
    for (const line of [lines[2], lines[3]]) {
      expect(line.indexOf(line.includes('p(95)=') ? 'p(95)=' : 'rate=')).toBe(observedColumn);
      expect(line.search(/(ok|FAILED)$/)).toBe(verdictColumn);
    }
  });
});
