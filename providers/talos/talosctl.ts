/**
 * Running talosctl: a small runner interface (so tests inject recorded outputs) and the real one, which spawns
 * the binary with a hard timeout and never throws for what talosctl says: a non-zero exit, a timeout or a
 * warning on stderr come back as a result for the caller to judge. Only a missing binary throws
 * (MissingPrerequisiteError, with how to get one).
 *
 * Binary resolution: an explicit path, else $TALOSCTL, else `talosctl` on PATH, else the newest talosctl the lab
 * build cache holds (`clusterproof lab build --only talosctl`).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { labBinDir } from '../../core/build-cache.ts';
import { MissingPrerequisiteError } from '../../core/errors.ts';

export interface TalosctlResult {
  /** null when the process was killed (timeout) */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** killed because it outlived timeoutMs */
  timedOut: boolean;
}

export interface TalosctlRunner {
  /** Run talosctl with these arguments; resolves whatever talosctl answered, rejects only when it cannot run at all. */
  run(args: readonly string[], opts: { timeoutMs: number }): Promise<TalosctlResult>;
}

/** How to get talosctl, for the error message: the lab build, or the Talos docs' install routes. */
export function talosctlInstallHint(): string {
  return (
    '`clusterproof lab build --only talosctl`, or install talosctl matching the cluster\'s Talos version (see the Talos ' +
    'docs, talos-guides/install/talosctl): `brew install siderolabs/tap/talosctl`, or a release binary from ' +
    'https://github.com/siderolabs/talos/releases; put it on PATH or set TALOSCTL=/path/to/talosctl'
  );
}

/** The talosctl binaries the lab build cache holds (<cache>/bin/talosctl-<version>/talosctl), newest version first. */
export function labBuiltTalosctl(): string[] {
  let dirs: string[];
  try {
    dirs = readdirSync(labBinDir()).filter((d) => d.startsWith('talosctl-'));
  } catch {
    return [];
  }
  return dirs.sort((a, b) => b.localeCompare(a, 'en', { numeric: true })).map((d) => join(labBinDir(), d, 'talosctl'));
}

export function talosctlMissing(detail: string): MissingPrerequisiteError {
  return new MissingPrerequisiteError(`\`talosctl\` is not available (${detail}); the Talos etcd probe runs it`, talosctlInstallHint());
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of the talosctl to run. `explicit` (an option) and $TALOSCTL must name an executable file;
 * otherwise PATH is searched, then the lab build's cache. Throws MissingPrerequisiteError when none is found.
 */
export function resolveTalosctl(opts: { explicit?: string; env?: Record<string, string | undefined> } = {}): string {
  const env = opts.env ?? process.env;
  for (const [given, from] of [
    [opts.explicit, 'the configured path'],
    [env.TALOSCTL, '$TALOSCTL'],
  ] as const) {
    if (given === undefined || given === '') continue;
    if (isExecutableFile(given)) return given;
    throw talosctlMissing(`${from} ${given} is not an executable file`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'talosctl');
    if (isExecutableFile(candidate)) return candidate;
  }
  const built = labBuiltTalosctl().find(isExecutableFile);
  if (built) return built;
  throw talosctlMissing(`not on PATH, $TALOSCTL is unset and the lab build cache ${labBinDir()} holds none`);
}

/** Spawns the real binary. The binary is resolved on first use, so a target without talosctl opens fine. */
export class ExecTalosctlRunner implements TalosctlRunner {
  private binary: string | undefined;

  constructor(private readonly binaryPath?: string) {}

  run(args: readonly string[], opts: { timeoutMs: number }): Promise<TalosctlResult> {
    this.binary ??= resolveTalosctl({ explicit: this.binaryPath });
    const binary = this.binary;
    return new Promise((resolve, reject) => {
      const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      // only the child this runner started is killed
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code === 'ENOENT' || err.code === 'EACCES') {
          this.binary = undefined;
          reject(talosctlMissing(`${binary}: ${err.code === 'ENOENT' ? 'no such file' : 'permission denied'}`));
          return;
        }
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: timedOut ? null : code, stdout, stderr, timedOut });
      });
    });
  }
}
