/**
 * One measurement across runs as a self-contained SVG: a value per run (filled: the experiment passed; hollow red:
 * it did not; a cross at the top: it never recovered), the SLO as a dashed line, the last good run ringed and this
 * run in red when it is slower than that beyond the tolerance.
 */
import { describeTolerance, type Tolerance, type Trend } from './trends.ts';
import { esc } from './timeline-svg.ts';

const W = 900;
const H = 260;
const LEFT = 60;
const RIGHT = 24;
const TOP = 56;
const BOTTOM = 48;
const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';


function text(x: number, y: number, s: string, o: { size?: number; fill?: string; anchor?: string; weight?: string } = {}): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${o.size ?? 11}" fill="${o.fill ?? '#212529'}"${o.anchor ? ` text-anchor="${o.anchor}"` : ''}${o.weight ? ` font-weight="${o.weight}"` : ''}>${esc(s)}</text>`;
}

/** A gridline step of 1, 2 or 5 times a power of ten giving four or five lines up to `max`. */
function niceStep(max: number): number {
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
}

export function renderTrendSvg(trend: Trend, tolerance: Tolerance): string {
  const points = trend.points;
  const values = points.map((p) => p.seconds).filter((v): v is number => v !== null);
  const step = niceStep(Math.max(1, ...values, trend.sloSeconds ?? 0) * 1.15);
  const top = Math.ceil((Math.max(1, ...values, trend.sloSeconds ?? 0) * 1.15) / step) * step;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const x = (i: number) => LEFT + 24 + (points.length === 1 ? (plotW - 48) / 2 : (i / (points.length - 1)) * (plotW - 48));
  const y = (s: number) => TOP + plotH - (Math.min(s, top) / top) * plotH;
  const out: string[] = [];
  out.push(text(16, 22, `${trend.measurement}`, { size: 15, weight: 'bold' }));
  const verdict = trend.regression
    ? `this run: ${trend.regression.seconds.toFixed(1)} s, ${Math.round(trend.regression.slowerBy * 100)} % slower than the last good run (${trend.regression.lastGood.seconds.toFixed(1)} s)`
    : `${points.length} run(s); a regression is ${describeTolerance(tolerance)}`;
  out.push(text(16, 40, `${trend.path.join(' > ')} · ${verdict}`, { size: 11, fill: trend.regression ? '#c92a2a' : '#495057' }));
  // axes and gridlines
  for (let s = 0; s <= top + step / 2; s += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(s).toFixed(1)}" y2="${y(s).toFixed(1)}" stroke="#e9ecef"/>`);
    out.push(text(LEFT - 6, y(s) + 4, `${+s.toFixed(2)} s`, { size: 10, fill: '#868e96', anchor: 'end' }));
  }
  if (trend.sloSeconds !== undefined) {
    const sy = y(trend.sloSeconds).toFixed(1);
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${sy}" y2="${sy}" stroke="#e67700" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    out.push(text(LEFT + 4, +sy - 5, `SLO ${trend.sloSeconds} s${trend.sloName ? ` (${trend.sloName})` : ''}`, { size: 10, fill: '#e67700' }));
  }
  const line = points
    .map((p, i) => (p.seconds === null ? null : `${x(i).toFixed(1)},${y(p.seconds).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  if (values.length > 1) out.push(`<polyline points="${line}" fill="none" stroke="#1971c2" stroke-width="1.5"/>`);
  const lastGood = trend.regression?.lastGood;
  points.forEach((p, i) => {
    const cx = x(i).toFixed(1);
    const isNow = i === points.length - 1;
    if (p.seconds === null) {
      const cy = TOP - 6;
      out.push(`<path d="M${+cx - 5},${cy - 5} L${+cx + 5},${cy + 5} M${+cx - 5},${cy + 5} L${+cx + 5},${cy - 5}" stroke="#c92a2a" stroke-width="2"/>`);
      out.push(`<title>${esc(`${p.at}: never (${p.status})`)}</title>`);
      return;
    }
    const cy = y(p.seconds).toFixed(1);
    const passed = p.status === 'passed';
    const fill = isNow && trend.regression ? '#c92a2a' : passed ? '#1971c2' : '#ffffff';
    const stroke = passed && !(isNow && trend.regression) ? '#1971c2' : '#c92a2a';
    out.push(`<circle cx="${cx}" cy="${cy}" r="${isNow ? 5.5 : 4}" fill="${fill}" stroke="${stroke}" stroke-width="2"><title>${esc(`${p.at}: ${p.seconds.toFixed(2)} s (${p.status})`)}</title></circle>`);
    if (lastGood && p.runId === lastGood.runId) out.push(`<circle cx="${cx}" cy="${cy}" r="9" fill="none" stroke="#2b8a3e" stroke-width="1.5"/>`);
    if (isNow || points.length <= 12) out.push(text(+cx, +cy - 10, `${p.seconds.toFixed(1)}`, { size: 10, anchor: 'middle', fill: isNow && trend.regression ? '#c92a2a' : '#495057' }));
  });
  const first = points[0]!;
  const last = points.at(-1)!;
  out.push(text(LEFT, H - 18, first.at.replace('T', ' ').slice(0, 16), { size: 10, fill: '#868e96' }));
  if (points.length > 1) out.push(text(W - RIGHT, H - 18, `this run: ${last.at.replace('T', ' ').slice(0, 16)}`, { size: 10, fill: '#868e96', anchor: 'end' }));
  out.push(text(LEFT, H - 4, '● passed   ○ did not pass   ✕ never recovered   ◎ last good run   - - SLO', { size: 10, fill: '#868e96' }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><rect width="${W}" height="${H}" fill="#ffffff"/>${out.join('')}</svg>`;
}
