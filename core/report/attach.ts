/**
 * Attach evidence to the current Allure test. Everything is redacted first. Outside a test (no Allure runtime,
 * or no current vitest test) allure-js-commons only logs a warning; these helpers never throw, so collecting
 * evidence can never be the reason a test or a teardown fails.
 */
import { ContentType, attachment } from 'allure-js-commons';
import { renderTimelineSvg } from './timeline-svg.ts';
import type { TimelineData } from './timeline-data.ts';
import { redact, redactJson } from './redact.ts';

export async function attachText(name: string, text: string): Promise<void> {
  await safely(name, () => attachment(name, redact(text), { contentType: ContentType.TEXT, fileExtension: 'txt' }));
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await safely(name, () => {
    const json = redact(JSON.stringify(redactJson(value), null, 2) ?? 'null');
    return attachment(name, json, { contentType: ContentType.JSON, fileExtension: 'json' });
  });
}

export async function attachSvg(name: string, svg: string): Promise<void> {
  await safely(name, () => attachment(name, redact(svg), { contentType: ContentType.SVG, fileExtension: 'svg' }));
}

/** The timeline as a chart and as its data; both are made from the redacted data. */
export async function attachTimeline(data: TimelineData): Promise<void> {
  await safely(`timeline: ${data?.experiment}`, async () => {
    const clean = redactJson(data);
    await attachSvg(`timeline: ${clean.experiment}`, renderTimelineSvg(clean));
    await attachJson(`timeline data: ${clean.experiment}`, clean);
  });
}

/** The name the faults of a test are attached under; the run's summary page reads them back from the results. */
export const FAULTS_ATTACHMENT = 'faults applied and undone';

/** One fault as the report shows it (the fault ledger's account of it). */
export interface ReportedFault {
  description: string;
  undo: string;
  recordedAt: string;
  appliedAt?: string;
  undoneAt?: string;
  error?: string;
}

/** The faults a test applied, with when each was undone (or why not); nothing when it applied none. */
export async function attachFaults(faults: readonly ReportedFault[]): Promise<void> {
  if (faults.length) await attachJson(FAULTS_ATTACHMENT, faults);
}

async function safely(name: string, attach: () => PromiseLike<void>): Promise<void> {
  try {
    await attach();
  } catch (err) {
    process.emitWarning(`could not attach "${name}" to the report: ${(err as Error)?.message ?? String(err)}`);
  }
}
