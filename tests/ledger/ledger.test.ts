/**
 * The fault ledger's promise, proven with a real production fault kind (git.restore-branch) against a git server on
 * loopback that this test process starts (one bare repository per test): a fault is on disk before it is applied;
 * a SIGKILLed runner's fault is undone by `clusterproof recover` (once: a second recover is a no-op); SIGTERM makes
 * the runner undo its own fault; recover leaves a live runner's fault alone; a failed apply is undone at once; an
 * unknown kind or bad parameters are reported and the record kept, never silently dropped.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initForgeRepository, SEED_COMMIT_MESSAGE } from '../../bootstrap/lab/forge/repository.ts';
import { startGitServer, type GitServer } from '../../bootstrap/lab/forge/server.ts';
import { run as runCommand } from '../../core/command.ts';
import { FaultKit } from '../../fixtures/faults/kit.ts';
import { FaultLedger, readRecords, type FaultRecord } from '../../fixtures/faults/ledger.ts';
import type { Target } from '../../fixtures/targets/index.ts';
import { Timeline } from '../../fixtures/timeline/timeline.ts';
import { GitRepo } from '../../providers/gitops/git-repo.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const FILE = 'resource.txt';
const HEALTHY = 'healthy\n';

let scratch = '';
let reposDir = '';
let server: GitServer;
let repoCount = 0;
const children = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cp-ledger-'));
  reposDir = join(scratch, 'repos');
  await mkdir(reposDir, { recursive: true });
  server = await startGitServer({
    listenHost: '127.0.0.1',
    port: 0,
    reposDir,
    webhook: undefined,
    deliveriesFile: join(scratch, 'deliveries.jsonl'),
    hookPort: 0,
    publicBaseUrl: 'http://127.0.0.1',
    log: () => undefined,
  });
});

afterAll(async () => {
  // a runner a failed assertion left behind must not keep holding its fault (or the test process) alive
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh bare repository (main: one seed commit with FILE healthy) served on loopback, and a state dir for the ledger. */
async function sandbox() {
  const name = `ledger-${++repoCount}`;
  const repo = await initForgeRepository({ reposDir, name, files: (wt) => writeFile(join(wt, FILE), HEALTHY) });
  const dir = await mkdtemp(join(scratch, `${name}-state-`));
  return {
    dir,
    bare: repo.path,
    seed: repo.head,
    url: `${server.url}/${name}.git`,
    env: { ...process.env, CLUSTERPROOF_STATE_DIR: join(dir, 'state') },
  };
}

/** Plumbing straight on the bare repository: what the server holds, without cloning. */
async function git(bare: string, ...args: string[]): Promise<string> {
  return (await runCommand(['git', '--git-dir', bare, ...args])).stdout;
}
const content = (bare: string) => git(bare, 'show', `main:${FILE}`);
const head = async (bare: string) => (await git(bare, 'rev-parse', 'main')).trim();
const subjects = async (bare: string) => (await git(bare, 'log', '--format=%s', 'main')).trim().split('\n');
async function isAncestor(bare: string, sha: string, of: string): Promise<boolean> {
  return runCommand(['git', '--git-dir', bare, 'merge-base', '--is-ancestor', sha, of]).then(
    () => true,
    () => false,
  );
}

/**
 * The branch is healthy again, put back by a NEW commit on top of the broken one (history kept, never forced):
 * FILE is back, the whole tree is the seed's, and the broken commit is still an ancestor of the head.
 */
async function expectRestored(bare: string, seed: string, broken: string, reason: string) {
  expect(await content(bare)).toBe(HEALTHY);
  expect(await git(bare, 'rev-parse', 'main^{tree}')).toBe(await git(bare, 'rev-parse', `${seed}^{tree}`));
  const tip = await head(bare);
  expect(tip).not.toBe(seed);
  expect(await isAncestor(bare, broken, tip)).toBe(true);
  expect(await subjects(bare)).toEqual([
    `clusterproof: restore main to ${seed.slice(0, 12)} (${reason})`,
    expect.stringMatching(/^(hold-fault: break resource\.txt|half-applied)$/),
    SEED_COMMIT_MESSAGE,
  ]);
}

/** Start a runner that pushes a broken FILE to `url` (the fault) and waits; resolves once the fault is held. */
async function startHolder(url: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/ledger/hold-fault.ts'), url, FILE], { env, cwd: root });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  const broken = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /HELD ([0-9a-f]{40})\n/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`holder exited early (${code ?? signal}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, broken, exited };
}

