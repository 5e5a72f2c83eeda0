/**
 * The k6-operator (grafana/k6-operator, Apache-2.0): the in-cluster engine. One ConfigMap holds the k6 script and
 * the scenario (files are mounted at /test/, so the script's open() finds the scenario beside it), one TestRun
 * (k6.io/v1alpha1) runs it with the profile's parallelism. The operator reports `finished` even when runners
 * failed their thresholds (its FinishJobs counts a failed Job as finished), so the verdict reads every runner Job.
 * The runner image (grafana/k6) cannot exist on the machine clusterproof is developed on: here the objects are
 * only accepted by a real API server in a server-side dry run (tests/lab/k6-operator-dry-run.test.ts).
 */
import type * as k8s from '@kubernetes/client-node';
import type { Scenario } from '../../core/load/scenario.ts';

export const TESTRUN_API = 'k6.io/v1alpha1';
export const SCRIPT_FILE = 'guestbook.js';
export const SCENARIO_FILE = 'guestbook.scenario.json';

export interface TestRunOptions {
  name: string;
  namespace: string;
  parallelism: number;
  baseUrl: string;
  /** the k6 script's source (k6/guestbook.js) */
  script: string;
  /** runner image; the operator's default is grafana/k6:latest */
  image?: string;
}

export function testRunObjects(scenario: Scenario, o: TestRunOptions): { configMap: k8s.V1ConfigMap; testRun: k8s.KubernetesObject & { spec: Record<string, unknown> } } {
  const labels = { 'app.kubernetes.io/managed-by': 'clusterproof', 'clusterproof.io/load': o.name };
  const configMap: k8s.V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${o.name}-script`, namespace: o.namespace, labels },
    data: { [SCRIPT_FILE]: o.script, [SCENARIO_FILE]: JSON.stringify(scenario, null, 2) },
  };
  const testRun = {
    apiVersion: TESTRUN_API,
    kind: 'TestRun',
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: {
      parallelism: o.parallelism,
      script: { configMap: { name: configMap.metadata!.name!, file: SCRIPT_FILE } },
      // every runner gets an equal segment of the arrival rate; thresholds and handleSummary run per runner
      arguments: `-e BASE_URL=${o.baseUrl} -e SCENARIO=/test/${SCENARIO_FILE} -e SUMMARY=/tmp/clusterproof-summary.json --tag clusterproof_run=${o.name}`,
      separate: false,
      runner: { ...(o.image ? { image: o.image } : {}), metadata: { labels } },
    },
  };
  return { configMap, testRun };
}

export type RunnerVerdict = { ok: true; message: string } | { ok: false; message: string };

/**
 * The run's verdict from its runner Jobs, whatever stage the TestRun reports: every runner must have succeeded
 * (k6 exits 99 when thresholds failed, so that runner's Job fails), and there must be as many as the parallelism.
 */
export function runnerVerdict(jobs: k8s.V1Job[], parallelism: number, stage: string | undefined): RunnerVerdict {
  const runners = jobs.filter((j) => /-\d+$/.test(j.metadata?.name ?? '') && !/-(initializer|starter)$/.test(j.metadata?.name ?? ''));
  if (stage === 'error') return { ok: false, message: `the TestRun is in stage "error" (${runners.length} runner Jobs)` };
  if (runners.length !== parallelism) return { ok: false, message: `${runners.length} runner Jobs, expected ${parallelism} (stage ${stage ?? 'unknown'})` };
  const failedJobs = runners.filter((j) => (j.status?.failed ?? 0) > 0).map((j) => j.metadata!.name!);
  const unfinished = runners.filter((j) => !(j.status?.succeeded ?? 0) && !(j.status?.failed ?? 0)).map((j) => j.metadata!.name!);
  if (failedJobs.length) return { ok: false, message: `runner Jobs failed (k6 exits 99 when a threshold fails): ${failedJobs.join(', ')}; the TestRun says "${stage}"` };
  if (unfinished.length) return { ok: false, message: `runner Jobs still running: ${unfinished.join(', ')}` };
  return { ok: true, message: `${runners.length} runner Jobs succeeded` };
}
