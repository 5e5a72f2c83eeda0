/**
 * Running git for the forge: argv arrays through the lab's command runner, with an environment stripped of the
 * caller's GIT_* variables (a forge started from inside a git hook or a worktree must not act on that repository).
 */
import { run, type CommandResult } from '../../../core/command.ts';

/** The all-zero object name git and GitHub use for "no commit" (a created or deleted ref). */
export const ZERO_SHA = '0'.repeat(40);

/** Identity of the forge's single account: the owner of every repository, the pusher and the sender of every event. */
export const FORGE_ACCOUNT = 'clusterproof';

/** process.env without GIT_* variables, plus `extra`. */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, ...extra };
}

/** `git --git-dir=<gitDir> ...args`; a non-zero exit is a CommandError. */
export function gitIn(gitDir: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CommandResult> {
  return run(['git', `--git-dir=${gitDir}`, ...args], { env: gitEnv(opts.env), input: opts.input });
}
