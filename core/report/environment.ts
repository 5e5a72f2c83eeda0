/**
 * Environment info shown on the report's overview (target, profile, component versions). Allure 3 still reads
 * the Allure 2 `environment.properties` file from a results directory and shows it in the Awesome report, so that
 * is where it goes: anything that produces results (a suite run, the lab) can add to it, and `clusterproof report`
 * adds what it is given before generating.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from './redact.ts';

export const ENVIRONMENT_FILE = 'environment.properties';

export type EnvironmentInfo = Record<string, string>;

export function readEnvironment(resultsDir: string): EnvironmentInfo {
  const file = join(resultsDir, ENVIRONMENT_FILE);
  return existsSync(file) ? parseProperties(readFileSync(file, 'utf8')) : {};
}

/** Adds (or replaces) entries in the results' environment file, keeping the ones already there; values are redacted. */
export function writeEnvironment(resultsDir: string, values: EnvironmentInfo): EnvironmentInfo {
  const merged = { ...readEnvironment(resultsDir) };
  for (const [key, value] of Object.entries(values)) {
    if (key.trim() !== '' && value !== undefined) merged[key] = redact(String(value));
  }
  writeFileSync(join(resultsDir, ENVIRONMENT_FILE), formatProperties(merged));
  return merged;
}

export function formatProperties(values: EnvironmentInfo): string {
  const lines = Object.entries(values).map(([k, v]) => `${escapeProperty(k, true)}=${escapeProperty(v, false)}`);
  return `${lines.join('\n')}\n`;
}

function escapeProperty(s: string, isKey: boolean): string {
  let out = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\f/g, '\\f');
  if (isKey) out = out.replace(/([=: #!])/g, '\\$1');
  else out = out.replace(/^([ #!])/, '\\$1');
  return out;
}

/** Java .properties, as Allure reads them: comments, `=`/`:`/space separators, escapes, continued lines. */
export function parseProperties(text: string): EnvironmentInfo {
  const result: EnvironmentInfo = {};
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = pending ? raw.trimStart() : raw;
    const continued = /(^|[^\\])(\\\\)*\\$/.test(line);
    pending += continued ? line.slice(0, -1) : line;
    if (!continued) {
      logical.push(pending);
      pending = '';
    }
  }
  if (pending) logical.push(pending);
  for (const line of logical) {
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    const sep = /^((?:[^\\=: \t\f]|\\.)*)[ \t\f]*(?:[=:][ \t\f]*|(?=[^=:])|$)(.*)$/.exec(trimmed);
    if (!sep) continue;
    result[unescapeProperty(sep[1])] = unescapeProperty(sep[2]);
  }
  return result;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', f: '\f' } as Record<string, string>)[c] ?? c;
  });
}
