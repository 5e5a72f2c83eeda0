/**
 * The lab's rolling Kubernetes upgrade, node by node, through the same power API a suite uses (the lab's Proxmox
 * endpoint): a node "installs" the new release (node-versions.json) and reboots into it. Control planes go first,
 * the VIP holder last so the VIP moves once; each must answer /readyz with the new version and etcd must be healthy
 * on every member before the next one goes. Then each worker: cordon, evict its pods (the Eviction API, so
 * PodDisruptionBudgets are honoured), reboot into the new kubelet and kube-proxy, wait Ready on the new version,
 * uncordon, and wait for every Deployment to be whole again before the next worker drains.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { buildPaths } from '../../core/build-cache.ts';
import type { NodeSpec, Profile } from '../../core/profile/schema.ts';
import { apiGet } from '../api-get.ts';
import type { EtcdProbe, NodeControl, RollingUpgrade, UpgradeStep, VipProbe } from '../interfaces.ts';
import { KubeAccess } from '../kube.ts';
import { setNodeVersion } from './node-versions.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The binaries a node needs for a release, in the lab's build cache (lab build --kubernetes <version>). */
function missingBinaries(version: string): string[] {
  const dirs = { kubernetes: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'], 'kubernetes-node': ['kubelet', 'kube-proxy'] };
  return Object.entries(dirs).flatMap(([name, bins]) => bins.filter((b) => !existsSync(join(buildPaths.binDir({ name, version }), b))));
}

const minor = (v: string) => Number(/^v?1\.(\d+)\./.exec(v)?.[1] ?? NaN);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${last})` : ''}`);
    await sleep(500);
  }
}

export class LabRollingUpgrade implements RollingUpgrade {
  constructor(
    private readonly kube: KubeAccess,
    private readonly nodes: NodeControl,
    private readonly etcd: EtcdProbe,
    private readonly vip: VipProbe,
    private readonly profile: Profile,
  ) {}

  private get controlPlanes() {
    return this.profile.nodes.filter((n) => n.role === 'control-plane');
  }

  private get workers() {
    return this.profile.nodes.filter((n) => n.role === 'worker');
  }

  private apiserver(n: NodeSpec): string {
    return `https://${n.ip}:${new URL(this.profile.access.kubernetes.server).port || '6443'}`;
  }

  private async apiserverVersion(n: NodeSpec): Promise<string> {
    const res = await apiGet(this.kube, this.apiserver(n), '/version', { timeoutMs: 2000 });
    if (res.status !== 200) throw new Error(`${n.name}: GET /version HTTP ${res.status}`);
    return (JSON.parse(res.body) as { gitVersion: string }).gitVersion;
  }

