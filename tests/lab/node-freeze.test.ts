/**
 * Freeze/thaw on the running lab, through its Proxmox-compatible endpoint and the fault ledger (GuardedNodes, as a
 * suite would): a frozen node keeps every process alive with the same pids (SIGSTOPped, state T, for a kwok node; the
 * whole cgroup subtree FROZEN for a real worker), the endpoint reports it paused, and its heartbeat stops: its Node
 * Lease is not renewed for longer than the renew interval. Thawed, the lease is renewed again by the same processes.
 *
 * The victim is w2 when the lab runs real workers, else a kwok control plane that does not hold the VIP (preferably
 * not the etcd leader either). Runs only on a lab that is already up: it never brings the lab up or down.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labStatus, type LabStatus } from '../../bootstrap/lab/status.ts';
import { workerCgroup } from '../../bootstrap/lab/worker/worker-node.ts';
import { labIsUp } from '../../core/safety/destinations.ts';
import { BlastRadius } from '../../core/safety/blast-radius.ts';
import { consistently, eventually, pending, succeeded } from '../../fixtures/expect/expectation.ts';
import { FaultKit } from '../../fixtures/faults/kit.ts';
import { FaultLedger } from '../../fixtures/faults/ledger.ts';
import { guardWithSignals } from '../../fixtures/faults/signals.ts';
import { GuardedNodes } from '../../fixtures/guarded-nodes.ts';
import { openTargetFile, type Target } from '../../fixtures/targets/index.ts';
import { Timeline } from '../../fixtures/timeline/timeline.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { PveApiError } from '../../providers/proxmox/api-errors.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';

function skipReason(): string | undefined {
  const missing = labSkipReason();
  if (missing) return missing;
  if (!labIsUp() || !existsSync(labPaths.profile())) return 'the lab is not up (this test never brings it up: node bin/clusterproof.mjs lab up)';
  return undefined;
}
const skip = skipReason();

/** A process's comm, state letter (R, S, D, T, ...) and parent pid, from /proc/PID/stat; undefined once it is gone. */
function procInfo(pid: number): { comm: string; state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** The state letter of a process, or 'gone'. */
const procState = (pid: number): string => procInfo(pid)?.state ?? 'gone';

/**
 * The node's lasting processes: every containerd shim and each container's own processes under it. Helpers that the
 * kubelet, containerd or kube-proxy spawn (iptables-restore, runc, CNI plugins, mount) finish on their own, so one
 * that was running at the freeze may legitimately be gone after the thaw.
 */
function lastingProcesses(pids: number[]): Map<number, string> {
  const info = new Map(pids.map((p) => [p, procInfo(p)] as const));
  const shims = new Set(pids.filter((p) => info.get(p)?.comm.startsWith('containerd-shim')));
  // a container's processes descend from its shim, all within the node's cgroup: walk up the parents listed there
  const underShim = (p: number): boolean => {
    for (let cur = info.get(p)?.ppid; cur !== undefined; cur = info.get(cur)?.ppid) if (shims.has(cur)) return true;
    return false;
  };
  return new Map(pids.filter((p) => shims.has(p) || underShim(p)).map((p) => [p, info.get(p)?.comm ?? '?'] as const));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)(`freeze and thaw a lab node${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let target: Target;
  let ledger: FaultLedger;
  let nodes: GuardedNodes;
  let release: () => void;

  beforeAll(async () => {
    target = await openTargetFile(labPaths.profile());
    // a real ledger: if this process dies while the node is frozen, `clusterproof recover` thaws it
    ledger = new FaultLedger({ context: { target } });
    release = guardWithSignals(ledger);
    const timeline = new Timeline('lab node freeze');
    nodes = new GuardedNodes(target.nodeControl!, new FaultKit(ledger, timeline, target), new BlastRadius(target.profile, { destructive: true, quorumLoss: false }), timeline);
  });
  afterAll(async () => {
    const errors = await ledger?.undoAll();
    release?.();
    if (errors?.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  });

  function victim(status: LabStatus): { name: string; real: boolean } {
    if (status.nodes.find((n) => n.name === 'w2')?.kubelet === 'real') return { name: 'w2', real: true };
    const candidates = status.nodes.filter((n) => n.role === 'control-plane' && !status.vip.holders.includes(n.name));
    const pick = candidates.find((n) => n.name !== status.etcd.leader) ?? candidates[0];
    if (!pick) throw new Error(`no control plane without the VIP (holders: ${status.vip.holders.join(', ')})`);
    return { name: pick.name, real: false };
  }

  async function renewTime(node: string): Promise<{ at: number; durationS: number }> {
    const lease = await target.kube.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: node });
    const at = lease.spec?.renewTime;
    if (!at) throw new Error(`Lease kube-node-lease/${node} has no renewTime`);
    return { at: new Date(at).getTime(), durationS: lease.spec?.leaseDurationSeconds ?? 40 };
  }

  test('a frozen node keeps its processes (same pids, stopped or FROZEN) and stops renewing its Lease; thawed, it renews again', async () => {
    const status = await labStatus();
    const { name, real } = victim(status);
    const node = target.profile.nodes.find((n) => n.name === name)!;
    const components = status.nodes.find((n) => n.name === name)!.components;
    expect(components.filter((c) => !c.running), `${name} components not running before the freeze`).toEqual([]);
    const pids = components.map((c) => c.pid!);
    const cgroup = real ? workerCgroup(name) : undefined;

    // the heartbeat is visible before anything is broken: the kubelet (or kwok) renews every leaseDuration / 4
    const first = await renewTime(name);
    const renewMs = (first.durationS * 1000) / 4;
    await eventually(
      `${name} renews its Lease`,
      async () => ((await renewTime(name)).at > first.at ? succeeded() : pending(`renewTime ${new Date(first.at).toISOString()}`)),
      { timeoutMs: renewMs + 5000, intervalMs: 500, maxIntervalMs: 500 },
    );
    const subtree = cgroup?.pids().sort((a, b) => a - b);
    const lasting = subtree ? lastingProcesses(subtree) : undefined;
    if (lasting) expect(lasting.size, `shims and containers among the processes of ${cgroup!.path}`).toBeGreaterThan(0);

    await nodes.freeze(node).catch((err: unknown) => {
      if (err instanceof PveApiError && err.status === 501) {
        throw new Error(`the running lab supervisor does not serve suspend (it predates this code): restart the lab. ${err.message}`);
      }
      throw err;
    });
    try {
      expect(await target.nodeControl!.status(node)).toBe('paused');
      expect(components.map((c) => `${c.name}:${procState(c.pid!) === 'gone' ? 'gone' : 'alive'}`)).toEqual(components.map((c) => `${c.name}:alive`));
      if (cgroup) {
        expect(cgroup.freezerState()).toBe('FROZEN');
        expect(cgroup.pids().sort((a, b) => a - b), `the processes of ${cgroup.path}`).toEqual(subtree);
      } else {
        expect(pids.map(procState), `${name}: ${components.map((c) => c.name).join(', ')}`).toEqual(pids.map(() => 'T'));
      }
      expect((await labStatus()).nodes.find((n) => n.name === name)!.components.map((c) => c.pid)).toEqual(pids);

      // a renewal already on the wire when the node stopped may still land: take the baseline a moment later
      await sleep(1000);
      const frozenAt = (await renewTime(name)).at;
      await consistently(
        `${name}'s Lease is not renewed while it is frozen`,
        async () => {
          const now = (await renewTime(name)).at;
          return now === frozenAt ? succeeded() : { state: 'failed', message: `renewed at ${new Date(now).toISOString()} while frozen` };
        },
        { forMs: renewMs + 4000, intervalMs: 1000 },
      );
      expect(Date.now() - frozenAt, 'ms without a renewal').toBeGreaterThan(Math.max(5000, renewMs));

      await nodes.restore(node);
      expect(await target.nodeControl!.status(node)).toBe('running');
      if (cgroup) expect(cgroup.freezerState()).toBe('THAWED');
      await eventually(
        `${name} renews its Lease again after the thaw`,
        async () => ((await renewTime(name)).at > frozenAt ? succeeded() : pending(`renewTime ${new Date(frozenAt).toISOString()}`)),
        { timeoutMs: renewMs + 10_000, intervalMs: 500, maxIntervalMs: 500 },
      );
      // the same processes renewed it: nothing was restarted
      expect((await labStatus()).nodes.find((n) => n.name === name)!.components.map((c) => c.pid)).toEqual(pids);
      expect(pids.map(procState).filter((s) => s === 'T' || s === 'gone'), `${name} processes stopped or gone after the thaw`).toEqual([]);
      if (subtree && lasting) {
        const goneHelpers = subtree.filter((p) => !lasting.has(p) && procState(p) === 'gone');
        expect(
          [...lasting].filter(([p]) => procState(p) === 'gone').map(([p, comm]) => `${comm}[${p}]`),
          `shims and container processes of ${cgroup!.path} gone after the thaw (helpers that finished meanwhile, not counted: ${goneHelpers.join(', ') || 'none'})`,
        ).toEqual([]);
      }
    } finally {
      // thaws the node if an assertion failed before restore (restore settled the fault otherwise)
      for (const error of await ledger.undoAll()) console.error(error.message);
    }
  }, 90_000);
});
