import { describe, expect, test } from 'vitest';
import { renderTrendSvg } from '../../core/report/trend-svg.ts';
import { expectWellFormed } from '../support/svg-well-formed.ts';
import { describeTolerance, trendsOf, type RunMeasurements, type Tolerance, type Trend } from '../../core/report/trends.ts';

/** Well formed, and a whole document on its own. */
function expectStandaloneSvg(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.endsWith('</svg>')).toBe(true);
  expectWellFormed(svg);
  // standalone: nothing to run, nothing fetched
  expect(svg).not.toMatch(/<script|<image|<foreignObject|@import|url\(|href=/i);
}

const TOL: Tolerance = { relative: 0.25, absoluteSeconds: 1 };
const PATH = ['ha', 'vip-failover', 'the VIP moves'];

function runOf(id: string, at: string, status: string, seconds: number | null, name = 'VIP answers again', slo: { sloSeconds?: number; sloName?: string } = { sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds' }): RunMeasurements {
  return { run: { id, at }, tests: [{ key: 'k', path: PATH, status, measurements: [{ name, seconds, outcome: seconds === null ? 'timed-out' : 'ok', ...slo }] }] };
}

/** A trend made the way the report makes it: earlier runs, then this run. */
function trend(values: Array<[status: string, seconds: number | null]>, name?: string, slo?: { sloSeconds?: number; sloName?: string }): Trend {
  const runs = values.map(([status, seconds], i) => runOf(`run-${i}`, `2024-03-${String(i + 1).padStart(2, '0')}T08:15:00.000Z`, status, seconds, name, slo));
  return trendsOf(runs.slice(0, -1), runs.at(-1)!, TOL)[0]!;
}

const texts = (svg: string) => [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

describe('renderTrendSvg', () => {
  test('a steady trend is a well-formed standalone SVG with the SLO line, its label and the tolerance sentence', () => {
    const t = trend([
      ['passed', 10],
      ['passed', 11],
      ['passed', 10.5],
    ]);
    expect(t.regression).toBeUndefined();
    const svg = renderTrendSvg(t, TOL);
    expectStandaloneSvg(svg);
    const shown = texts(svg);
    expect(shown).toContain('VIP answers again');
    expect(shown).toContain('SLO 75 s (slo.vipFailoverHardSeconds)');
    expect(shown).toContain(`ha &gt; vip-failover &gt; the VIP moves · 3 run(s); a regression is ${describeTolerance(TOL)}`);
    expect(svg).toMatch(/<line [^>]*stroke-dasharray="6 4"/); // the SLO as a dashed line
    expect(svg).toMatch(/<polyline points="(\S+,\S+ ){2}\S+,\S+"/); // three values joined
    // one marker per run, each titled with its date, value and status
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('<title>2024-03-02T08:15:00.000Z: 11.00 s (passed)</title>');
    // the first run's date and this run's date along the bottom
    expect(shown).toContain('2024-03-01 08:15');
    expect(shown).toContain('this run: 2024-03-03 08:15');
  });

  test('an SLO without a profile field is labelled with its bound alone; no SLO draws no SLO line', () => {
    expect(texts(renderTrendSvg(trend([['passed', 3]], 'x', { sloSeconds: 5 }), TOL))).toContain('SLO 5 s');
    const none = renderTrendSvg(trend([['passed', 3]], 'x', {}), TOL);
    expectStandaloneSvg(none);
    expect(none).not.toContain('stroke-dasharray');
    expect(texts(none).some((s) => s!.startsWith('SLO '))).toBe(false);
  });

  test('a regression states this run against the last good run, rings the last good run and draws this run in red', () => {
    // run-1 is the last good run: run-2 failed
    const t = trend([
      ['passed', 9],
      ['passed', 10],
      ['failed', 4],
      ['passed', 13],
    ]);
    expect(t.regression?.lastGood.runId).toBe('run-1');
    const svg = renderTrendSvg(t, TOL);
    expectStandaloneSvg(svg);
    expect(texts(svg)).toContain('ha &gt; vip-failover &gt; the VIP moves · this run: 13.0 s, 30 % slower than the last good run (10.0 s)');
    expect(svg.match(/<circle [^>]*r="9" fill="none" stroke="#2b8a3e"/g)).toHaveLength(1);
    // this run: filled red; the failed run: hollow with a red stroke
    expect(svg).toMatch(/<circle [^>]*r="5.5" fill="#c92a2a" stroke="#c92a2a"[^>]*><title>2024-03-04T08:15:00.000Z: 13.00 s \(passed\)/);
    expect(svg).toMatch(/<circle [^>]*fill="#ffffff" stroke="#c92a2a"[^>]*><title>2024-03-03T08:15:00.000Z: 4.00 s \(failed\)/);
  });

  test('a run that never recovered is a cross at the top, not a point, and the line skips it', () => {
    const t = trend([
      ['passed', 10],
      ['failed', null],
      ['passed', 11],
    ]);
    const svg = renderTrendSvg(t, TOL);
    expectStandaloneSvg(svg);
    const crosses = [...svg.matchAll(/<path d="M([\d.-]+),([\d.-]+) L([\d.-]+),([\d.-]+) M([\d.-]+),([\d.-]+) L([\d.-]+),([\d.-]+)" stroke="#c92a2a"/g)];
    expect(crosses).toHaveLength(1);
    const [x1, y1, x2, y2, x3, y3, x4, y4] = crosses[0]!.slice(1).map(Number);
    // two strokes of a cross: one falling, one rising, about the same centre
    expect(x1! + x2!).toBeCloseTo(x3! + x4!, 5);
    expect(y1! + y2!).toBeCloseTo(y3! + y4!, 5);
    expect(y2! - y1!).toBeGreaterThan(0);
    expect(y4! - y3!).toBeLessThan(0);
    expect(svg).toContain('<title>2024-03-02T08:15:00.000Z: never (failed)</title>');
    expect(svg.match(/<circle /g)).toHaveLength(2);
    // the cross sits above every point drawn
    const circleYs = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    for (const cy of circleYs) expect((y1! + y2!) / 2).toBeLessThan(cy);
    expect(svg).toMatch(/<polyline points="\S+,\S+ \S+,\S+"/); // two points joined, the null one left out
  });

  test('a single run, even one that never recovered, still renders without NaN', () => {
    for (const t of [trend([['passed', 2]]), trend([['failed', null]]), trend([['passed', 0]])]) {
      const svg = renderTrendSvg(t, TOL);
      expectStandaloneSvg(svg);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
      expect(svg).not.toContain('<polyline');
      expect(svg).toContain('1 run(s)');
    }
  });

  test('escapes < and & in the measurement name, the path and the status', () => {
    const t = trend([['passed', 1]], '<img src=x onerror=alert(1)> & "friends"');
    t.path = ['<ha>', 'a&b'];
    t.points[0]!.status = 'passed';
    const svg = renderTrendSvg(t, TOL);
    expectStandaloneSvg(svg);
    expect(svg).not.toContain('<img');
    expect(texts(svg)).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;friends&quot;');
    expect(svg).toContain('&lt;ha&gt; &gt; a&amp;b');
  });
});
