/**
 * The lab, end to end as a user meets it: `lab up` through the CLI, then through the VIP: five Ready nodes,
 * three healthy etcd members with one leader; the VIP holder powered off through the lab's Proxmox-compatible
 * endpoint (the homelab's own NodeControl code path) and /readyz answering through the VIP from another node
 * within 75 s; powered back on, the member rejoins with matching raft indexes and the node is Ready again. The
 * gitops stack: the git server, ArgoCD and the MetalLB controller running, the apps deployed by ArgoCD from git.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { all, eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy, nodesReady } from '../../fixtures/checks.ts';
import { openTargetFile as openTarget, type Target } from '../../fixtures/targets/index.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cli = (...args: string[]) => run(process.execPath, [join(root, 'bin/clusterproof.mjs'), ...args], { cwd: root, timeout: 400_000 });
const skip = labSkipReason();

describe.skipIf(skip)(`the lab end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let target: Target;

  beforeAll(async () => {
    const { stdout } = await cli('lab', 'up');
    expect(stdout).toMatch(/lab (up in|already up)/);
    target = await openTarget(labPaths.profile());
  }, 420_000);

  test('lab up is safe to re-run on a running lab', async () => {
    const { stdout } = await cli('lab', 'up');
    expect(stdout).toMatch(/lab already up and ready/);
  }, 200_000);

  test('five nodes are Ready, seen through the VIP', async () => {
    expect(target.kube.server).toBe('https://198.18.40.60:6443');
    await eventually('5 nodes Ready', nodesReady(target.kube, ['cp1', 'cp2', 'cp3', 'w1', 'w2']), { timeoutMs: 60_000 });
    const nodes = await target.kube.nodes();
    const cp = nodes.find((n) => n.metadata?.name === 'cp1')!;
    expect(cp.spec?.taints).toContainEqual(expect.objectContaining({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }));
    expect(cp.metadata?.labels).toHaveProperty('node.kubernetes.io/exclude-from-external-load-balancers');
    expect(nodes.find((n) => n.metadata?.name === 'w1')?.spec?.podCIDR).toBe('198.19.64.0/24');
  });

  test('three healthy etcd members and exactly one leader', async () => {
    await eventually('etcd 3/3', etcdMembersHealthy(target.etcd!, 3), { timeoutMs: 60_000 });
  });

  test('lab status reports every component, the etcd leader and the VIP holder', async () => {
    const { stdout } = await cli('lab', 'status', '--json');
    const status = JSON.parse(stdout) as { up: boolean; nodes: Array<{ components: Array<{ running: boolean }> }>; etcd: { leader?: string }; vip: { holders: string[] } };
    expect(status.up).toBe(true);
    expect(status.nodes.flatMap((n) => n.components).every((c) => c.running)).toBe(true);
    expect(status.etcd.leader).toMatch(/^cp[123]$/);
    expect(status.vip.holders).toHaveLength(1);
  });

  test('the git server, ArgoCD and the MetalLB controller run in their namespaces', async () => {
    const { stdout } = await cli('lab', 'status', '--json');
    const status = JSON.parse(stdout) as { services: Array<{ name: string; ip: string; components: Array<{ name: string; running: boolean }> }> };
    expect(status.services.map((s) => `${s.name}@${s.ip}`)).toEqual(['forge@198.18.40.10', 'addons@198.18.40.20']);
    expect(status.services.flatMap((s) => s.components.filter((c) => !c.running).map((c) => `${s.name}/${c.name}`))).toEqual([]);
    // argocd-server answers its REST API once it has finished starting (lab up waits for the apps, not for it)
    let version = '';
    await eventually(
      'ArgoCD REST API answers /api/version',
      async () => {
        try {
          version = await target.argocd!.apiVersion(5_000);
          return succeeded(version);
        } catch (err) {
          return pending((err as Error).message);
        }
      },
      { timeoutMs: 90_000, maxIntervalMs: 2_000 },
    );
    expect(version).toMatch(/^v3\.2\.11/);
  });

  test('git drives the apps: every Application Synced at the git server\'s head and Healthy, the LoadBalancer address from the pool', async () => {
    const { stdout: head } = await run('git', ['ls-remote', 'http://198.18.40.10/gitops.git', 'refs/heads/main']);
    const sha = head.split(/\s/)[0];
    const apps = await target.argocd!.list();
    expect(apps.map((a) => a.name).sort()).toEqual(['app1-nginx', 'app2-redis', 'app3-guestbook', 'root']);
    for (const a of apps) {
      expect(`${a.name} ${a.sync}/${a.health} ${a.revision}`).toBe(`${a.name} Synced/Healthy ${sha}`);
      expect(a.repoURL).toBe('http://198.18.40.10/gitops.git');
    }
    const svc = await target.kube.core.readNamespacedService({ namespace: 'app3-guestbook', name: 'guestbook' });
    expect(svc.status?.loadBalancer?.ingress?.map((i) => i.ip)).toEqual(['198.18.40.70']);
    const nginx = await target.kube.apps.readNamespacedDeployment({ namespace: 'app1-nginx', name: 'nginx' });
    expect(nginx.metadata?.annotations?.['argocd.argoproj.io/tracking-id']).toMatch(/^app1-nginx:apps\/Deployment:app1-nginx\/nginx/);
  });

  test('VIP holder powered off: /readyz answers through the VIP from another node within 75 s; powered on, it rejoins', async () => {
    const [holder] = await target.vip!.holders();
    const node = target.profile.nodes.find((n) => n.name === holder)!;
    const control = target.nodeControl!;
    const started = performance.now();
    await control.powerOff(node);
    try {
      expect(await control.status(node)).toBe('stopped');
      await eventually(
        '/readyz through the VIP from another node',
        async () => {
          const holders = await target.vip!.holders();
          const ok = holders.length === 1 && holders[0] !== holder && (await target.vip!.readyz(1000)).ok;
          return ok ? { state: 'succeeded', message: `now on ${holders[0]}` } : { state: 'pending', message: `holders: ${holders.join(',') || 'none'}` };
        },
        { timeoutMs: 75_000, intervalMs: 250, maxIntervalMs: 250 },
      );
      console.log(`VIP failover after hard power-off of ${holder}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await control.powerOn(node);
    }
    await eventually(`${holder} rejoins: etcd 3/3 and Ready`, all(etcdMembersHealthy(target.etcd!, 3), nodesReady(target.kube, [holder!])), { timeoutMs: 120_000 });
    await target.etcd!.put!('/clusterproof/lab-test/tick', String(Date.now()));
    await eventually(
      'raft indexes match on every member',
      async () => {
        const members = await target.etcd!.members();
        const idx = members.map((m) => m.raftIndex ?? -1);
        return Math.max(...idx) === Math.min(...idx)
          ? { state: 'succeeded', message: `raft index ${idx[0]}` }
          : { state: 'pending', message: members.map((m) => `${m.name}=${m.raftIndex}`).join(' ') };
      },
      { timeoutMs: 20_000 },
    );
  }, 300_000);
});
