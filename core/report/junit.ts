/**
 * JUnit XML from the same (redacted, amended) results the Allure report shows, for CI servers that read JUnit: one
 * testsuite per family > suite, one testcase per experiment; a property violation is a <failure>, anything else that
 * broke an <error>; each measurement is a property of its testcase ("61.9 s of 75 s (slo.vipFailoverHardSeconds)"),
 * and so is a regression. A rerun experiment is one testcase, its last result. Written with junit-report-builder, which owns the XML escaping.
 */
import junitModule, { type Builder } from 'junit-report-builder';
import { classifyFailure, REGRESSION_LABEL } from './categories.ts';
import { latestPerExperiment, type ResultFile } from './result-files.ts';

// a CommonJS module compiled from ESM: its builder is `default` under Node's ESM loader, the module itself elsewhere
const junit: Builder = (junitModule as unknown as { default?: Builder }).default ?? (junitModule as unknown as Builder);

export function renderJunit(results: ResultFile[], reportName: string): string {
  const builder = junit.newBuilder().name(reportName);
  const bySuite = new Map<string, ResultFile[]>();
  // an experiment rerun (Allure's retry) is one testcase: its last result, as the report shows it
  for (const r of latestPerExperiment(results)) {
    const path = r.result.titlePath ?? [];
    const suite = path.length ? path.join(' > ') : 'results';
    bySuite.set(suite, [...(bySuite.get(suite) ?? []), r]);
  }
  for (const [name, members] of [...bySuite.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const suite = builder.testSuite().name(name);
    for (const { result } of members) {
      const seconds = result.start && result.stop ? (result.stop - result.start) / 1000 : 0;
      const testCase = suite.testCase().className(name).name(result.name).time(seconds);
      for (const p of result.parameters ?? []) testCase.property(p.name, p.value);
      for (const l of result.labels ?? []) if (l.name === REGRESSION_LABEL) testCase.property('slower than the last good run', l.value);
      const message = result.statusDetails?.message ?? '';
      const trace = result.statusDetails?.trace ?? '';
      const kind = classifyFailure({ status: result.status ?? '', message, trace });
      if (result.status === 'skipped') testCase.skipped();
      else if (kind === 'property-violation') testCase.failure(message, 'property violation').stacktrace(trace);
      // the trace goes in the error's content: junit-report-builder's stacktrace() would also mark the case a <failure>
      else if (kind) testCase.error(message, kind === 'infrastructure-flake' ? 'infrastructure flake' : 'harness error', trace);
    }
  }
  return builder.build();
}
