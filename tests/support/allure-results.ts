/** The test results an inner `clusterproof run` wrote (Allure result files), reduced to what project tests assert on. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface InnerResult {
  /** the catalogue id of the suite file it came from (suites/<id>.test.ts) */
  suite: string;
  name: string;
  status: 'passed' | 'failed' | 'broken' | 'skipped' | 'unknown';
  message?: string;
  /** why it was skipped, as the fixtures recorded it (the result's "Skipped: …" description) */
  skipReason?: string;
}

export function readInnerResults(dir: string): InnerResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        name: string;
        fullName?: string;
        status: InnerResult['status'];
        statusDetails?: { message?: string };
        description?: string;
      };
      const skipped = /^Skipped: ([\s\S]*)$/.exec(r.description ?? '');
      return {
        suite: /suites\/(.+)\.test\.ts#/.exec(r.fullName ?? '')?.[1] ?? '?',
        name: r.name,
        status: r.status,
        message: r.statusDetails?.message,
        skipReason: skipped?.[1],
      };
    });
}
