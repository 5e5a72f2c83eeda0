/**
 * The Allure result files of a results directory as the report steps after the tests read and amend them (the Allure
 * 2 JSON any adapter writes, which Allure 3 reads): the fields clusterproof uses, the attachments wherever they sit
 * (allure-vitest wraps each in a step of its own), and a write-back that keeps every other field as it was.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AllureAttachment {
  name: string;
  source: string;
  type?: string;
}

export interface AllureStep {
  name?: string;
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  start?: number;
  stop?: number;
  steps?: AllureStep[];
  attachments?: AllureAttachment[];
  parameters?: Array<{ name: string; value: string; excluded?: boolean }>;
}

export interface AllureResult extends AllureStep {
  uuid: string;
  name: string;
  fullName?: string;
  historyId?: string;
  testCaseId?: string;
  titlePath?: string[];
  description?: string;
  labels?: Array<{ name: string; value: string }>;
}

export interface ResultFile {
  file: string;
  result: AllureResult;
}

export function readResultFiles(resultsDir: string): ResultFile[] {
  return readdirSync(resultsDir)
    .filter((name) => name.endsWith('-result.json'))
    .sort()
    .map((name) => {
      const file = join(resultsDir, name);
      return { file, result: JSON.parse(readFileSync(file, 'utf8')) as AllureResult };
    });
}

export function writeResultFile({ file, result }: ResultFile): void {
  writeFileSync(file, JSON.stringify(result));
}

/** Every attachment of a result or step, its own and its steps', in order. */
export function allAttachments(step: AllureStep): AllureAttachment[] {
  return [...(step.attachments ?? []), ...(step.steps ?? []).flatMap(allAttachments)];
}

export function readAttachment(resultsDir: string, attachment: AllureAttachment): string | undefined {
  try {
    return readFileSync(join(resultsDir, attachment.source), 'utf8');
  } catch {
    return undefined;
  }
}

export function labelOf(result: AllureResult, name: string): string | undefined {
  return [...(result.labels ?? [])].reverse().find((l) => l.name === name)?.value;
}

/** The history key of a result: Allure's own, else its test case id, else its full name. */
export function historyKey(result: AllureResult): string {
  return result.historyId ?? result.testCaseId ?? result.fullName ?? result.name;
}

/** The last result of each experiment: a rerun (Allure's retry) replaces the earlier one, as the report shows it. */
export function latestPerExperiment(results: ResultFile[]): ResultFile[] {
  const latest = new Map<string, ResultFile>();
  for (const r of results) {
    const key = historyKey(r.result);
    const seen = latest.get(key);
    if (!seen || (r.result.stop ?? 0) >= (seen.result.stop ?? 0)) latest.set(key, r);
  }
  return [...latest.values()];
}
