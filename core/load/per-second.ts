/**
 * The load as a time series: per second (by request end), the requests that ended, those that failed, and the
 * latency percentiles of the ones that got an answer; plus the longest stretch in which every request failed
 * (the outage a visitor saw). What the timeline chart draws and what the failover experiments measure.
 */
import type { RequestSample } from './samples.ts';
import { percentile } from './thresholds.ts';

export interface SecondBucket {
  /** start of the bucket, in ms since the load started */
  atMs: number;
  requests: number;
  failed: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

export function perSecond(samples: readonly RequestSample[], elapsedMs: number, bucketMs = 1000): SecondBucket[] {
  const n = Math.max(1, Math.ceil(elapsedMs / bucketMs));
  const durations: number[][] = Array.from({ length: n }, () => []);
  const buckets: SecondBucket[] = Array.from({ length: n }, (_, i) => ({ atMs: i * bucketMs, requests: 0, failed: 0 }));
  for (const s of samples) {
    const i = Math.min(n - 1, Math.max(0, Math.floor(s.atMs / bucketMs)));
    buckets[i]!.requests++;
    if (!s.expected) buckets[i]!.failed++;
    else durations[i]!.push(s.durationMs);
  }
  buckets.forEach((b, i) => {
    const d = durations[i]!.sort((x, y) => x - y);
    if (d.length) Object.assign(b, { p50: percentile(d, 50), p95: percentile(d, 95), p99: percentile(d, 99) });
  });
  return buckets;
}

export interface ErrorWindow {
  /** first failed request of the window (its end), ms since the load started */
  fromMs: number;
  /** last failed request of the window */
  toMs: number;
  failed: number;
}

/**
 * Stretches of failed requests, merged while failures follow each other within `gapMs`; the first and the last
 * failure bound the window. Successes in between do not split it when they are closer than `gapMs` to the next
 * failure (a flapping service is one window).
 */
export function errorWindows(samples: readonly RequestSample[], gapMs = 1000): ErrorWindow[] {
  const failures = samples.filter((s) => !s.expected).map((s) => s.atMs).sort((a, b) => a - b);
  const out: ErrorWindow[] = [];
  for (const t of failures) {
    const last = out.at(-1);
    if (last && t - last.toMs <= gapMs) {
      last.toMs = t;
      last.failed++;
    } else out.push({ fromMs: t, toMs: t, failed: 1 });
  }
  return out;
}
