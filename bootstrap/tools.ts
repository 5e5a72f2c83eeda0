/**
 * The command-line tools bootstrap drives (talosctl, helm, kubectl): found on PATH (talosctl also in the lab's
 * build cache, `clusterproof lab build --only talosctl`), run with their output collected, and a missing tool
 * reported with how to get it. Tests replace the runner with a recording fake.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingPrerequisiteError } from '../core/errors.ts';
import { componentBinary } from './lab/build/index.ts';

export type ToolName = 'talosctl' | 'helm' | 'kubectl';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ToolRunOptions {
  /** extra environment (TALOSCONFIG, KUBECONFIG) */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** each line of stdout and stderr as it comes, e.g. to follow `talosctl health` */
  onLine?: (line: string) => void;
}

export interface ToolRunner {
  run(tool: ToolName, args: string[], opts?: ToolRunOptions): Promise<ToolResult>;
}

const HOW_TO_GET: Record<ToolName, string> = {
  talosctl:
    'put talosctl v1.11.x on PATH (https://www.talos.dev/v1.11/talos-guides/install/talosctl/), or build it here: ' +
    'node bin/clusterproof.mjs lab build --only talosctl',
  helm: 'put helm v3 on PATH (https://helm.sh/docs/intro/install/)',
  kubectl: 'put kubectl (a version within one minor of the cluster) on PATH (https://kubernetes.io/docs/tasks/tools/)',
};

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** Absolute path of a tool, or undefined. talosctl: PATH first, then the lab build cache. */
export function findTool(tool: ToolName): string | undefined {
  const found = onPath(tool);
  if (found || tool !== 'talosctl') return found;
  const built = componentBinary('talosctl', { mustExist: false });
  return existsSync(built) ? built : undefined;
}

export function requireTool(tool: ToolName): string {
  const path = findTool(tool);
  if (!path) throw new MissingPrerequisiteError(`${tool} is not installed (not on PATH).`, HOW_TO_GET[tool]);
  return path;
}

/** Runs the real tools. */
export class ProcessToolRunner implements ToolRunner {
  run(tool: ToolName, args: string[], opts: ToolRunOptions = {}): Promise<ToolResult> {
    const path = requireTool(tool);
    return new Promise((resolve) => {
      const child = spawn(path, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
      const lines = (onChunk: (s: string) => void) => {
        let pending = '';
        return (b: Buffer) => {
          const s = b.toString();
          onChunk(s);
          if (!opts.onLine) return;
          pending += s;
          const parts = pending.split('\n');
          pending = parts.pop() ?? '';
          for (const l of parts) if (l.trim()) opts.onLine(l);
        };
      };
      child.stdout.on('data', lines((s) => (stdout += s)));
      child.stderr.on('data', lines((s) => (stderr += s)));
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: stderr + String(e) });
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
  }
}

/** "talosctl gen config ..." with arguments quoted where the shell would need it, for plans and logs. */
export function commandLine(tool: ToolName, args: string[]): string {
  return [tool, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
