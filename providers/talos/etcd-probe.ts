/**
 * EtcdProbe for Talos targets, through talosctl against each control-plane node's own address: every call is
 * `talosctl --talosconfig F --nodes <ip> --endpoints <ip> etcd status`, so apid on that node answers with its
 * local etcd member's view, and nothing goes through the VIP ("Don't use the VIP as the endpoint in the
 * talosconfig", Talos v1.11 docs, networking/vip). `etcd members` (the member list as one node sees it) fills
 * in member ids and client URLs, also for nodes that do not answer.
 *
 * A node that does not answer (powered off, apid down, etcd down, timeout) is an unhealthy member carrying the
 * error, never an exception. Exceptions are for what no member can fix: a missing talosctl binary
 * (MissingPrerequisiteError) and the network guard refusing a node address (RefusedError).
 *
 * put/get are not implemented: talosctl v1.11 has no etcd key-value command (its etcd subcommands are alarm,
 * defrag, downgrade, forfeit-leadership, leave, members, remove-member, snapshot, status) and the Talos
 * MachineService API has no key-value RPC either (api/machine/machine.proto: Etcd* RPCs are member list/remove,
 * leave, forfeit leadership, recover, snapshot, alarms, defragment, status, downgrade).
 */
import { UserError } from '../../core/errors.ts';
import { assertDestination } from '../../core/safety/destinations.ts';
import type { EtcdMemberStatus, EtcdProbe } from '../interfaces.ts';
import {
  describeTalosctlFailure,
  NO_LEADER,
  parseEtcdMembers,
  parseEtcdStatus,
  TalosOutputError,
  type TalosEtcdMemberRow,
  type TalosEtcdStatusRow,
} from './etcd-output.ts';
import { ExecTalosctlRunner, type TalosctlResult, type TalosctlRunner } from './talosctl.ts';

export interface TalosEtcdNode {
  /** the Kubernetes node name, as the profile names it: what members() and leader() report */
  name: string;
  /** the node's own address on the LAN (never the VIP) */
  ip: string;
}

export interface TalosEtcdProbeOptions {
  /** absolute path of the talosconfig file */
  talosconfig: string;
  /** the control-plane nodes */
  nodes: TalosEtcdNode[];
  /** the API VIP: refused as a node address */
  vip?: string;
  /** injected in tests; default spawns talosctl */
  runner?: TalosctlRunner;
  /** talosctl binary for the default runner (else $TALOSCTL, PATH, the lab build) */
  talosctl?: string;
  /** per talosctl call (default 2500 ms): bounds how long a powered-off node can hold up a poll */
  timeoutMs?: number;
  /** node addresses outside loopback and the lab: only for a run against a real profile */
  allowRemote?: boolean;
}

export class TalosEtcdProbe implements EtcdProbe {
  private readonly runner: TalosctlRunner;
  private readonly timeoutMs: number;
  /** member id -> member, from the last `etcd members` that answered */
  private memberCache = new Map<string, TalosEtcdMemberRow>();
  private listedAt: number | undefined;

  constructor(private readonly opts: TalosEtcdProbeOptions) {
    if (opts.nodes.length === 0) throw new UserError('the Talos etcd probe needs at least one control-plane node');
    for (const n of opts.nodes) {
      if (opts.vip && n.ip === opts.vip) {
        throw new UserError(`control-plane node ${n.name} has the VIP ${opts.vip} as its address: etcd is probed on each node's own address, never through the VIP`);
      }
    }
    this.runner = opts.runner ?? new ExecTalosctlRunner(opts.talosctl);
    this.timeoutMs = opts.timeoutMs ?? 2500;
  }

  private talosctl(node: TalosEtcdNode, ...command: string[]): Promise<TalosctlResult> {
    assertDestination(node.ip, { allowRemote: this.opts.allowRemote });
    return this.runner.run(['--talosconfig', this.opts.talosconfig, '--nodes', node.ip, '--endpoints', node.ip, ...command], {
      timeoutMs: this.timeoutMs,
    });
  }

  /** The member list as the first node (in profile order) that answers sees it, learners included; [] when none answers. */
  async memberList(): Promise<TalosEtcdMemberRow[]> {
    this.listedAt = performance.now();
    const answers = await Promise.all(
      this.opts.nodes.map(async (node) => {
        try {
          return parseEtcdMembers((await this.talosctl(node, 'etcd', 'members')).stdout);
        } catch (err) {
          if (err instanceof TalosOutputError) return [];
          throw err;
        }
      }),
    );
    const rows = answers.find((a) => a.length > 0) ?? [];
    if (rows.length > 0) this.memberCache = new Map(rows.map((r) => [r.id, r]));
    return rows;
  }

