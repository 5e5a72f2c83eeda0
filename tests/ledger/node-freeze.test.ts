/**
 * The node.thaw fault kind (a node frozen where it stands, undone by resuming it), proven through the ledger against
 * the contract-checked Proxmox double on loopback: a SIGKILLed runner's frozen node is resumed by `clusterproof
 * recover` (once: a second recover is a no-op); SIGTERM makes the runner resume it itself. In process: the undo
 * resumes a paused node (or one in a state it cannot tell), leaves a running one alone and does not power a stopped
 * one on, a lab profile that is
 * gone leaves nothing to do, and the schema refuses what the kind does not know.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FaultLedger, readRecords } from '../../fixtures/faults/ledger.ts';
import { knownUndoKinds, nodeThaw, runUndo } from '../../fixtures/faults/kinds/index.ts';
import type { Target } from '../../fixtures/targets/index.ts';
import type { PowerState } from '../../providers/interfaces.ts';
import { labStateDir } from '../../providers/lab/paths.ts';
import { ADMIN_TOKEN, PveDouble } from '../proxmox/pve-contract.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

let scratch = '';
let double: PveDouble;
const children = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cp-freeze-'));
  // the seed homelab's Proxmox node and VM ids
  double = await PveDouble.start({
    node: 'pve',
    vms: [161, 162, 163, 164, 165].map((vmid, i) => ({ vmid, name: `node-${i + 1}`, status: 'running' as const })),
  });
});
afterEach(() => double.assertNoViolations());
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await double?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The seed profile with its Proxmox access pointed at the double, a kubeconfig that is never used, and a fresh ledger. */
async function sandbox() {
  const dir = await mkdtemp(join(scratch, 'run-'));
  const seed = await readFile(join(root, 'profiles/seed.yaml'), 'utf8');
  const profile = join(dir, 'seed.yaml');
  await writeFile(profile, seed.replace(/url: https:\/\/192\.168\.40\.10:8006.*$/m, `url: ${double.url}\n    caFile: ${double.caFile}`));
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  await writeFile(
    join(dir, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\nclusters:\n- name: homelab\n  cluster:\n    server: https://192.168.40.60:6443\n    certificate-authority-data: ${ca}\n` +
      `users:\n- name: admin\n  user:\n    token: not-a-real-token\ncontexts:\n- name: admin@homelab\n  context:\n    cluster: homelab\n    user: admin\ncurrent-context: admin@homelab\n`,
  );
  await writeFile(join(dir, 'talosconfig'), 'context: homelab\ncontexts:\n  homelab:\n    endpoints: [192.168.40.61]\n');
  const env = {
    ...process.env,
    CLUSTERPROOF_STATE_DIR: join(dir, 'state'),
    KUBECONFIG: join(dir, 'kubeconfig'),
    TALOSCONFIG: join(dir, 'talosconfig'),
    PROXMOX_TOKEN_ID: ADMIN_TOKEN.id,
    PROXMOX_TOKEN_SECRET: ADMIN_TOKEN.secret,
  };
  return { profile, env, ledgerDir: join(dir, 'state', 'ledger') };
}

/** Start a runner that freezes `node` and waits; resolves once the node is suspended and the fault recorded. */
async function startHolder(profile: string, node: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/ledger/hold-freeze.ts'), profile, node], { env, cwd: root });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('HELD\n')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`holder exited early (${code ?? signal}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited };
}

async function recoverCli(env: NodeJS.ProcessEnv) {
  const { stdout } = await run(process.execPath, [join(root, 'bin/clusterproof.mjs'), 'recover'], { env, cwd: root });
  return stdout;
}

const posts = (from: number) => double.calls.slice(from).filter((c) => c.startsWith('POST'));

/** Each runner and CLI process loads the sources through tsx, seconds apiece on a busy host. */
const SPAWNS = { timeout: 120_000 };

describe('node.thaw through the ledger', () => {
  test('a SIGKILLed runner leaves its frozen node recorded; recover resumes it; a second recover is a no-op', SPAWNS, async () => {
    const { profile, env, ledgerDir } = await sandbox();
    const from = double.requests.length;
    const { child, exited } = await startHolder(profile, 'worker-node-1', env);
    expect(double.vm(164).status).toBe('paused');

    child.kill('SIGKILL');
    await exited;
    expect(double.vm(164).status).toBe('paused'); // nothing could run its teardown
    expect((await readRecords(ledgerDir)).map((r) => ({ state: r.state, description: r.description, undo: r.undo, pid: r.pid }))).toEqual([
      {
        state: 'applied',
        description: 'freeze worker-node-1',
        undo: { kind: 'node.thaw', params: { profile, node: 'worker-node-1' }, summary: 'thaw worker-node-1 (resume it)' },
        pid: child.pid,
      },
    ]);

    const first = await recoverCli(env);
    expect(first).toMatch(/undone: freeze worker-node-1 \(thaw worker-node-1 \(resume it\)\)/);
    expect(first).toMatch(/1 fault\(s\) undone, 0 failed, 0 left/);
    expect(double.vm(164).status).toBe('running');
    expect(posts(from)).toEqual(['POST /nodes/{node}/qemu/{vmid}/status/suspend', 'POST /nodes/{node}/qemu/{vmid}/status/resume']);

    expect(await recoverCli(env)).toMatch(/nothing to recover/);
    expect(posts(from)).toHaveLength(2);
  });

  test('SIGTERM makes the runner resume its frozen node before exiting', SPAWNS, async () => {
    const { profile, env, ledgerDir } = await sandbox();
    const { child, exited } = await startHolder(profile, 'worker-node-2', env);
    expect(double.vm(165).status).toBe('paused');
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(double.vm(165).status).toBe('running');
    expect(await readdir(ledgerDir)).toEqual([]);
    expect(await recoverCli(env)).toMatch(/nothing to recover/);
  });
});

describe('the node.thaw undo', () => {
  const profilePath = '/nonexistent/clusterproof-freeze/profile.yaml';

  /** A live target whose node control only records what it is asked, the node in `state`. */
  function live(state: PowerState) {
    const calls: string[] = [];
    const target = {
      profilePath,
      profile: { metadata: { name: 'fake' }, nodes: [{ name: 'w1' }] },
      nodeControl: {
        status: async () => state,
        resume: async (n: { name: string }) => void calls.push(`resume ${n.name}`),
        powerOn: async (n: { name: string }) => void calls.push(`on ${n.name}`),
        suspend: async () => undefined,
        powerOff: async () => undefined,
        shutdown: async () => undefined,
      },
    } as unknown as Target;
    return { target, calls };
  }
  const spec = { kind: 'node.thaw', params: { profile: profilePath, node: 'w1' }, summary: 'thaw w1 (resume it)' };

  test('is a registered kind', () => {
    expect(knownUndoKinds()).toContain('node.thaw');
    expect(nodeThaw.kind).toBe('node.thaw');
  });

  test.each([
    ['paused', ['resume w1']],
    ['unknown', ['resume w1']],
    ['running', []],
    ['stopped', []],
  ] as const)('a %s node: %o', async (state, expected) => {
    const { target, calls } = live(state);
    await runUndo(spec, { target });
    expect(calls).toEqual(expected);
  });

  test('the ledger hands the live target to it and drops the record once the node is resumed', async () => {
    const dir = await mkdtemp(join(scratch, 'live-'));
    const { target, calls } = live('paused');
    const ledger = new FaultLedger({ dir, context: { target } });
    await ledger.apply('freeze w1', spec, async () => undefined);
    expect(await ledger.undoAll()).toEqual([]);
    expect(calls).toEqual(['resume w1']);
    expect(await readdir(dir)).toEqual([]);
  });

  test('once the lab profile is gone there is nothing to thaw', async () => {
    await expect(runUndo({ ...spec, params: { profile: join(labStateDir(), 'no-such-profile-freeze.yaml'), node: 'w1' } })).resolves.toBeUndefined();
  });

  test('a record with a node of another target fails, naming it; unknown keys are refused by the schema', async () => {
    const { target } = live('paused');
    await expect(runUndo({ ...spec, params: { profile: profilePath, node: 'w9' } }, { target })).rejects.toThrow(`node w9 is not in ${profilePath}`);
    await expect(runUndo({ ...spec, params: { profile: profilePath, node: 'w1', todisk: true } }, { target })).rejects.toThrow(
      /the ledger's node\.thaw undo has bad parameters: .*todisk/s,
    );
  });
});
