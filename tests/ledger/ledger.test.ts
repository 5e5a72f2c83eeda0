import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { FaultLedger, readRecords } from '../../fixtures/ledger/ledger.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function sandbox() {
  const dir = await mkdtemp(join(tmpdir(), 'cp-ledger-'));
  const file = join(dir, 'resource.txt');
  await writeFile(file, 'healthy\n');
  return { dir, file, env: { ...process.env, CLUSTERPROOF_STATE_DIR: join(dir, 'state') } };
}

/** Start a runner that applies a fault to `file` and waits; resolves once the fault is held. */
async function startHolder(file: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/ledger/hold-fault.ts'), file], { env, cwd: root });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('HELD') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited early (${code}): ${stderr}`)));
  });
  return child;
}

async function recoverCli(env: NodeJS.ProcessEnv) {
  const { stdout } = await run(process.execPath, [join(root, 'bin/clusterproof.mjs'), 'recover'], { env, cwd: root });
  return stdout;
}

describe('fault ledger', () => {
  test('a SIGKILLed runner leaves its fault recorded; recover undoes it; a second recover is a no-op', async () => {
    const { file, env } = await sandbox();
    const child = await startHolder(file, env);
    expect(await readFile(file, 'utf8')).toBe('BROKEN\n');

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await readFile(file, 'utf8')).toBe('BROKEN\n'); // nothing could run its teardown

    const first = await recoverCli(env);
    expect(first).toMatch(/undone: break .*resource\.txt/);
    expect(first).toMatch(/1 fault\(s\) undone, 0 failed/);
    expect(await readFile(file, 'utf8')).toBe('healthy\n');

    const second = await recoverCli(env);
    expect(second).toMatch(/nothing to recover/);
  });

  test('SIGTERM makes the runner undo its own faults before exiting', async () => {
    const { file, env } = await sandbox();
    const child = await startHolder(file, env);
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(143);
    expect(await readFile(file, 'utf8')).toBe('healthy\n');
    expect(await recoverCli(env)).toMatch(/nothing to recover/);
  });

  test('recover leaves alone a fault whose runner is still alive', async () => {
    const { file, env } = await sandbox();
    const child = await startHolder(file, env);
    try {
      expect(await recoverCli(env)).toMatch(/left alone: break .* held by live runner pid/);
      expect(await readFile(file, 'utf8')).toBe('BROKEN\n');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  test('the fault is on disk before it is applied, and a failed apply is undone at once', async () => {
    const { dir, file } = await sandbox();
    const ledgerDir = join(dir, 'ledger');
    const ledger = new FaultLedger({ dir: ledgerDir });
    const undo = { kind: 'file.restore', params: { path: file, contentBase64: Buffer.from('healthy\n').toString('base64') }, summary: 'restore' };
    let seenWhileApplying: string[] = [];
    await expect(
      ledger.apply('half-applied', undo, async () => {
        seenWhileApplying = (await readRecords(ledgerDir)).map((r) => `${r.description}:${r.state}`);
        await writeFile(file, 'HALF\n');
        throw new Error('apply blew up');
      }),
    ).rejects.toThrow('apply blew up');
    expect(seenWhileApplying).toEqual(['half-applied:applying']);
    expect(await readFile(file, 'utf8')).toBe('healthy\n');
    expect(await readdir(ledgerDir)).toEqual([]);
  });

  test('an unknown undo kind is reported, not silently dropped', async () => {
    const { dir } = await sandbox();
    const ledger = new FaultLedger({ dir: join(dir, 'ledger') });
    await ledger.apply('odd', { kind: 'no.such.kind', params: {}, summary: '?' }, async () => undefined);
    const errors = await ledger.undoAll();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/unknown undo kind "no.such.kind"/)]);
    expect((await readRecords(join(dir, 'ledger')))[0]?.state).toBe('undo-failed');
  });
});