  /** One node's own view of its member, as talosctl printed it (endpoint and id filled in later from the member list). */
  private async statusOf(node: TalosEtcdNode): Promise<EtcdMemberStatus> {
    const result = await this.talosctl(node, 'etcd', 'status');
    const down = (error: string): EtcdMemberStatus => ({ name: node.name, endpoint: '', id: '', healthy: false, isLeader: false, error });
    let rows;
    try {
      rows = parseEtcdStatus(result.stdout);
    } catch (err) {
      if (err instanceof TalosOutputError) return down(`unrecognised talosctl etcd status output (${err.message}); is talosctl v1.9-v1.12?`);
      throw err;
    }
    const row = rows.find((r) => r.node === node.ip) ?? (rows.length === 1 ? rows[0] : undefined);
    if (!row) return down(describeTalosctlFailure(result, this.timeoutMs));
    return memberStatusFromRow(node.name, row);
  }

  /** The client URL the status came from and, for a member that did not answer, its id from the member list. */
  private enrich(status: EtcdMemberStatus, node: TalosEtcdNode): EtcdMemberStatus {
    const member = status.id ? this.memberCache.get(status.id) : memberOn(this.memberCache, node.ip);
    const endpoint = member?.clientUrls.find((u) => hostOf(u) === node.ip) ?? member?.clientUrls[0] ?? `https://${node.ip}:2379`;
    return { ...status, endpoint, id: status.id || member?.id || '' };
  }

  /** Each control-plane node's own view of its etcd member, asked in parallel. */
  async members(): Promise<EtcdMemberStatus[]> {
    // the member list is read (beside the statuses) when none is cached yet, and again, at most every 30 s,
    // when an unknown member id shows up
    const listing = this.memberCache.size === 0 && this.mayList() ? this.memberList() : undefined;
    let [settled] = await Promise.all([Promise.all(this.opts.nodes.map((n) => this.statusOf(n))), listing]);
    if (settled.some((s) => s.id !== '' && !this.memberCache.has(s.id)) && this.mayList()) await this.memberList();
    settled = settled.map((s, i) => this.enrich(s, this.opts.nodes[i]));
    return settled;
  }

  private mayList(): boolean {
    return this.listedAt === undefined || performance.now() - this.listedAt > 30_000;
  }

  /**
   * The node whose member reports itself leader and is healthy. Resolves as soon as one does, so a powered-off
   * node's timeout does not delay the answer; undefined when every node answered (or timed out) and none leads.
   */
  leader(): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let pending = this.opts.nodes.length;
      let done = false;
      for (const node of this.opts.nodes) {
        this.statusOf(node).then(
          (s) => {
            pending--;
            if (done) return;
            if (s.healthy && s.isLeader) {
              done = true;
              resolve(s.name);
            } else if (pending === 0) {
              done = true;
              resolve(undefined);
            }
          },
          (err: unknown) => {
            pending--;
            if (!done) {
              done = true;
              reject(err);
            }
          },
        );
      }
    });
  }
}

/** EtcdMemberStatus from one `etcd status` row: healthy = no errors, a known leader, and a voting member. */
export function memberStatusFromRow(name: string, row: TalosEtcdStatusRow): EtcdMemberStatus {
  const problems: string[] = [];
  if (row.errors) problems.push(row.errors);
  else if (row.leaderId === NO_LEADER) problems.push('no leader');
  if (row.learner) problems.push('learner (not a voting member yet)');
  return {
    name,
    endpoint: '',
    id: row.memberId,
    healthy: problems.length === 0,
    isLeader: row.leaderId === row.memberId,
    raftIndex: row.raftIndex,
    raftTerm: row.raftTerm,
    error: problems.length ? problems.join('; ') : undefined,
  };
}

/** The listed member whose client or peer URL is on this address. */
function memberOn(members: Map<string, TalosEtcdMemberRow>, ip: string): TalosEtcdMemberRow | undefined {
  return [...members.values()].find((m) => [...m.clientUrls, ...m.peerUrls].some((u) => hostOf(u) === ip));
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}
