import { describe, expect, test } from 'vitest';
import { MARK_COLOURS, esc, fmtSeconds, renderTimelineSvg } from '../../core/report/timeline-svg.ts';
import type { TimelineData } from '../../core/report/timeline-data.ts';
import { sampleTimeline } from './sample-timeline.ts';
import { expectWellFormed } from '../support/svg-well-formed.ts';


function empty(overrides: Partial<TimelineData> = {}): TimelineData {
  return { experiment: 'x', startedAt: '2025-01-01T00:00:00.000Z', marks: [], spans: [], series: [], ...overrides };
}

describe('renderTimelineSvg', () => {
  test('draws the sample experiment: marks by kind, spans with SLO limits, the probe series', () => {
    const svg = renderTimelineSvg(sampleTimeline());
    expectWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const name of ['power off cp2 (etcd leader) 2 s', 'readyz fails 3 s', 'new leader cp1 3.4 s', 'write accepted 6.5 s'])
      expect(svg).toContain(`>${name}</text>`);
    for (const colour of [MARK_COLOURS.fault, MARK_COLOURS.symptom, MARK_COLOURS.detection, MARK_COLOURS.recovery])
      expect(svg).toContain(`stroke="${colour}"`);
    expect(svg).toContain('>4.5 s / SLO 4 s · slo-violated</text>'); // the violated wait, captioned in red
    expect(svg).toMatch(/<rect [^>]*fill="#fa5252"[^>]*><title>API write accepted/);
    expect(svg.match(/>SLO<\/text>/g)?.length).toBe(2); // two limits inside the axis...
    expect(svg).toContain('>SLO 42 s ▸</text>'); // ...and one beyond it
    expect(svg).toContain('>34 ok · 7 failed · ms</text>');
    expect(svg.match(/<path d="M[^"]*"[^>]*stroke="#e03131"[^>]*><title>readyz through the VIP: failed/g)?.length).toBe(7);
    expect(svg).toContain('>time since experiment start</text>');
    expect(svg).toContain('>20 s</text>');
  });

  test('uses no scripts, external fonts, images or links', () => {
    const svg = renderTimelineSvg(sampleTimeline());
    expect(svg).not.toMatch(/<script|<image|<foreignObject|@import|@font-face|url\(|href=/i);
  });

  test('escapes every piece of text', () => {
    const nasty = `<script>alert("x")</script> & 'quotes'`;
    const svg = renderTimelineSvg(
      empty({
        experiment: nasty,
        marks: [{ name: nasty, kind: 'fault', atMs: 10, detail: '</title><script>' }],
        spans: [{ name: nasty, startMs: 0, endMs: 5, outcome: 'ok' }],
        series: [{ name: nasty, unit: '<u>', points: [{ atMs: 1, value: null }] }],
      }),
    );
    expectWellFormed(svg);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;quotes&apos;');
  });

  test('copes with nothing recorded, open spans, and bad numbers', () => {
    expectWellFormed(renderTimelineSvg(empty()));
    expect(renderTimelineSvg(empty())).toContain('>nothing was recorded</text>');
    const svg = renderTimelineSvg(
      empty({
        marks: [
          { name: 'a', kind: 'info', atMs: Number.NaN },
          { name: 'b', kind: 'fault', atMs: 500 },
          { name: 'c', kind: 'fault', atMs: 500 },
        ],
        spans: [{ name: 'still waiting', startMs: 100, sloMs: 2_000, outcome: 'running' }],
        series: [{ name: 'all failed', unit: '', points: [{ atMs: 0, value: null }, { atMs: 1, value: Number.POSITIVE_INFINITY }] }],
      }),
    );
    expectWellFormed(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg).toContain('>no end / SLO 2 s · running</text>');
  });

  test('many probes: failures become red bands, one per outage', () => {
    const points = Array.from({ length: 1_000 }, (_, i) => ({ atMs: i * 100, value: (i >= 300 && i < 350) || i >= 990 ? null : 5 }));
    const svg = renderTimelineSvg(empty({ series: [{ name: 'readyz', unit: 'ms', points }] }));
    expectWellFormed(svg);
    expect(svg.match(/<rect [^>]*fill="#e03131"><title>readyz: \d+ failed from/g)).toHaveLength(2);
    expect(svg).toContain('readyz: 50 failed from 30 s to 34.9 s');
    expect(svg).not.toContain('<circle');
  });

  test('labels of marks close together do not overlap', () => {
    const marks = Array.from({ length: 6 }, (_, i) => ({ name: `event number ${i}`, kind: 'info' as const, atMs: 1_000 + i * 50 }));
    const svg = renderTimelineSvg(empty({ marks }));
    const boxes = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"([^>]*)>(event number[^<]*)</g)].map(
      ([, x, y, attrs, label]) => {
        const width = label.length * 11 * 0.62;
        const left = attrs.includes('text-anchor="end"') ? Number(x) - width : Number(x);
        return { y: Number(y), left, right: left + width };
      },
    );
    expect(boxes).toHaveLength(6);
    for (const a of boxes) {
      expect(a.left).toBeGreaterThanOrEqual(0);
      expect(a.right).toBeLessThanOrEqual(1000);
      for (const b of boxes) if (a !== b && a.y === b.y) expect(a.right < b.left || b.right < a.left).toBe(true);
    }
  });

  test('formats times in seconds', () => {
    expect(fmtSeconds(0)).toBe('0 s');
    expect(fmtSeconds(3_400)).toBe('3.4 s');
    expect(fmtSeconds(12_345)).toBe('12.3 s');
    expect(fmtSeconds(125_000)).toBe('125 s');
    expect(esc('a\u0001b')).toBe('ab');
  });
});
