/**
 * The project's tests share one machine-wide lab, so their files run in a fixed order (and one at a time):
 * tests that need the lab down first (network, PKI), then everything that does not touch the lab, then the
 * lab end to end (it brings the lab up), the suites and negative controls on it, the real workers and freeze/thaw,
 * and last the test that takes it down and proves nothing was left behind.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ORDER: Array<[RegExp, number]> = [
  [/tests\/lab\/(network|pki)\.test\.ts$/, 0],
  [/tests\/lab\/lab-up\.test\.ts$/, 2],
  [/tests\/lab\/(suites-on-lab|addons-dry-run|k6-operator-dry-run)\.test\.ts$/, 3],
  // preflight on the normal lab, after the suites whose results its timings check reads, before any lab variant
  [/tests\/(lab\/preflight-on-lab|negative\/preflight-no-go)\.test\.ts$/, 3.5],
  [/tests\/negative\//, 4],
  // brings the lab up with real workers and leaves it so: the lab-down test then proves their teardown too
  [/tests\/lab\/real-workers\.test\.ts$/, 5],
  // needs a lab that is up, and freezes w2 when it runs real workers
  [/tests\/lab\/node-freeze\.test\.ts$/, 6],
  // builds a report from the results the suites and a negative control left on the lab, and opens it in chromium
  [/tests\/report\/report-in-browser\.test\.ts$/, 7],
  // opt-in: leaves the lab upgraded, so only the teardown comes after it
  [/tests\/lab\/upgrade-rehearsal\.test\.ts$/, 8],
  [/tests\/lab\/lab-down\.test\.ts$/, 9],
];

const rank = (file: string) => ORDER.find(([re]) => re.test(file))?.[1] ?? 1;

export default class LabOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(a.moduleId) - rank(b.moduleId) || a.moduleId.localeCompare(b.moduleId));
  }
}
