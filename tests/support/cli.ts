/** Runs the clusterproof CLI as a user would, streaming its output into the test log. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const projectRoot = join(import.meta.dirname, '..', '..');

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/clusterproof.mjs'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
    });
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}
