/**
 * Renders an experiment timeline as one self-contained SVG (no scripts, no external fonts or images):
 * marks as labelled vertical lines coloured by kind, spans as bars with their SLO limit, series as small
 * line plots with failed probes marked, over a shared time axis in seconds.
 */
import type { TimelineData, TimelineMark, TimelineMarkKind, TimelineSeries, TimelineSpan } from './timeline-data.ts';

const WIDTH = 900; // Allure shows attachments about this wide: little scaling, readable text
const LEFT = 200; // column for span and series names
const RIGHT = 24;
const PLOT_W = WIDTH - LEFT - RIGHT;
const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';
const LABEL_SIZE = 13;
const MARK_SIZE = 12;
const SMALL = 11;
const TINY = 10;
// rough advance widths of bold text, used to avoid overlaps and to wrap names
const CHAR_W = MARK_SIZE * 0.63;
const NAME_CHARS = Math.floor((LEFT - 24) / (LABEL_SIZE * 0.63));
const LINE_H = 15;
const MARK_ROW_H = 19;
const SPAN_ROW_H = 32;
const SERIES_H = 80;
const SERIES_GAP = 22;

export const MARK_COLOURS: Record<TimelineMarkKind, string> = {
  fault: '#c92a2a',
  symptom: '#e67700',
  detection: '#1971c2',
  recovery: '#2b8a3e',
  info: '#868e96',
};

const SPAN_COLOURS: Record<TimelineSpan['outcome'], string> = {
  ok: '#51cf66',
  'slo-violated': '#fa5252',
  'timed-out': '#fa5252',
  failed: '#fa5252',
  running: '#adb5bd',
};

