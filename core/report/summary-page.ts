/**
 * The run's summary page (summary.html beside the Allure report): the verdict, what ran where, each failure with its
 * reason and a link into the report, the slowest recoveries against their SLOs, what got slower than the last good
 * run, what was skipped and why, and the faults applied and undone (the fault ledger's account, attached to each
 * result). Self-contained HTML: no script, no external resource, so it opens from a CI artifact as it is.
 */
import { createHash } from 'node:crypto';
import { FAULTS_ATTACHMENT, type ReportedFault } from './attach.ts';
import { classifyFailure, type FailureKind } from './categories.ts';
import type { EnvironmentInfo } from './environment.ts';
import { allAttachments, latestPerExperiment, readAttachment, type ResultFile } from './result-files.ts';
import { describeRegression, describeTolerance, type Tolerance, type Trend } from './trends.ts';
import { esc } from './timeline-svg.ts';

export interface SummaryInput {
  resultsDir: string;
  results: ResultFile[];
  trends: Trend[];
  tolerance: Tolerance;
  environment: EnvironmentInfo;
  reportName: string;
}

const KIND_NAMES: Record<FailureKind, string> = {
  'property-violation': 'property violation',
  'infrastructure-flake': 'infrastructure flake',
  'harness-error': 'harness error',
};

/** Where a result opens in the Allure report: Allure 3 names each result by the md5 of its uuid (the browser test holds it to that). */
export function reportLink(uuid: string): string {
  return `index.html#${createHash('md5').update(uuid).digest('hex')}`;
}

