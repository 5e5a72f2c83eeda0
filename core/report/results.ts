/**
 * The last line of defence before a report is generated: redacts every text file in an Allure results directory
 * in place (test results, containers, text attachments), whoever wrote them. Error messages and stack traces
 * land in the report and in its history, so they are redacted too. Identifiers Allure uses to join results
 * across runs are left alone.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { REDACTED, isSensitiveKey, redact } from './redact.ts';

const TEXT_ATTACHMENT = new Set(['', '.txt', '.log', '.json', '.yaml', '.yml', '.svg', '.xml', '.html', '.csv', '.md', '.properties']);
const MAX_TEXT_BYTES = 64 * 1024 * 1024;
const IDENTITY_FIELDS = new Set(['uuid', 'historyId', 'testCaseId', 'source', 'children', 'type', 'status', 'stage']);

export interface ResultsSummary {
  results: number;
  redactedFiles: number;
}

export function redactResultsDir(resultsDir: string): ResultsSummary {
  let results = 0;
  let redactedFiles = 0;
  for (const name of readdirSync(resultsDir)) {
    const file = join(resultsDir, name);
    const isResult = name.endsWith('-result.json') || name.endsWith('-container.json');
    const isTextAttachment = /-attachment(\.|$)/.test(name) && TEXT_ATTACHMENT.has(extname(name).toLowerCase());
    if (!isResult && !isTextAttachment && name !== 'environment.properties') continue;
    const stat = statSync(file);
    if (!stat.isFile() || stat.size > MAX_TEXT_BYTES) continue;
    const before = readFileSync(file, 'utf8');
    let after: string;
    if (isResult) {
      if (name.endsWith('-result.json')) results++;
      after = redactResultFile(before);
    } else {
      after = redact(before);
    }
    if (after !== before) {
      writeFileSync(file, after);
      redactedFiles++;
    }
  }
  return { results, redactedFiles };
}

function redactResultFile(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    const scrubbed = JSON.stringify(scrub(parsed));
    return scrubbed === JSON.stringify(parsed) ? text : scrubbed;
  } catch {
    return redact(text); // not JSON after all: treat as text
  }
}

function scrub(value: unknown, key?: string): unknown {
  if (key !== undefined && IDENTITY_FIELDS.has(key)) return value;
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  // parameters are {name, value}: a parameter named like a secret loses its value
  const namedSecret = key === undefined && typeof record.name === 'string' && 'value' in record && isSensitiveKey(record.name);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = namedSecret && k === 'value' ? REDACTED : scrub(v, k);
  return out;
}
