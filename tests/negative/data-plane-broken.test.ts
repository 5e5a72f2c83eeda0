/**
 * Negative control for conformance/data-plane, on the running lab: with the cluster DNS scaled to nothing, and a
 * Service whose target port no container listens on, the suite must fail twice, naming what broke: the Service names
 * that do not resolve, and the Service ports that refuse connections. The LoadBalancer check still passes.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { openTargetFile as openTarget, type Target } from '../../fixtures/targets/index.ts';
import { scaleWorkload } from '../../fixtures/workloads.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();
const coredns = { kind: 'Deployment' as const, namespace: 'kube-system', name: 'coredns' };
const broken: k8s.V1Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'nowhere', namespace: 'app1-nginx' },
  // the nginx pods, on a port none of their containers listens on
  spec: { selector: { 'app.kubernetes.io/name': 'nginx' }, ports: [{ name: 'http', port: 80, targetPort: 8081 }] },
};

describe.skipIf(skip)('negative control: cluster DNS down and a Service on a dead port', () => {
  let target: Target;
  let replicas = 2;

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    target = await openTarget(labPaths.profile());
    replicas = (await target.kube.apps.readNamespacedDeployment({ namespace: coredns.namespace, name: coredns.name })).spec?.replicas ?? 2;
    await scaleWorkload(target.kube, coredns, 0);
    await target.kube.core.createNamespacedService({ namespace: broken.metadata!.namespace!, body: broken });
    await eventually(
      'no CoreDNS pod left',
      async () => {
        const pods = (await target.kube.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })).items;
        return pods.length ? pending(`${pods.length} CoreDNS pod(s) still there`) : succeeded();
      },
      { timeoutMs: 60_000 },
    );
  }, 300_000);

  afterAll(async () => {
    await target.kube.core.deleteNamespacedService({ namespace: broken.metadata!.namespace!, name: broken.metadata!.name! }).catch(() => undefined);
    await scaleWorkload(target.kube, coredns, replicas);
    await eventually(
      `CoreDNS back at ${replicas} ready replicas`,
      async () => {
        const d = await target.kube.apps.readNamespacedDeployment({ namespace: coredns.namespace, name: coredns.name });
        return (d.status?.readyReplicas ?? 0) === replicas ? succeeded() : pending(`${d.status?.readyReplicas ?? 0}/${replicas} ready`);
      },
      { timeoutMs: 120_000 },
    );
  }, 180_000);

  test('conformance/data-plane fails, naming the names that do not resolve and the ports that refuse', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'conformance/data-plane', ...negativeResultsArgs('data-plane-broken')]);
    expect(code).toBe(1);
    expect(output).toMatch(/Service names resolve: still pending after 60\.0 s: .*nginx\.app1-nginx\.svc\.cluster\.local did not resolve/);
    expect(output).toMatch(/Services answer from inside: still pending after 60\.0 s: .*app1-nginx\/nowhere:http endpoint nginx-[a-z0-9-]+ [0-9.]+:8081: nc: can't connect .*Connection refused/);
    expect(output).toMatch(/1 passed, 2 failed, 0 skipped/);
  }, 600_000);
});
