/**
 * Where a negative control's inner run keeps its Allure results: a directory per control beside the lab's logs,
 * emptied by each run of that control, so a failure can be read afterwards and the report's browser test can build a
 * report holding a real failing experiment (vip-disabled's).
 */
import { join } from 'node:path';
import { labPaths } from '../../providers/lab/paths.ts';

export function negativeResultsDir(control: string): string {
  return join(labPaths.logs(), 'negative-results', control);
}

/** The `clusterproof run` arguments that send a control's results there. */
export function negativeResultsArgs(control: string): string[] {
  return ['--results', negativeResultsDir(control), '--clean-results'];
}