export function renderTimelineSvg(data: TimelineData): string {
  const marks = [...data.marks].filter((m) => finite(m.atMs)).sort((a, b) => a.atMs - b.atMs);
  const spans = data.spans.filter((s) => finite(s.startMs));
  const series = data.series;
  const endMs = domainEnd(marks, spans, series);
  const x = (ms: number): number => LEFT + (Math.max(0, Math.min(ms, endMs)) / endMs) * PLOT_W;

  const out: string[] = [];

  out.push(text(16, 24, data.experiment || 'experiment', { size: 18, weight: 'bold' }));
  out.push(
    text(16, 44, `started ${data.startedAt} · ${marks.length} marks · ${spans.length} spans · ${series.length} series`, {
      size: SMALL,
      fill: '#495057',
    }),
  );
  let y = 60;

  const labelRows = placeMarkLabels(marks, x);
  const rowCount = labelRows.reduce((n, l) => Math.max(n, l.row + 1), 0);
  const marksTop = y;
  y += rowCount * MARK_ROW_H + 6;
  const plotTop = y;

  const body: string[] = [];
  if (spans.length > 0) {
    body.push(text(16, y + 14, 'waits, │ = SLO limit', { size: SMALL, fill: '#495057', style: 'italic' }));
    y += 22;
    for (const span of spans) {
      const row = renderSpan(span, y, x, endMs);
      body.push(row.svg);
      y += row.height;
    }
    y += 8;
  }
  for (const s of series) {
    y += SERIES_GAP;
    body.push(renderSeries(s, y, x));
    y += SERIES_H;
  }
  if (spans.length === 0 && series.length === 0) {
    body.push(text(LEFT + PLOT_W / 2, y + 30, marks.length === 0 ? 'nothing was recorded' : 'no waits or measurements recorded', {
      size: LABEL_SIZE,
      fill: '#868e96',
      anchor: 'middle',
    }));
    y += 50;
  }
  const plotBottom = y + 6;

  out.push(renderGrid(endMs, x, plotTop, plotBottom));
  out.push(...body);
  out.push(renderMarks(labelRows, x, marksTop, plotBottom));
  y = plotBottom;
  out.push(renderAxis(endMs, x, y));
  y += 60;
  const legend = renderLegend(y);
  out.push(legend.svg);
  y += legend.height;

  const title = `Timeline of ${data.experiment}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" ` +
      `font-family="${FONT}" role="img">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function renderSpan(span: TimelineSpan, y: number, x: (ms: number) => number, endMs: number): { svg: string; height: number } {
  const parts: string[] = [];
  const nameLines = wrap(span.name, NAME_CHARS, 2);
  const height = SPAN_ROW_H + (nameLines.length - 1) * LINE_H;
  const barH = 18;
  const barY = y + (height - barH) / 2;
  const open = span.endMs === undefined || !finite(span.endMs);
  const stop = open ? endMs : (span.endMs as number);
  const x0 = x(span.startMs);
  const x1 = Math.max(x(stop), x0 + 2);
  const took = open ? undefined : (span.endMs as number) - span.startMs;
  const status = span.outcome === 'ok' ? '' : ` · ${span.outcome}`;
  const slo = span.sloMs !== undefined && finite(span.sloMs) ? ` / SLO ${fmtDuration(span.sloMs)}` : '';
  const caption = `${took === undefined ? 'no end' : fmtDuration(took)}${slo}${status}`;

  nameLines.forEach((line, i) => parts.push(text(16, y + 14 + i * LINE_H, line, { size: LABEL_SIZE, weight: 'bold' })));
  parts.push(
    text(16, y + 13 + nameLines.length * LINE_H, caption, { size: SMALL, fill: span.outcome === 'ok' || span.outcome === 'running' ? '#495057' : '#c92a2a' }),
  );
  const dash = span.outcome === 'timed-out' || span.outcome === 'running' ? ' stroke-dasharray="4 3"' : '';
  parts.push(
    `<rect x="${n(x0)}" y="${barY}" width="${n(x1 - x0)}" height="${barH}" rx="2" fill="${SPAN_COLOURS[span.outcome]}" ` +
      `fill-opacity="0.85" stroke="${darker(span.outcome)}"${dash}><title>${esc(`${span.name}: ${caption}`)}</title></rect>`,
  );
  if (span.sloMs !== undefined && finite(span.sloMs)) {
    const sloAt = span.startMs + span.sloMs;
    if (sloAt <= endMs) {
      const xs = x(sloAt);
      parts.push(
        `<line x1="${n(xs)}" y1="${barY - 4}" x2="${n(xs)}" y2="${barY + barH + 4}" stroke="#212529" stroke-width="2.5"/>`,
      );
      parts.push(text(xs + 3, barY - 1, 'SLO', { size: TINY, fill: '#212529' }));
    } else {
      // the limit lies beyond the axis: say so at its right end
      const xr = LEFT + PLOT_W;
      parts.push(text(xr, barY - 1, `SLO ${fmtSeconds(sloAt)} ▸`, { size: TINY, fill: '#212529', anchor: 'end' }));
    }
  }
  if (took !== undefined) {
    const label = fmtDuration(took);
    const fitsRight = x1 + 6 + label.length * SMALL * 0.6 < WIDTH - 4;
    parts.push(
      text(fitsRight ? x1 + 6 : x0 - 6, barY + barH - 4, label, { size: SMALL, fill: '#212529', anchor: fitsRight ? 'start' : 'end' }),
    );
  }
  return { svg: parts.join('\n'), height };
}

function renderSeries(s: TimelineSeries, top: number, x: (ms: number) => number): string {
  const parts: string[] = [];
  const points = s.points.filter((p) => finite(p.atMs));
  const values = points.map((p) => p.value).filter((v): v is number => v !== null && finite(v));
  const failures = points.filter((p) => p.value === null || !finite(p.value));
  const maxValue = niceCeil(Math.max(0, ...values));
  const bottom = top + SERIES_H;
  const yOf = (v: number): number => bottom - (Math.max(0, v) / maxValue) * (SERIES_H - 6);

  const nameLines = wrap(s.name, NAME_CHARS, 3);
  nameLines.forEach((line, i) => parts.push(text(16, top + 14 + i * LINE_H, line, { size: LABEL_SIZE, weight: 'bold' })));
  parts.push(
    text(16, top + 13 + nameLines.length * LINE_H, `${values.length} ok · ${failures.length} failed${s.unit ? ` · ${s.unit}` : ''}`, {
      size: SMALL,
      fill: failures.length > 0 ? '#c92a2a' : '#495057',
    }),
  );
  parts.push(`<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${SERIES_H}" fill="#f8f9fa" stroke="#dee2e6"/>`);
  for (const v of [maxValue / 2, maxValue]) {
    parts.push(`<line x1="${LEFT}" y1="${n(yOf(v))}" x2="${LEFT + PLOT_W}" y2="${n(yOf(v))}" stroke="#e9ecef"/>`);
    parts.push(text(LEFT + 4, yOf(v) + 11, `${fmtNumber(v)}${s.unit ? ` ${s.unit}` : ''}`, { size: TINY, fill: '#868e96' }));
  }

  // consecutive successful probes are joined; a failure breaks the line
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 1) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="#1971c2" stroke-width="1.5"/>`);
    run = [];
  };
  for (const p of points) {
    if (p.value === null || !finite(p.value)) flush();
    else run.push(`${n(x(p.atMs))},${n(yOf(p.value))}`);
  }
  flush();
  if (points.length <= 200) {
    for (const p of points) {
      if (p.value !== null && finite(p.value)) {
        parts.push(`<circle cx="${n(x(p.atMs))}" cy="${n(yOf(p.value))}" r="2.2" fill="#1971c2"/>`);
      }
    }
  }
  if (points.length <= 200) {
    for (const p of failures) {
      const cx = x(p.atMs);
      const cy = bottom - 7;
      parts.push(
        `<path d="M${n(cx - 4)},${n(cy - 4)} L${n(cx + 4)},${n(cy + 4)} M${n(cx - 4)},${n(cy + 4)} L${n(cx + 4)},${n(cy - 4)}" ` +
          `stroke="#e03131" stroke-width="2"><title>${esc(`${s.name}: failed at ${fmtSeconds(p.atMs)}`)}</title></path>`,
      );
    }
  } else {
    // too many probes for one marker each: a red band per run of consecutive failures
    for (const run of failureRuns(points)) {
      const x0 = x(run.from);
      parts.push(
        `<rect x="${n(x0)}" y="${bottom - 12}" width="${n(Math.max(2, x(run.to) - x0))}" height="10" fill="#e03131">` +
          `<title>${esc(`${s.name}: ${run.count} failed from ${fmtSeconds(run.from)} to ${fmtSeconds(run.to)}`)}</title></rect>`,
      );
    }
  }
  return parts.join('\n');
}

function failureRuns(points: TimelineSeries['points']): Array<{ from: number; to: number; count: number }> {
  const runs: Array<{ from: number; to: number; count: number }> = [];
  let current: { from: number; to: number; count: number } | undefined;
  for (const p of points) {
    if (p.value === null || !finite(p.value)) {
      if (current) {
        current.to = p.atMs;
        current.count++;
      } else runs.push((current = { from: p.atMs, to: p.atMs, count: 1 }));
    } else current = undefined;
  }
  return runs;
}

interface PlacedLabel {
  mark: TimelineMark;
  row: number;
  anchor: 'start' | 'end';
  textX: number;
}

/**
 * Puts each mark's label on the first row where it overlaps no other label and, if possible, no other mark's
 * line (a mark's line runs from its label down through every row below it). Labels go right of their line, or
 * left of it near the right edge.
 */
function placeMarkLabels(marks: TimelineMark[], x: (ms: number) => number): PlacedLabel[] {
  const placed: Array<{ row: number; from: number; to: number; lineX: number }> = [];
  return marks.map((mark) => {
    const width = markLabel(mark).length * CHAR_W;
    const lx = x(mark.atMs);
    const anchors: Array<'start' | 'end'> = lx + 4 + width <= WIDTH - 4 ? ['start', 'end'] : ['end'];
    const box = (anchor: 'start' | 'end'): [number, number] => (anchor === 'start' ? [lx, lx + 4 + width] : [lx - 4 - width, lx]);
    const fits = (row: number, anchor: 'start' | 'end', strict: boolean): boolean => {
      const [from, to] = box(anchor);
      if (from < 4) return false;
      return placed.every((p) => {
        if (p.row === row && from < p.to + 6 && to > p.from - 6) return false; // label over label
        if (!strict || Math.abs(p.lineX - lx) < 3) return true; // lines that coincide cannot avoid each other
        if (p.row < row && p.lineX >= from - 2 && p.lineX <= to + 2) return false; // an earlier line through this label
        return !(p.row > row && lx >= p.from - 2 && lx <= p.to + 2); // this line through a lower label
      });
    };
    let choice: { row: number; anchor: 'start' | 'end' } | undefined;
    for (const strict of [true, false]) {
      for (let row = 0; row <= marks.length && !choice; row++) {
        const anchor = anchors.find((a) => fits(row, a, strict));
        if (anchor) choice = { row, anchor };
      }
      if (choice) break;
    }
    const { row, anchor } = choice ?? { row: marks.length, anchor: anchors[0] };
    const [from, to] = box(anchor);
    placed.push({ row, from, to, lineX: lx });
    return { mark, row, anchor, textX: anchor === 'start' ? lx + 3 : lx - 3 };
  });
}

function renderMarks(
  labels: PlacedLabel[],
  x: (ms: number) => number,
  top: number,
  bottom: number,
): string {
  const parts: string[] = [];
  labels.forEach(({ mark, row, anchor, textX }) => {
    const colour = MARK_COLOURS[mark.kind] ?? MARK_COLOURS.info;
    const lx = x(mark.atMs);
    const labelY = top + row * MARK_ROW_H + 14;
    const tip = `${mark.kind}: ${mark.name} at ${fmtSeconds(mark.atMs)}${mark.detail ? ` (${mark.detail})` : ''}`;
    parts.push(
      `<g><title>${esc(tip)}</title>` +
        `<line x1="${n(lx)}" y1="${labelY - 12}" x2="${n(lx)}" y2="${bottom}" stroke="${colour}" stroke-width="1.6"` +
        `${mark.kind === 'info' ? ' stroke-dasharray="3 3"' : ''}/>` +
        text(textX, labelY, markLabel(mark), { size: MARK_SIZE, fill: colour, anchor, weight: 'bold' }) +
        '</g>',
    );
  });
  return parts.join('\n');
}

function renderGrid(endMs: number, x: (ms: number) => number, top: number, bottom: number): string {
  return ticks(endMs)
    .map((t) => `<line x1="${n(x(t))}" y1="${top}" x2="${n(x(t))}" y2="${bottom}" stroke="#f1f3f5"/>`)
    .join('\n');
}

function renderAxis(endMs: number, x: (ms: number) => number, y: number): string {
  const parts = [`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT_W}" y2="${y}" stroke="#495057"/>`];
  for (const t of ticks(endMs)) {
    parts.push(`<line x1="${n(x(t))}" y1="${y}" x2="${n(x(t))}" y2="${y + 5}" stroke="#495057"/>`);
    parts.push(text(x(t), y + 17, fmtSeconds(t), { size: SMALL, fill: '#495057', anchor: 'middle' }));
  }
  parts.push(text(LEFT + PLOT_W / 2, y + 34, 'time since experiment start', { size: SMALL, fill: '#868e96', anchor: 'middle' }));
  return parts.join('\n');
}

