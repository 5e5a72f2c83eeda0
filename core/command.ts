/**
 * Running the host tools the lab is built with (ip, iptables, openssl, ...): argv arrays through execFile, never a
 * shell string; failures carry the command line and its stderr.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingPrerequisiteError } from './errors.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`\`${argv.join(' ')}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  /** written to the command's stdin */
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs argv and resolves with its exit code and output, whatever the code. */
export function tryRun(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('tryRun: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, env: opts.env },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // spawn failure (ENOENT...) or killed by the timeout: not an exit code
          reject(error.code === 'ENOENT' ? missingTool(file) : new Error(`\`${argv.join(' ')}\`: ${error.message}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs argv; a non-zero exit is a CommandError. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const result = await tryRun(argv, opts);
  if (result.code !== 0) throw new CommandError(argv, result);
  return result;
}

/** Debian package providing each tool the lab runs, for the "how to install it" hint. */
const aptPackageOf: Record<string, string> = {
  ip: 'iproute2',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  arptables: 'iptables',
  openssl: 'openssl',
  sysctl: 'procps',
  umount: 'mount',
  ping: 'iputils-ping',
  arping: 'iputils-arping',
  git: 'git',
  'redis-check-rdb': 'redis-tools',
};

function missingTool(name: string): MissingPrerequisiteError {
  const pkg = aptPackageOf[name] ?? name;
  return new MissingPrerequisiteError(`\`${name}\` is not installed`, `apt-get install -y ${pkg}`);
}

export function hasTool(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function requireTools(...names: string[]): void {
  for (const name of names) if (!hasTool(name)) throw missingTool(name);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function requireRoot(what: string): void {
  if (!isRoot()) {
    throw new MissingPrerequisiteError(`${what} needs root (network namespaces, links and routes)`, 'run it as root, e.g. `sudo -E npm start`');
  }
}
