/**
 * Running programs inside a lab node's network namespace (`ip netns exec`).
 *
 * `ip netns exec` enters the namespace and then execs the program, so the spawned ChildProcess's pid is the
 * program's own pid: signals (SIGKILL for power-off) reach it directly.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { labNode, type NodeRef } from '../../providers/lab/plan.ts';
import { run, tryRun, type CommandResult, type RunOptions } from '../../core/command.ts';

export function netnsArgv(node: NodeRef, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error('runInNode: empty argv');
  return ['ip', 'netns', 'exec', labNode(node).netns, ...argv];
}

/** Spawns a (typically long-running) program inside the node's namespace. */
export function runInNode(node: NodeRef, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const [file, ...args] = netnsArgv(node, argv);
  return spawn(file!, args, opts);
}

/** Runs a command inside the node's namespace to completion; a non-zero exit is a CommandError. */
export function execInNode(node: NodeRef, argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return run(netnsArgv(node, argv), opts);
}

/** Like execInNode, but resolves with the exit code instead of throwing on a non-zero one. */
export function tryExecInNode(node: NodeRef, argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return tryRun(netnsArgv(node, argv), opts);
}
