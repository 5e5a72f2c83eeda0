/**
 * Finding and running talosctl: a fake talosctl script in a temp dir stands in for the binary (it talks to
 * nobody), so the real runner's argument passing, exit codes and timeout kill are tested without a network.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { COMPONENTS } from '../../bootstrap/lab/build/components.ts';
import { buildPaths } from '../../core/build-cache.ts';
import { MissingPrerequisiteError } from '../../core/errors.ts';
import { ExecTalosctlRunner, resolveTalosctl, talosctlInstallHint } from '../../providers/talos/talosctl.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-talosctl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const labRecipe = COMPONENTS.find((c) => c.binaries.some((b) => b.name === 'talosctl'));

describe('resolveTalosctl', () => {
  // the lab build cache is pointed at an empty temp dir, so what this machine has built does not matter
  afterEach(() => vi.unstubAllEnvs());

  test('an explicit path wins, then $TALOSCTL, then PATH', () => {
    const explicit = script('talosctl-explicit', 'exit 0');
    const fromEnv = script('talosctl-env', 'exit 0');
    const binDir = mkdtempSync(join(dir, 'bin-'));
    const onPath = join(binDir, 'talosctl');
    writeFileSync(onPath, '#!/bin/sh\nexit 0\n');
    chmodSync(onPath, 0o755);
    expect(resolveTalosctl({ explicit, env: { TALOSCTL: fromEnv, PATH: binDir } })).toBe(explicit);
    expect(resolveTalosctl({ env: { TALOSCTL: fromEnv, PATH: binDir } })).toBe(fromEnv);
    expect(resolveTalosctl({ env: { PATH: `/nonexistent:${binDir}` } })).toBe(onPath);
  });

  test('a named file that is not executable is a MissingPrerequisiteError naming it', () => {
    const notExecutable = join(dir, 'talosctl-noexec');
    writeFileSync(notExecutable, 'not a program');
    expect(() => resolveTalosctl({ env: { TALOSCTL: notExecutable, PATH: '' } })).toThrow(MissingPrerequisiteError);
    expect(() => resolveTalosctl({ env: { TALOSCTL: notExecutable, PATH: '' } })).toThrow(/\$TALOSCTL .*talosctl-noexec is not an executable file/);
  });

  test('nowhere to be found: MissingPrerequisiteError with how to get talosctl', () => {
    vi.stubEnv('CLUSTERPROOF_CACHE_DIR', mkdtempSync(join(dir, 'cache-')));
    let caught: unknown;
    try {
      resolveTalosctl({ env: { PATH: join(dir, 'empty') } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MissingPrerequisiteError);
    expect((caught as Error).message).toContain(talosctlInstallHint());
  });

  test.runIf(labRecipe)('not on PATH: the talosctl the lab build made', () => {
    vi.stubEnv('CLUSTERPROOF_CACHE_DIR', mkdtempSync(join(dir, 'cache-')));
    const built = join(buildPaths.binDir(labRecipe!), 'talosctl');
    mkdirSync(dirname(built), { recursive: true });
    writeFileSync(built, '#!/bin/sh\nexit 0\n');
    chmodSync(built, 0o755);
    expect(resolveTalosctl({ env: { PATH: join(dir, 'empty') } })).toBe(built);
  });

  test('the hint is the lab build when a talosctl recipe exists, else the Talos docs install routes', () => {
    if (labRecipe) expect(talosctlInstallHint()).toContain(`clusterproof lab build --only ${labRecipe.name}`);
    else expect(talosctlInstallHint()).toMatch(/brew install siderolabs\/tap\/talosctl.*talos\.dev\/install.*siderolabs\/talos\/releases/);
  });
});

describe('ExecTalosctlRunner', () => {
  test('passes the arguments and returns stdout, stderr and the exit code', async () => {
    const fake = script('talosctl-echo', 'echo "args: $*"; echo "WARNING: something" >&2; exit 3');
    const r = await new ExecTalosctlRunner(fake).run(['--nodes', '127.0.0.1', 'etcd', 'status'], { timeoutMs: 5000 });
    expect(r).toEqual({ exitCode: 3, stdout: 'args: --nodes 127.0.0.1 etcd status\n', stderr: 'WARNING: something\n', timedOut: false });
  });

  test('a talosctl that hangs is killed at the timeout', async () => {
    const fake = script('talosctl-hang', 'exec sleep 30');
    const started = performance.now();
    const r = await new ExecTalosctlRunner(fake).run(['etcd', 'status'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test('a binary that disappeared is a MissingPrerequisiteError', async () => {
    const fake = script('talosctl-gone', 'exit 0');
    const runner = new ExecTalosctlRunner(fake);
    await runner.run([], { timeoutMs: 5000 });
    rmSync(fake);
    await expect(runner.run([], { timeoutMs: 5000 })).rejects.toBeInstanceOf(MissingPrerequisiteError);
  });
});
