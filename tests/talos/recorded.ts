/**
 * Recorded talosctl outputs (tests/talos/fixtures, see its README for the source of the format) and a runner
 * that answers from them, so the Talos etcd probe is tested without talosctl and without a packet sent.
 */
import { readFileSync } from 'node:fs';
import type { TalosctlResult, TalosctlRunner } from '../../providers/talos/talosctl.ts';

export const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

export const ok = (stdoutFixture: string): TalosctlResult => ({ exitCode: 0, stdout: fixture(stdoutFixture), stderr: '', timedOut: false });

/** v1.11: the endpoint node does not answer at all (recorded-v1.11.5-status-refused.err.txt with the homelab address and EHOSTUNREACH) */
export const unreachable = (): TalosctlResult => ({ exitCode: 1, stdout: '', stderr: fixture('status-v1.11-unreachable.stderr.txt'), timedOut: false });

/** v1.11: apid answers, its etcd does not (recorded from talosctl v1.11.5: every queried node failed, so exit 1) */
export const etcdDown = (): TalosctlResult => ({ exitCode: 1, stdout: '', stderr: fixture('recorded-v1.11.5-status-etcd-down.err.txt'), timedOut: false });

export const timedOut = (): TalosctlResult => ({ exitCode: null, stdout: '', stderr: '', timedOut: true });

type Answer = TalosctlResult | Promise<TalosctlResult> | ((args: readonly string[]) => TalosctlResult | Promise<TalosctlResult>);

/** Answers per "<node ip> <command>", e.g. "192.168.40.61 etcd status"; records every call. */
export class RecordedTalosctl implements TalosctlRunner {
  readonly calls: Array<{ args: readonly string[]; timeoutMs: number }> = [];

  constructor(public answers: Record<string, Answer>) {}

  async run(args: readonly string[], opts: { timeoutMs: number }): Promise<TalosctlResult> {
    this.calls.push({ args, timeoutMs: opts.timeoutMs });
    const node = args[args.indexOf('--nodes') + 1];
    const command = args.slice(args.indexOf('--endpoints') + 2).join(' ');
    const answer = this.answers[`${node} ${command}`];
    if (answer === undefined) return unreachable();
    return typeof answer === 'function' ? answer(args) : answer;
  }

  /** "<node> <command>" of every call, in order */
  get asked(): string[] {
    return this.calls.map((c) => `${c.args[c.args.indexOf('--nodes') + 1]} ${c.args.slice(c.args.indexOf('--endpoints') + 2).join(' ')}`);
  }
}
