import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  output: string;
}

/** Runs a command, collecting its output (and streaming it to `onData`). Never throws on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number; onData?: (chunk: string) => void; until?: string },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    const onChunk = (b: Buffer) => {
      const s = b.toString();
      output += s;
      if (output.length > 4_000_000) output = output.slice(-2_000_000);
      opts.onData?.(s);
      if (opts.until && output.includes(opts.until)) child.kill('SIGKILL');
    };
    child.stdout.on('data', onChunk);
    child.stderr.on('data', onChunk);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, output: output + String(e) });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}
