/**
 * The lab's real workers (the default `lab up`), end to end: w1 and w2 are kubelets on containerd, the gitops apps
 * run as real containers (nginx one per worker, redis, three guestbooks that are Ready only while they reach redis by
 * its cluster DNS name), an entry written through one guestbook replica is read back through another, `kubectl logs`
 * and `kubectl exec` reach the containers through the kubelet's serving certificate, each worker refuses to send
 * packets out of the lab range, and power-off through the Proxmox-compatible endpoint leaves nothing of the node
 * running, its pods come back on power-on. (The suites that need the data plane, ha/lb-failover among them, run in
 * tests/lab/suites-on-lab.test.ts.) The lab stays up for the node-freeze and lab-down tests; the latter proves the
 * real workers' teardown leaves nothing behind.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { nodesReady } from '../../fixtures/checks.ts';
import { openTargetFile as openTarget, type Target } from '../../fixtures/targets/index.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { componentBinary, DEFAULT_KUBERNETES_VERSION } from '../../bootstrap/lab/build/index.ts';
import { workerCgroup, execInWorker } from '../../bootstrap/lab/worker/worker-node.ts';
import { egressGuarded } from '../../bootstrap/lab/worker/egress-guard.ts';
import { mountNsFile, isMountPoint } from '../../bootstrap/lab/worker/mount-namespace.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { projectRoot, runCli } from '../support/cli.ts';

const run = promisify(execFile);

const skip = labSkipReason();

async function podsOf(target: Target, namespace: string, selector: string): Promise<k8s.V1Pod[]> {
  return (await target.kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe.skipIf(skip)(`the lab with real workers${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let target: Target;
  let kubectl: (...args: string[]) => Promise<string>;

  beforeAll(async () => {
    expect((await runCli(['lab', 'down'])).code).toBe(0);
    const up = await runCli(['lab', 'up', '--workers', 'real']);
    expect(up.code, up.output.slice(-2000)).toBe(0);
    target = await openTarget(labPaths.profile());
    const kubeconfig = `${labPaths.pki()}/admin.kubeconfig`;
    kubectl = async (...args) => (await run(componentBinary('kubectl'), ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 })).stdout;
  }, 600_000);

  test('w1 and w2 are kubelets on containerd; the control planes stay kwok; lab status says which is which', async () => {
    const nodes = await target.kube.nodes();
    const info = (name: string) => nodes.find((n) => n.metadata?.name === name)!.status!.nodeInfo!;
    for (const w of ['w1', 'w2']) {
      expect(info(w).kubeletVersion).toBe(DEFAULT_KUBERNETES_VERSION);
      expect(info(w).containerRuntimeVersion).toBe('containerd://2.0.14');
    }
    expect(info('cp1').kubeletVersion).toMatch(/kwok/);
    const { stdout } = await run(process.execPath, [`${projectRoot}/bin/clusterproof.mjs`, 'lab', 'status', '--json'], { timeout: 60_000 });
    const status = JSON.parse(stdout) as {
      nodes: Array<{ name: string; kubelet: string; components: Array<{ name: string; running: boolean }> }>;
    };
    expect(status.nodes.map((n) => `${n.name}:${n.kubelet}`)).toEqual(['cp1:kwok', 'cp2:kwok', 'cp3:kwok', 'w1:real', 'w2:real']);
    expect(status.nodes.find((n) => n.name === 'w1')!.components.map((c) => `${c.name}:${c.running}`)).toEqual([
      'api-lb:true',
      'containerd:true',
      'kubelet:true',
      'kube-proxy:true',
    ]);
  });

  test('the apps are real containers: nginx one per worker, redis, three guestbooks Ready through redis by its DNS name', async () => {
    const nginx = await podsOf(target, 'app1-nginx', 'app.kubernetes.io/name=nginx');
    expect(nginx.filter(ready).map((p) => p.spec?.nodeName).sort()).toEqual(['w1', 'w2']);
    expect((await podsOf(target, 'app2-redis', 'app.kubernetes.io/name=redis')).filter(ready)).toHaveLength(1);
    const guestbooks = await podsOf(target, 'app3-guestbook', 'app.kubernetes.io/name=guestbook');
    expect(guestbooks.filter(ready)).toHaveLength(3);
    for (const p of [...nginx, ...guestbooks]) {
      expect(p.status?.containerStatuses?.[0]?.containerID, p.metadata?.name).toMatch(/^containerd:\/\//);
      expect(p.status?.podIP, p.metadata?.name).toMatch(/^198\.19\.(64|65)\./);
    }
  });

  test('an entry written through one guestbook replica is read back through another (kept in redis)', async () => {
    const [a, b] = (await podsOf(target, 'app3-guestbook', 'app.kubernetes.io/name=guestbook')).filter(ready);
    const entry = `real-${Date.now().toString(36)}`;
    const pushed = await fetch(`http://${a!.status!.podIP}/rpush/guestbook/${entry}`, { signal: AbortSignal.timeout(5000) });
    expect(pushed.status).toBe(200);
    expect(pushed.headers.get('x-served-by')).toBe(a!.metadata!.name);
    const read = await fetch(`http://${b!.status!.podIP}/lrange/guestbook`, { signal: AbortSignal.timeout(5000) });
    expect(read.headers.get('x-served-by')).toBe(b!.metadata!.name);
    expect(await read.json()).toContain(entry);
  });

  test('kubectl logs and kubectl exec reach the containers (kubelet serving certificate from the lab CA)', async () => {
    const [nginx] = (await podsOf(target, 'app1-nginx', 'app.kubernetes.io/name=nginx')).filter(ready);
    const logs = await kubectl('-n', 'app1-nginx', 'logs', nginx!.metadata!.name!);
    expect(logs).toMatch(/GET \/ HTTP/);
    const version = await run(componentBinary('kubectl'), ['--kubeconfig', `${labPaths.pki()}/admin.kubeconfig`, '-n', 'app1-nginx', 'exec', nginx!.metadata!.name!, '--', '/usr/sbin/nginx', '-v'], {
      timeout: 60_000,
    });
    expect(version.stderr).toMatch(/nginx version: nginx\/1\.22\.1/);
  });

  test('each worker rejects packets for anything outside the lab range, at once', async () => {
    for (const w of ['w1', 'w2']) {
      expect(await egressGuarded(w), `${w} egress guard`).toBe(true);
      // 192.0.2.1 (TEST-NET-1): the node's own OUTPUT chain rejects the connect, so no packet leaves the namespace
      const started = performance.now();
      const probe = await execInWorker(w, ['timeout', '5', 'bash', '-c', 'exec 3<>/dev/tcp/192.0.2.1/80']);
      expect(probe.code, `${w}: ${probe.stderr}`).not.toBe(0);
      expect(probe.stderr, w).toMatch(/unreachable|prohibited|refused/i);
      expect(performance.now() - started, `${w}: rejected at once, not timed out`).toBeLessThan(3000);
    }
  });

  test("power-off kills every process of the node's cgroup subtree and drops its mounts; power-on brings its pods back", async () => {
    const w1 = target.profile.nodes.find((n) => n.name === 'w1')!;
    const cgroup = workerCgroup('w1');
    const onW1 = async () => (await podsOf(target, 'app1-nginx', 'app.kubernetes.io/name=nginx')).find((p) => p.spec?.nodeName === 'w1');
    const before = (await onW1())!;
    const containerBefore = before.status!.containerStatuses![0]!.containerID;
    expect((await fetch(`http://${before.status!.podIP}/`, { signal: AbortSignal.timeout(3000) })).status).toBe(200);
    expect(cgroup.pids().length).toBeGreaterThan(5);
    await target.nodeControl!.powerOff(w1);
    try {
      expect(cgroup.pids(), 'processes left in /clusterproof/w1 after power-off').toEqual([]);
      expect(isMountPoint(mountNsFile('w1')), 'w1 mount namespace after power-off').toBe(false);
      const served = await fetch(`http://${before.status!.podIP}/`, { signal: AbortSignal.timeout(2000) }).then(
        () => 'answered',
        () => 'no answer',
      );
      expect(served, `nginx on w1 (${before.status!.podIP}) while w1 is off`).toBe('no answer');
    } finally {
      await target.nodeControl!.powerOn(w1);
    }
    await eventually('w1 Ready again', nodesReady(target.kube, ['w1']), { timeoutMs: 120_000 });
    await eventually(
      'nginx on w1 restarted in a new container after the power cycle, Ready and serving',
      async () => {
        const pod = await onW1();
        const id = pod?.status?.containerStatuses?.[0]?.containerID;
        if (!pod || !ready(pod) || !id || id === containerBefore) return pending(`${pod?.metadata?.name ?? 'no pod on w1'} ${id ?? ''}`);
        const ok = await fetch(`http://${pod.status!.podIP}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
        return ok ? succeeded(`${pod.metadata!.name} ${id.slice(0, 25)}`) : pending(`${pod.metadata!.name} Ready but not answering yet`);
      },
      { timeoutMs: 180_000 },
    );
  }, 400_000);
});