/** One line of keys, wrapped when it would not fit. */
function renderLegend(top: number): { svg: string; height: number } {
  const items: Array<{ width: number; draw: (lx: number, y: number) => string }> = [];
  const key = (label: string, sample: (lx: number, y: number) => string): void => {
    items.push({ width: 26 + label.length * SMALL * 0.55, draw: (lx, y) => sample(lx, y) + text(lx + 18, y, label, { size: SMALL }) });
  };
  for (const kind of Object.keys(MARK_COLOURS) as TimelineMarkKind[]) {
    key(kind, (lx, y) => `<line x1="${lx}" y1="${y - 4}" x2="${lx + 14}" y2="${y - 4}" stroke="${MARK_COLOURS[kind]}" stroke-width="3"/>`);
  }
  const bars: Array<[string, string]> = [
    [SPAN_COLOURS.ok, 'within SLO'],
    [SPAN_COLOURS['slo-violated'], 'over SLO / timed out'],
    [SPAN_COLOURS.running, 'still running'],
  ];
  for (const [fill, label] of bars) key(label, (lx, y) => `<rect x="${lx}" y="${y - 10}" width="14" height="11" fill="${fill}"/>`);
  key('failed probe', (lx, y) => `<path d="M${lx + 3},${y - 9} L${lx + 11},${y - 1} M${lx + 3},${y - 1} L${lx + 11},${y - 9}" stroke="#e03131" stroke-width="2"/>`);

  const parts: string[] = [];
  let lx = 16;
  let y = top;
  for (const item of items) {
    if (lx + item.width > WIDTH - 8) {
      lx = 16;
      y += 20;
    }
    parts.push(item.draw(lx, y));
    lx += item.width + 10;
  }
  return { svg: parts.join('\n'), height: y - top + 8 };
}

