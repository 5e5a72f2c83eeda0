/**
 * The k6-operator's TestRun CRD (from its Go module, github.com/grafana/k6-operator, the version below) installed
 * on the lab's real API server, and our ConfigMap and TestRun for the shipped scenario accepted in a server-side dry
 * run (schema, defaulting, admission). The runner image cannot exist here, so nothing runs: see k6/README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_SCENARIO_FILE, readScenario } from '../../core/load/bounded.ts';
import { eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { testRunObjects } from '../../providers/load/k6-operator.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { projectRoot, runCli } from '../support/cli.ts';

export const K6_OPERATOR_MODULE = 'github.com/grafana/k6-operator@v1.3.2';
const skip = labSkipReason();

describe.skipIf(skip)(`k6-operator TestRun in a server-side dry run on the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let kc: k8s.KubeConfig;

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(join(labPaths.pki(), 'admin.kubeconfig'));
    const dir = (JSON.parse(execFileSync('go', ['mod', 'download', '-json', K6_OPERATOR_MODULE], { encoding: 'utf8', cwd: '/tmp' })) as { Dir: string }).Dir;
    // the client's own loader: it maps x-kubernetes-int-or-string and friends onto its typed model, which a plain
    // object from another YAML parser would lose on the way out (the API server then refuses the CRD)
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(dir, 'config', 'crd', 'bases', 'k6.io_testruns.yaml'), 'utf8'));
    await k8s.KubernetesObjectApi.makeApiClient(kc).patch(crd, undefined, undefined, 'clusterproof-test', true, k8s.PatchStrategy.ServerSideApply);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await eventually(
      'the TestRun CRD Established',
      async () => {
        const c = await ext.readCustomResourceDefinition({ name: 'testruns.k6.io' });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? succeeded() : pending('not Established yet');
      },
      { timeoutMs: 30_000 },
    );
  }, 600_000);

  test('our ConfigMap and TestRun for the shipped scenario are accepted', async () => {
    const { configMap, testRun } = testRunObjects(readScenario(join(projectRoot, DEFAULT_SCENARIO_FILE)), {
      name: 'clusterproof-guestbook',
      namespace: 'default',
      parallelism: 2,
      baseUrl: 'http://198.18.40.70',
      script: readFileSync(join(projectRoot, 'k6/guestbook.js'), 'utf8'),
    });
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const accepted = [];
    for (const o of [configMap as k8s.KubernetesObject, testRun]) accepted.push(await client.create(o, undefined, 'All'));
    expect(accepted.map((o) => o.kind)).toEqual(['ConfigMap', 'TestRun']);
    expect((accepted[1] as unknown as { spec: { parallelism: number } }).spec.parallelism).toBe(2);
    // an invalid spec is refused by the CRD's schema: the dry run does check
    await expect(client.create({ ...testRun, spec: { ...testRun.spec, parallelism: 'two' } } as k8s.KubernetesObject, undefined, 'All')).rejects.toThrow(/parallelism/);
  }, 60_000);
});