  async versions(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const cp of this.controlPlanes) out[cp.name] = await this.apiserverVersion(cp).catch((e: Error) => `unknown (${e.message})`);
    for (const n of await this.kube.nodes()) {
      if (this.workers.some((w) => w.name === n.metadata?.name)) out[n.metadata!.name!] = n.status?.nodeInfo?.kubeletVersion ?? 'unknown';
    }
    return out;
  }

  async cannotReach(to: string): Promise<string | undefined> {
    const missing = missingBinaries(to);
    if (missing.length) return `Kubernetes ${to} is not built (${missing.join(', ')}): node bin/clusterproof.mjs lab build --kubernetes ${to}`;
    const current = Object.values(await this.versions());
    const lowest = Math.min(...current.map(minor));
    if (minor(to) < lowest) return `${to} is older than the cluster (${current.join(', ')}): a downgrade is not an upgrade`;
    if (minor(to) > lowest + 1) return `${to} is more than one minor above the cluster's 1.${lowest}: upgrade one minor at a time`;
    return undefined;
  }

  async run(to: string, hooks: { onStepStart?(node: string): void; onStepDone?(step: UpgradeStep): Promise<void> | void } = {}): Promise<UpgradeStep[]> {
    const why = await this.cannotReach(to);
    if (why) throw new Error(why);
    const steps: UpgradeStep[] = [];
    const before = await this.versions();
    // the VIP holder last: the VIP then moves once, and to a control plane that already runs the new release
    const holders = await this.vip.holders();
    const cps = [...this.controlPlanes].sort((a, b) => Number(holders.includes(a.name)) - Number(holders.includes(b.name)));
    for (const cp of cps) {
      if (before[cp.name] === to) continue;
      hooks.onStepStart?.(cp.name);
      const step = await this.turn(cp, 'control-plane', before[cp.name]!, to, async (phase) => {
        await phase(`reboot into ${to}`, () => this.reboot(cp, to));
        await phase(`kube-apiserver on ${cp.name} ready at ${to}`, () =>
          until(`kube-apiserver on ${cp.name} answering /readyz at ${to}`, 120_000, async () => {
            const ready = await apiGet(this.kube, this.apiserver(cp), '/readyz', { timeoutMs: 2000 });
            return ready.status === 200 && (await this.apiserverVersion(cp)) === to ? true : undefined;
          }),
        );
        await phase('etcd healthy on every member', () => this.etcdHealthy());
        await phase(`${cp.name} Ready`, () => this.nodeReady(cp.name));
      });
      steps.push(step);
      await hooks.onStepDone?.(step);
    }
    for (const w of this.workers) {
      if (before[w.name] === to) continue;
      hooks.onStepStart?.(w.name);
      const step = await this.turn(w, 'worker', before[w.name]!, to, async (phase) => {
        await phase(`cordon and drain ${w.name}`, () => this.drain(w.name));
        await phase(`reboot into kubelet and kube-proxy ${to}`, () => this.reboot(w, to));
        await phase(`${w.name} Ready with kubelet ${to}`, () => this.nodeReady(w.name, to));
        await phase(`uncordon ${w.name}`, () => this.setUnschedulable(w.name, false));
        await phase('every Deployment available again', () => this.deploymentsAvailable());
      });
      steps.push(step);
      await hooks.onStepDone?.(step);
    }
    return steps;
  }

  private async turn(
    node: NodeSpec,
    role: UpgradeStep['role'],
    from: string,
    to: string,
    body: (phase: (name: string, fn: () => Promise<unknown>) => Promise<void>) => Promise<void>,
  ): Promise<UpgradeStep> {
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const phases: UpgradeStep['phases'] = [];
    await body(async (name, fn) => {
      const p0 = performance.now();
      try {
        await fn();
      } catch (err) {
        throw new Error(`upgrading ${node.name} to ${to}, ${name}: ${(err as Error).message}`);
      }
      phases.push({ name, seconds: (performance.now() - p0) / 1000 });
    });
    return { node: node.name, role, from, to, startedAt, seconds: (performance.now() - t0) / 1000, phases };
  }

  /** Stop (gracefully, as an upgrade reboots), "install" the release, start on the same data. */
  private async reboot(node: NodeSpec, to: string): Promise<void> {
    await this.nodes.shutdown(node);
    await until(`${node.name} stopped`, 60_000, async () => ((await this.nodes.status(node)) === 'stopped' ? true : undefined));
    setNodeVersion(node.name, to);
    await this.nodes.powerOn(node);
  }

  private async etcdHealthy(): Promise<void> {
    await until('etcd healthy on every member with one leader', 90_000, async () => {
      const m = await this.etcd.members();
      return m.length === this.controlPlanes.length && m.every((x) => x.healthy) && m.filter((x) => x.isLeader).length === 1 ? true : undefined;
    });
  }

  private async nodeReady(name: string, kubelet?: string): Promise<void> {
    await until(`${name} Ready${kubelet ? ` with kubelet ${kubelet}` : ''}`, 180_000, async () => {
      const n = await this.kube.core.readNode({ name });
      return KubeAccess.isReady(n) && (!kubelet || n.status?.nodeInfo?.kubeletVersion === kubelet) ? true : undefined;
    });
  }

  private async setUnschedulable(name: string, unschedulable: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const n = await this.kube.core.readNode({ name });
      n.spec = { ...n.spec, unschedulable };
      try {
        await this.kube.core.replaceNode({ name, body: n });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt > 5) throw err;
      }
    }
  }

  /** kubectl drain's way: cordon, then evict every pod but DaemonSet and mirror pods, retrying what a PDB refuses. */
  private async drain(name: string): Promise<void> {
    await this.setUnschedulable(name, true);
    const onNode = async () =>
      (await this.kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items.filter(
        (p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet') && !p.metadata?.annotations?.['kubernetes.io/config.mirror'] && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
    const refused = new Map<string, string>();
    await until(`every pod evicted from ${name}`, 180_000, async () => {
      const pods = await onNode();
      if (!pods.length) return true;
      for (const p of pods.filter((p) => !p.metadata?.deletionTimestamp)) {
        const body: k8s.V1Eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: p.metadata!.name!, namespace: p.metadata!.namespace! } };
        try {
          await this.kube.core.createNamespacedPodEviction({ name: p.metadata!.name!, namespace: p.metadata!.namespace!, body });
          refused.delete(`${p.metadata!.namespace}/${p.metadata!.name}`);
        } catch (err) {
          // 429: a PodDisruptionBudget refuses it now; kubectl drain retries, so does this
          if ((err as { code?: number }).code !== 429) throw err;
          refused.set(`${p.metadata!.namespace}/${p.metadata!.name}`, 'a PodDisruptionBudget refuses the eviction');
        }
      }
      if (refused.size) throw new Error(`still on ${name}: ${[...refused].map(([pod, why]) => `${pod} (${why})`).join(', ')}`);
      return undefined;
    });
  }

  /** Every Deployment has all its replicas available: the next worker may drain without taking the last one. */
  private async deploymentsAvailable(): Promise<void> {
    await until('every Deployment with all its replicas available', 240_000, async () => {
      const ds = (await this.kube.apps.listDeploymentForAllNamespaces()).items;
      const short = ds.filter((d) => (d.status?.availableReplicas ?? 0) < (d.spec?.replicas ?? 1) || (d.status?.updatedReplicas ?? 0) < (d.spec?.replicas ?? 1));
      if (short.length) throw new Error(short.map((d) => `${d.metadata?.namespace}/${d.metadata?.name} ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1} available`).join(', '));
      return true;
    });
  }
}
