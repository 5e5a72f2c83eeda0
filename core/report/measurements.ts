/**
 * The SLO measurements of one result, read back from its timeline data attachment: every span timed against an SLO
 * (a wait that ended, or a duration measured from samples), with its value, its bound and where the bound comes from.
 * A wait that never ended has no value: it is kept, so a trend shows the run where recovery did not happen.
 */
import type { TimelineData } from './timeline-data.ts';
import { allAttachments, readAttachment, type AllureResult } from './result-files.ts';

export const TIMELINE_DATA_PREFIX = 'timeline data: ';

export interface Measurement {
  name: string;
  /** null: the wait never ended (timed out, or its check failed) */
  seconds: number | null;
  sloSeconds?: number;
  sloName?: string;
  outcome: 'ok' | 'slo-violated' | 'timed-out' | 'failed';
}

export function timelineOf(resultsDir: string, result: AllureResult): TimelineData | undefined {
  const attachment = allAttachments(result).find((a) => a.name.startsWith(TIMELINE_DATA_PREFIX));
  const text = attachment && readAttachment(resultsDir, attachment);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as TimelineData;
  } catch {
    return undefined;
  }
}

export function measurementsOf(timeline: TimelineData | undefined): Measurement[] {
  const out: Measurement[] = [];
  for (const span of timeline?.spans ?? []) {
    if (span.sloMs === undefined || span.outcome === 'running') continue;
    const ended = span.outcome === 'ok' || span.outcome === 'slo-violated';
    out.push({
      name: span.name,
      seconds: ended && span.endMs !== undefined ? round((span.endMs - span.startMs) / 1000) : null,
      sloSeconds: span.sloMs / 1000,
      sloName: span.sloName,
      outcome: span.outcome,
    });
  }
  return out;
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
