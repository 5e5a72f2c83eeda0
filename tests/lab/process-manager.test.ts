/**
 * The lab's per-node init, paused and continued, with real processes (`sleep`, no namespaces): a paused node's
 * processes are SIGSTOPped (state T) with the same pids, counted running and never restarted; one that dies while
 * paused starts again when the node continues; power loss (SIGKILL) and shutdown (SIGTERM) still end a paused node
 * at once, shutdown without waiting out its grace period.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { ProcessManager, type ProcessSpec } from '../../bootstrap/lab/process-manager.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-pm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const spec = (name: string): ProcessSpec => ({ node: 'n1', name, netns: 'unused', launcher: [], argv: ['sleep', '300'] });

/** The state letter of /proc/PID/stat (R, S, T, ...), or 'gone'. */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return 'gone';
  }
}

let pm: ProcessManager | undefined;
afterEach(async () => {
  await pm?.killNode('n1');
  pm = undefined;
});

function started() {
  pm = new ProcessManager(dir, join(dir, 'processes.json'));
  pm.start(spec('a'));
  pm.start(spec('b'));
  const pids = () => Object.fromEntries(pm!.components('n1').map((c) => [c.name, c.pid!]));
  return { pm, pids };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('ProcessManager pause and continue', () => {
  test('paused: every process stopped (T) with the same pid, still running; continued: the same pids run on', async () => {
    const { pm, pids } = started();
    const before = pids();
    await until('both sleeping', () => Object.values(before).every((p) => procState(p) === 'S'));
    pm.pauseNode('n1');
    await until('both stopped', () => Object.values(before).every((p) => procState(p) === 'T'));
    await sleep(1500); // longer than the first restart delay
    expect(pids()).toEqual(before);
    expect(pm.components('n1').map((c) => `${c.name}:${c.running}:${c.restarts}`)).toEqual(['a:true:0', 'b:true:0']);
    pm.continueNode('n1');
    await until('both running on', () => Object.values(before).every((p) => procState(p) === 'S'));
    expect(pids()).toEqual(before);
  });

  test('a process killed while its node is paused is not restarted until the node continues', async () => {
    const { pm, pids } = started();
    const before = pids();
    pm.pauseNode('n1');
    process.kill(before.a!, 'SIGKILL');
    await until('a gone', () => !pm.isRunning('n1', 'a'));
    await sleep(1500);
    expect(pm.isRunning('n1', 'a')).toBe(false);
    pm.continueNode('n1');
    await until('a started again', () => pm.isRunning('n1', 'a'));
    expect(pids().a).not.toBe(before.a);
    expect(pids().b).toBe(before.b);
    expect(procState(before.b!)).not.toBe('T');
  });

  test('power loss ends a paused node at once', async () => {
    const { pm, pids } = started();
    const before = pids();
    pm.pauseNode('n1');
    await until('both stopped', () => Object.values(before).every((p) => procState(p) === 'T'));
    const t0 = performance.now();
    await pm.killNode('n1');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(Object.values(before).map(procState)).toEqual(['gone', 'gone']);
  });

  test('shutdown of a paused node delivers its SIGTERM without waiting out the grace period', async () => {
    const { pm, pids } = started();
    const before = pids();
    pm.pauseNode('n1');
    await until('both stopped', () => Object.values(before).every((p) => procState(p) === 'T'));
    const t0 = performance.now();
    await pm.stopNode('n1', 10_000);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(Object.values(before).map(procState)).toEqual(['gone', 'gone']);
  });
});