async function recoverCli(env: NodeJS.ProcessEnv) {
  const { stdout } = await run(process.execPath, [join(root, 'bin/clusterproof.mjs'), 'recover'], { env, cwd: root });
  return stdout;
}

/** Tests that start a runner and run the CLI: each process loads the sources through tsx, seconds apiece on a busy host. */
const SPAWNS = { timeout: 120_000 };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('fault ledger', () => {
  test('a SIGKILLed runner leaves its fault recorded; recover undoes it; a second recover is a no-op', SPAWNS, async () => {
    const { bare, seed, url, env } = await sandbox();
    const { child, broken, exited } = await startHolder(url, env);
    expect(await head(bare)).toBe(broken);
    expect(await content(bare)).toBe('BROKEN\n');

    child.kill('SIGKILL');
    await exited;
    expect(await content(bare)).toBe('BROKEN\n'); // nothing could run its teardown
    const left = await readRecords(join(env.CLUSTERPROOF_STATE_DIR, 'ledger'));
    expect(left.map((r) => ({ state: r.state, kind: r.undo.kind, sha: r.undo.params.sha, pid: r.pid }))).toEqual([
      { state: 'applied', kind: 'git.restore-branch', sha: seed, pid: child.pid },
    ]);

    const first = await recoverCli(env);
    expect(first).toMatch(new RegExp(`undone: push to ${escape(url)} main \\(commit main's content as of ${seed.slice(0, 12)} back\\)`));
    expect(first).toMatch(/1 fault\(s\) undone, 0 failed, 0 left/);
    await expectRestored(bare, seed, broken, 'hold-fault');
    const restored = await head(bare);

    const second = await recoverCli(env);
    expect(second).toMatch(/nothing to recover/);
    expect(await head(bare)).toBe(restored); // and it pushed nothing
  });

  test('SIGTERM makes the runner undo its own faults before exiting', SPAWNS, async () => {
    const { bare, seed, url, env } = await sandbox();
    const { child, broken, exited } = await startHolder(url, env);
    expect(await content(bare)).toBe('BROKEN\n');
    child.kill('SIGTERM');
    expect(await exited).toBe(143); // the handler's exit code: the default SIGTERM death has none
    await expectRestored(bare, seed, broken, 'hold-fault');
    expect(await recoverCli(env)).toMatch(/nothing to recover/);
  });

  test('recover leaves alone a fault whose runner is still alive', SPAWNS, async () => {
    const { bare, url, env } = await sandbox();
    const { child, broken, exited } = await startHolder(url, env);
    try {
      expect(await recoverCli(env)).toMatch(new RegExp(`left alone: push to ${escape(url)} main is held by live runner pid ${child.pid}`));
      expect(await head(bare)).toBe(broken);
      expect(await content(bare)).toBe('BROKEN\n');
      expect((await readRecords(join(env.CLUSTERPROOF_STATE_DIR, 'ledger'))).map((r) => r.state)).toEqual(['applied']);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('the fault is on disk before it is applied, and a failed apply is undone at once', async () => {
    const { dir, bare, seed, url } = await sandbox();
    const ledgerDir = join(dir, 'ledger');
    const kit = new FaultKit(new FaultLedger({ dir: ledgerDir }), new Timeline('ledger test'));
    const repo = await new GitRepo(url, 'main').clone();
    let seenWhileApplying: FaultRecord[] = [];
    let half = '';
    try {
      await repo.write(FILE, 'HALF\n');
      half = await repo.commit('half-applied');
      await expect(
        kit.branchPushed(repo, seed, 'ledger test', async () => {
          seenWhileApplying = await readRecords(ledgerDir);
          await repo.push({ webhook: false }); // the fault is out...
          throw new Error('apply blew up'); // ...and then applying fails
        }),
      ).rejects.toThrow('apply blew up');
    } finally {
      await repo.dispose();
    }
    expect(seenWhileApplying.map((r) => ({ description: r.description, state: r.state, undo: r.undo.kind, params: r.undo.params }))).toEqual([
      { description: `push to ${url} main`, state: 'applying', undo: 'git.restore-branch', params: { url, branch: 'main', sha: seed, reason: 'ledger test', allowRemote: false } },
    ]);
    await expectRestored(bare, seed, half, 'ledger test');
    expect(await readdir(ledgerDir)).toEqual([]);
  });

  test('an unknown undo kind is reported, not silently dropped', async () => {
    const { dir } = await sandbox();
    const ledger = new FaultLedger({ dir: join(dir, 'ledger') });
    await ledger.apply('odd', { kind: 'no.such.kind', params: {}, summary: '?' }, async () => undefined);
    const errors = await ledger.undoAll();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/unknown undo kind "no.such.kind"/)]);
    expect((await readRecords(join(dir, 'ledger'))).map((r) => r.state)).toEqual(['undo-failed']);
  });

  test('a fault whose undo was cut short (its claimant died) is offered again; a live claimant keeps it', async () => {
    const { dir } = await sandbox();
    const ledgerDir = join(dir, 'ledger');
    const ledger = new FaultLedger({ dir: ledgerDir });
    const [a, b] = [await ledger.apply('cut short', { kind: 'no.such.kind', params: {}, summary: '?' }, async () => undefined),
      await ledger.apply('in progress', { kind: 'no.such.kind', params: {}, summary: '?' }, async () => undefined)];
    const { rename } = await import('node:fs/promises');
    // 4194304 (2^22) is Linux's PID_MAX_LIMIT: every pid is below it, so this claimant is surely gone
    await rename(join(ledgerDir, `${a.id}.json`), join(ledgerDir, `${a.id}.json.undoing-4194304`));
    await rename(join(ledgerDir, `${b.id}.json`), join(ledgerDir, `${b.id}.json.undoing-${process.pid}`));
    expect((await readRecords(ledgerDir)).map((r) => r.description)).toEqual(['cut short']);
    expect((await readdir(ledgerDir)).sort()).toEqual([`${a.id}.json`, `${b.id}.json.undoing-${process.pid}`].sort());
  });

  test.each([
    { bad: 'a short sha', params: (url: string) => ({ url, branch: 'main', sha: 'abc', reason: 'x' }), names: /sha[\s\S]*a full commit id/ },
    { bad: 'a missing branch', params: (url: string) => ({ url, sha: 'a'.repeat(40), reason: 'x' }), names: /branch/ },
    { bad: 'an unexpected key', params: (url: string) => ({ url, branch: 'main', sha: 'a'.repeat(40), reason: 'x', force: true }), names: /force/ },
  ])('a record with bad parameters ($bad) is refused by its kind schema', async ({ params, names }) => {
    const { dir, bare, url } = await sandbox();
    const ledgerDir = join(dir, 'ledger');
    const before = await head(bare);
    const ledger = new FaultLedger({ dir: ledgerDir });
    await ledger.apply('bad record', { kind: 'git.restore-branch', params: params(url), summary: '?' }, async () => undefined);

    const errors = (await ledger.undoAll()).map((e) => e.message);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^could not undo "bad record": the ledger's git\.restore-branch undo has bad parameters: /);
    expect(errors[0]).toMatch(names);
    const [record, ...rest] = await readRecords(ledgerDir);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ state: 'undo-failed', error: expect.stringMatching(/bad parameters/), undo: { params: params(url) } });
    expect(await head(bare)).toBe(before); // the undo never ran
  });

  test('the ledger hands its context (the live target) to the undo', async () => {
    const { dir } = await sandbox();
    // a profile path nothing can open: only the live target in the context can serve the undo
    const profilePath = join(dir, 'no-such-profile.yaml');
    const poweredOn: string[] = [];
    const target = {
      profilePath,
      profile: { metadata: { name: 'fake' }, nodes: [{ name: 'cp1' }] },
      nodeControl: {
        status: async () => 'stopped',
        powerOn: async (node: { name: string }) => void poweredOn.push(node.name),
        powerOff: async () => undefined,
        shutdown: async () => undefined,
      },
    } as unknown as Target;
    const undo = { kind: 'node.power-on', params: { profile: profilePath, node: 'cp1' }, summary: 'power cp1 on' };

    const live = new FaultLedger({ dir: join(dir, 'live'), context: { target } });
    await live.apply('power off cp1', undo, async () => undefined);
    expect(await live.undoAll()).toEqual([]);
    expect(poweredOn).toEqual(['cp1']);
    expect(await readdir(join(dir, 'live'))).toEqual([]);

    // contrast: without the context the same record must reopen the profile, which does not exist
    const bare = new FaultLedger({ dir: join(dir, 'bare') });
    await bare.apply('power off cp1', undo, async () => undefined);
    expect((await bare.undoAll()).map((e) => e.message)).toEqual([expect.stringContaining('no-such-profile.yaml')]);
    expect(poweredOn).toEqual(['cp1']);
  });
});
