/**
 * The generated single-file Awesome report: its embedded data files, and the removal of the analytics tag
 * Allure 3.18 always adds (a Google Tag Manager script; a report of a homelab must not call out when opened).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const ANALYTICS_LOADER = /\s*<script\b[^>]*\bsrc="https:\/\/www\.googletagmanager\.com\/[^"]*"[^>]*>\s*<\/script>/g;
const ANALYTICS_INLINE = /\s*<script>(?:(?!<\/script>)[\s\S])*?\bgtag\((?:(?!<\/script>)[\s\S])*<\/script>/g;

export function stripAnalytics(html: string): string {
  return html.replace(ANALYTICS_LOADER, '').replace(ANALYTICS_INLINE, '');
}

export function stripAnalyticsInFile(indexHtml: string): boolean {
  const before = readFileSync(indexHtml, 'utf8');
  const after = stripAnalytics(before);
  if (after !== before) writeFileSync(indexHtml, after);
  return after !== before;
}

/** Files the single-file report embeds as `d("path","base64")`: widgets/…, data/test-results/…, data/attachments/…. */
export function embeddedReportFiles(html: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const m of html.matchAll(/\bd\(("(?:[^"\\]|\\.)*"),"([A-Za-z0-9+/=]*)"\)/g)) {
    files.set(JSON.parse(m[1]) as string, Buffer.from(m[2], 'base64'));
  }
  return files;
}