/** The end of the time axis: the last thing that happened; a far-off SLO limit must not squash the chart. */
function domainEnd(marks: TimelineMark[], spans: TimelineSpan[], series: TimelineSeries[]): number {
  const times: number[] = [...marks.map((m) => m.atMs)];
  for (const s of spans) times.push(s.startMs, ...(s.endMs !== undefined ? [s.endMs] : []));
  for (const s of series) for (const p of s.points) times.push(p.atMs);
  const dataEnd = Math.max(1000, ...times.filter(finite));
  const sloEnds = spans.filter((s) => finite(s.sloMs)).map((s) => s.startMs + (s.sloMs as number));
  const end = Math.max(dataEnd, ...sloEnds.filter((t) => t <= dataEnd * 1.3));
  return end * 1.04;
}

const STEPS_MS = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];

function ticks(endMs: number): number[] {
  const step = STEPS_MS.find((s) => endMs / s <= 12) ?? Math.ceil(endMs / 12 / 3_600_000) * 3_600_000;
  const out: number[] = [];
  for (let t = 0; t <= endMs; t += step) out.push(t);
  return out;
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const m = [1, 2, 2.5, 5, 10].find((k) => k * p >= v) ?? 10;
  return m * p;
}

function markLabel(m: TimelineMark): string {
  return `${truncate(m.name, 40)} ${fmtSeconds(m.atMs)}`;
}