const firstLine = (s: string | undefined) => (s ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
const pathOf = (r: ResultFile) => [...(r.result.titlePath ?? []), r.result.name].join(' › ');

export function renderSummaryPage(input: SummaryInput): string {
  const results = latestPerExperiment(input.results);
  const count = (status: string) => results.filter((r) => r.result.status === status).length;
  const failures = results.filter((r) => r.result.status === 'failed' || r.result.status === 'broken');
  const skipped = results.filter((r) => r.result.status === 'skipped');
  const verdict = failures.length ? 'FAILED' : count('passed') ? 'PASSED' : 'NOTHING RAN';
  const regressions = input.trends.filter((t) => t.regression);

  const sections: string[] = [];
  sections.push(
    `<header class="${verdict === 'PASSED' ? 'ok' : 'bad'}"><h1>${esc(verdict)}</h1><p>${esc(input.reportName)}: ${count('passed')} passed, ` +
      `${failures.length} failed, ${skipped.length} skipped; ${regressions.length} measurement(s) slower than the last good run. ` +
      `<a href="index.html">Open the full report</a></p></header>`,
  );

  const env = Object.entries(input.environment).filter(([k]) => !k.startsWith('clusterproof.') && k !== 'node.version');
  sections.push(
    section('What ran where', env.length ? table(['', ''], env.map(([k, v]) => [esc(k), esc(v)])) : '<p>The results record no target.</p>'),
  );

  sections.push(
    section(
      `Failures (${failures.length})`,
      failures.length
        ? table(
            ['experiment', 'kind', 'reason'],
            failures.map((r) => {
              const message = r.result.statusDetails?.message ?? '';
              const kind = classifyFailure({ status: r.result.status ?? '', message, trace: r.result.statusDetails?.trace });
              return [`<a href="${esc(reportLink(r.result.uuid))}">${esc(pathOf(r))}</a>`, esc(kind ? KIND_NAMES[kind] : ''), esc(firstLine(message))];
            }),
          )
        : '<p>None.</p>',
    ),
  );

  const measured = input.trends
    .map((t) => ({ t, now: t.points.at(-1)! }))
    .sort((a, b) => share(b.t, b.now.seconds) - share(a.t, a.now.seconds))
    .slice(0, 10);
  sections.push(
    section(
      'Slowest recoveries against their SLOs',
      measured.length
        ? table(
            ['experiment', 'measurement', 'took', 'SLO', 'of the SLO'],
            measured.map(({ t, now }) => {
              const used = share(t, now.seconds);
              return [
                esc(t.path.join(' › ')),
                esc(t.measurement),
                now.seconds === null ? '<b>never</b>' : `${now.seconds.toFixed(1)} s`,
                t.sloSeconds === undefined ? '' : `${t.sloSeconds} s <small>${esc(t.sloName ?? '')}</small>`,
                t.sloSeconds === undefined ? '' : bar(used),
              ];
            }),
          )
        : '<p>No SLO measurement in these results.</p>',
    ),
  );

  sections.push(
    section(
      `Slower than the last good run (${regressions.length})`,
      (regressions.length ? `<ul>${regressions.map((t) => `<li>${esc(t.path.join(' › '))}: ${esc(describeRegression(t))}</li>`).join('')}</ul>` : '<p>None.</p>') +
        `<p><small>A regression is ${esc(describeTolerance(input.tolerance))}.</small></p>`,
    ),
  );

  sections.push(
    section(
      `Skipped (${skipped.length})`,
      skipped.length ? table(['experiment', 'why'], skipped.map((r) => [esc(pathOf(r)), esc((r.result.description ?? '').replace(/^Skipped: /, '') || 'no reason recorded')])) : '<p>None.</p>',
    ),
  );

  const faults = results.flatMap((r) => faultsOf(input.resultsDir, r).map((f) => ({ r, f }))).sort((a, b) => (a.f.appliedAt ?? a.f.recordedAt).localeCompare(b.f.appliedAt ?? b.f.recordedAt));
  sections.push(
    section(
      `Faults applied and undone (${faults.length})`,
      faults.length
        ? table(
            ['experiment', 'fault', 'applied', 'undone'],
            faults.map(({ r, f }) => [
              esc(pathOf(r)),
              esc(f.description),
              esc(time(f.appliedAt) || 'not applied'),
              f.undoneAt ? esc(`${time(f.undoneAt)} (${f.undo})`) : `<b class="badtext">NOT UNDONE${f.error ? `: ${esc(f.error)}` : ''}</b> (run <code>clusterproof recover</code>)`,
            ]),
          )
        : '<p>No fault was applied.</p>',
    ),
  );

  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(input.reportName)}: ${esc(verdict)}</title><style>${CSS}</style></head><body>${sections.join('\n')}</body></html>\n`;
}

function faultsOf(resultsDir: string, r: ResultFile): ReportedFault[] {
  const attachment = allAttachments(r.result).find((a) => a.name === FAULTS_ATTACHMENT);
  const text = attachment && readAttachment(resultsDir, attachment);
  try {
    return text ? (JSON.parse(text) as ReportedFault[]) : [];
  } catch {
    return [];
  }
}

/** how much of its SLO a measurement used; a wait that never ended first */
function share(t: Trend, seconds: number | null): number {
  if (seconds === null) return Infinity;
  return t.sloSeconds ? seconds / t.sloSeconds : 0;
}

function bar(used: number): string {
  if (!Number.isFinite(used)) return '<b class="badtext">never recovered</b>';
  const pct = Math.round(used * 100);
  return `<span class="bar"><span style="width:${Math.min(100, pct)}%" class="${used > 1 ? 'over' : used > 0.8 ? 'near' : ''}"></span></span> ${pct} %`;
}

const time = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`;
}

function table(head: string[], rows: string[][]): string {
  const th = head.some((h) => h) ? `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : '';
  return `<table>${th}<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const CSS = `
body{font-family:DejaVu Sans,Liberation Sans,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#212529}
header{border-radius:6px;padding:8px 16px;margin-bottom:16px}header.ok{background:#ebfbee;border:1px solid #2b8a3e}
header.bad{background:#fff5f5;border:1px solid #c92a2a}h1{margin:4px 0}h2{font-size:17px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #f1f3f5;padding:4px 8px;text-align:left;vertical-align:top}
.bar{display:inline-block;width:120px;height:10px;background:#f1f3f5;border-radius:3px;vertical-align:middle}
.bar span{display:block;height:10px;background:#51cf66;border-radius:3px}.bar span.near{background:#fcc419}.bar span.over{background:#fa5252}
.badtext{color:#c92a2a}small{color:#868e96}code{background:#f1f3f5;padding:0 3px}`;
