import { describe, expect, test } from 'vitest';
import { simulateDrain, type NodeFacts, type PodFacts } from '../../core/preflight/drain.ts';

const GiB = 1024 ** 3;
const node = (name: string, extra: Partial<NodeFacts> = {}): NodeFacts => ({
  name,
  ready: true,
  unschedulable: false,
  labels: { 'kubernetes.io/hostname': name },
  taints: [],
  allocatable: { cpuMilli: 4000, memoryBytes: 8 * GiB, pods: 110 },
  ...extra,
});
const cp = (name: string) => node(name, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
const pod = (name: string, nodeName: string, extra: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'app1-nginx',
  name,
  node: nodeName,
  phase: 'Running',
  labels: { app: 'nginx' },
  owner: { kind: 'Deployment', name: 'nginx' },
  requests: { cpuMilli: 100, memoryBytes: 64 * 1024 ** 2 },
  tolerations: [],
  nodeSelector: {},
  requiredAntiAffinity: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'nginx' } }, namespaces: [] }],
  mirror: false,
  ...extra,
});

// the seed's shape: 3 tainted control planes, 2 workers, nginx 2 replicas with required anti-affinity
const nodes = [cp('cp1'), cp('cp2'), cp('cp3'), node('w1'), node('w2')];
const nginx = [pod('nginx-a', 'w1'), pod('nginx-b', 'w2')];
const deployments = [{ kind: 'Deployment', namespace: 'app1-nginx', name: 'nginx', replicas: 2 }];

describe('drain simulation', () => {
  test("the seed's nginx: draining either worker leaves a replica Pending, naming the rule and the Deployment", () => {
    for (const [drained, other] of [['w1', 'w2'], ['w2', 'w1']] as const) {
      const plan = simulateDrain(drained, nodes, nginx, [], deployments);
      expect(plan.findings).toHaveLength(1);
      const f = plan.findings[0]!;
      expect(f.severity).toBe('warning');
      expect(f.message).toContain(`draining ${drained} leaves 1 of 2 replicas of Deployment app1-nginx/nginx Pending until ${drained} returns (1 keep running)`);
      expect(f.message).toContain(`${other}: required podAntiAffinity (topologyKey kubernetes.io/hostname, app=nginx) of Deployment app1-nginx/nginx`);
      expect(f.message).toContain('cp1, cp2, cp3: taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated');
    }
  });

  test('a single replica moves to the other worker, with a warning that it serves nothing meanwhile', () => {
    const redis = pod('redis-a', 'w1', { namespace: 'app2-redis', labels: { app: 'redis' }, owner: { kind: 'Deployment', name: 'redis' }, requiredAntiAffinity: [] });
    const plan = simulateDrain('w1', nodes, [redis], [], [{ kind: 'Deployment', namespace: 'app2-redis', name: 'redis', replicas: 1 }]);
    expect(plan.moves).toEqual([{ pod: 'app2-redis/redis-a', to: 'w2' }]);
    expect(plan.findings.map((f) => `${f.severity}: ${f.message}`)).toEqual([
      'warning: draining w1 moves every replica of Deployment app2-redis/redis (1) to w2: it serves nothing from the eviction until a replica is ready there',
    ]);
  });

  test('replicas spread over both workers move without a finding', () => {
    const web = (name: string, n: string) => pod(name, n, { namespace: 'web', labels: { app: 'web' }, owner: { kind: 'Deployment', name: 'web' }, requiredAntiAffinity: [] });
    const plan = simulateDrain('w1', nodes, [web('web-a', 'w1'), web('web-b', 'w2')], [], [{ kind: 'Deployment', namespace: 'web', name: 'web', replicas: 2 }]);
    expect(plan.findings).toEqual([]);
  });

  test('a workload whose every replica is stuck on the drained node blocks', () => {
    const big = pod('db-0', 'w1', { namespace: 'db', labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' }, requiredAntiAffinity: [], requests: { cpuMilli: 3900, memoryBytes: GiB } });
    const busy = pod('other', 'w2', { namespace: 'x', labels: { app: 'x' }, owner: { kind: 'Deployment', name: 'x' }, requiredAntiAffinity: [], requests: { cpuMilli: 500, memoryBytes: GiB } });
    const plan = simulateDrain('w1', nodes, [big, busy], [], [{ kind: 'StatefulSet', namespace: 'db', name: 'db', replicas: 1 }]);
    expect(plan.findings.map((f) => f.severity)).toEqual(['blocker']);
    expect(plan.findings[0]!.message).toMatch(/StatefulSet db\/db .*w2: requests cpu 3900m, 3500m free.*no replica left/);
  });

  test('a PodDisruptionBudget allowing no disruption stalls the drain', () => {
    const pdb = { namespace: 'app1-nginx', name: 'nginx', selector: { matchLabels: { app: 'nginx' } }, disruptionsAllowed: 0 };
    const plan = simulateDrain('w1', nodes, nginx, [pdb], deployments);
    expect(plan.findings[0]).toMatchObject({ severity: 'blocker' });
    expect(plan.findings[0]!.message).toContain('PodDisruptionBudget app1-nginx/nginx allows 0 disruptions and covers app1-nginx/nginx-a');
  });

  test('DaemonSet and mirror pods stay; a pod without a controller is deleted for good', () => {
    const ds = pod('speaker-x', 'w1', { owner: { kind: 'DaemonSet', name: 'speaker' }, requiredAntiAffinity: [] });
    const mirror = pod('static', 'w1', { owner: undefined, mirror: true, requiredAntiAffinity: [] });
    const bare = pod('bare', 'w1', { owner: undefined, requiredAntiAffinity: [] });
    const plan = simulateDrain('w1', nodes, [ds, mirror, bare], [], []);
    expect(plan.findings.map((f) => f.message)).toEqual([expect.stringContaining('app1-nginx/bare on w1 has no controller')]);
  });

  test('a toleration lets a pod onto a tainted node', () => {
    const tolerant = pod('t', 'w1', { labels: { app: 't' }, owner: { kind: 'Deployment', name: 't' }, requiredAntiAffinity: [], tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] });
    const plan = simulateDrain('w1', [cp('cp1'), node('w1')], [tolerant], [], []);
    expect(plan.moves).toEqual([{ pod: 'app1-nginx/t', to: 'cp1' }]);
  });
});