export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  if (Math.abs(s) >= 100) return `${Math.round(s)} s`;
  return `${Number(s.toFixed(Math.abs(s) >= 10 ? 1 : 2))} s`;
}

function fmtDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : fmtSeconds(ms);
}

function fmtNumber(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

function darker(outcome: TimelineSpan['outcome']): string {
  return outcome === 'ok' ? '#2b8a3e' : outcome === 'running' ? '#495057' : '#c92a2a';
}

function truncate(s: string, max: number): string {
  const limit = Math.max(4, Math.floor(max));
  return s.length > limit ? `${s.slice(0, limit - 1)}…` : s;
}

/** Splits text into at most `maxLines` lines of about `width` characters; the last one is cut with an ellipsis. */
function wrap(s: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current || lines.length === 0) lines.push(current);
  if (lines.length <= maxLines) return lines.map((l) => truncate(l, width));
  return [...lines.slice(0, maxLines - 1), truncate(lines.slice(maxLines - 1).join(' '), width)].map((l) => truncate(l, width));
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function n(v: number): string {
  return Number(v.toFixed(1)).toString();
}

interface TextStyle {
  size: number;
  fill?: string;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'bold';
  style?: 'italic';
}

function text(x: number, y: number, content: string, s: TextStyle): string {
  const attrs = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${s.size}"`,
    `fill="${s.fill ?? '#212529'}"`,
    s.anchor && s.anchor !== 'start' ? `text-anchor="${s.anchor}"` : '',
    s.weight ? `font-weight="${s.weight}"` : '',
    s.style ? `font-style="${s.style}"` : '',
  ].filter(Boolean);
  return `<text ${attrs.join(' ')}>${esc(content)}</text>`;
}

/** Escapes text for XML content and attribute values, dropping characters XML 1.0 forbids. */
export function esc(s: string): string {
  return String(s)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
