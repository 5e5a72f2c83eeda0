/**
 * Measures the default lab (real workers) and writes its section of docs/BENCHMARKS.md (between the real-workers
 * markers; scripts/benchmarks.ts keeps that section when it rewrites the rest): warm `lab up` (three runs), idle
 * CPU and memory of every lab process including the workers' containers and shims, ha/lb-failover over several
 * runs, and the builds of the components real workers add. Run as root with them built:
 * `npx tsx scripts/benchmarks-real-workers.ts [runs]` (about 10 minutes). Nothing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, runningProcesses } from '../bootstrap/lab/lab.ts';
import { buildPaths } from '../core/build-cache.ts';
import { COMPONENTS } from '../bootstrap/lab/build/components.ts';
import { runSuites } from '../cli/commands/run.ts';
import { labPaths } from '../providers/lab/paths.ts';
import { workerCgroup } from '../bootstrap/lab/worker/worker-node.ts';

const root = join(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (s: number) => `${s.toFixed(1)} s`;
export const START = '<!-- real-workers:start -->';
export const END = '<!-- real-workers:end -->';

/** Every pid of the lab: the supervisor's processes, the supervisor, and everything in the workers' cgroups. */
function labPids(): number[] {
  const pids = new Set(runningProcesses().map((p) => p.pid));
  pids.add(Number(readFileSync(labPaths.supervisorPid(), 'utf8')));
  for (const w of ['w1', 'w2']) for (const pid of workerCgroup(w).pids()) pids.add(pid);
  return [...pids];
}

function cpuTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

function rssKiB(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

async function idle(seconds: number) {
  const pids = labPids();
  const t0 = cpuTicks(pids);
  await sleep(seconds * 1000);
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  return { cpu: ((cpuTicks(pids) - t0) / hz / seconds) * 100, rssMiB: rssKiB(pids) / 1024, processes: pids.length };
}

function buildRows(): string[] {
  const names = ['kubernetes-node', 'containerd', 'runc', 'cni-plugins', 'coredns', 'metallb-speaker', 'kustomize'];
  const rows = ['| component | version | last build here | binaries |', '|---|---|---|---|'];
  for (const c of COMPONENTS.filter((x) => names.includes(x.name))) {
    const stamp = join(buildPaths.binDir(c), '.clusterproof-build.json');
    if (!existsSync(stamp)) {
      rows.push(`| ${c.name} | ${c.version} | not built | |`);
      continue;
    }
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as { buildSeconds: number; binaries: Record<string, number> };
    rows.push(`| ${c.name} | ${c.version} | ${fmt(s.buildSeconds)} | ${Object.entries(s.binaries).map(([n, b]) => `${n} ${(b / 2 ** 20).toFixed(0)} MiB`).join(', ')} |`);
  }
  return rows;
}

/** warm lab ups measured, each from a clean lab down */
const UP_RUNS = 3;

async function main() {
  const runs = Number(process.argv[2] ?? 5);
  const started = new Date();
  const ups: number[] = [];
  for (let i = 1; i <= UP_RUNS; i++) {
    console.log(`lab down (clean start), then lab up ${i}/${UP_RUNS} (warm: components and images built)`);
    await labDown();
    const up = await labUp((s) => console.log(`  ${s}`), { workers: 'real', gitops: { pollSeconds: 30, pollJitterSeconds: 0 } });
    console.log(`  -> ${fmt(up.seconds)}`);
    ups.push(up.seconds);
  }
  console.log('idle 20 s, then CPU and memory over 30 s');
  await sleep(20_000);
  const usage = await idle(30);
  console.log(`  -> ${usage.cpu.toFixed(0)} % of one core, ${usage.rssMiB.toFixed(0)} MiB, ${usage.processes} processes`);
  const measurements = join(root, 'reports', 'benchmark-real-workers.jsonl');
  rmSync(measurements, { force: true });
  const codes: number[] = [];
  for (let i = 1; i <= runs; i++) {
    console.log(`ha/lb-failover run ${i}/${runs}`);
    codes.push(await runSuites({ target: 'lab', suite: ['ha/lb-failover'], measurements, results: join(root, 'reports', 'benchmark-real-workers-results') }));
  }
  const rows = existsSync(measurements)
    ? readFileSync(measurements, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { name: string; seconds: number; sloSeconds: number; sloName: string })
    : [];
  console.log('lab down');
  const down = await labDown();
  const takeover = rows.filter((r) => r.name.startsWith('another node announces')).map((r) => r.seconds);
  const answering = rows.filter((r) => r.name.includes('answers through the new announcer')).map((r) => r.seconds);
  const stats = (xs: number[]) => (xs.length ? `min ${fmt(Math.min(...xs))}, median ${fmt([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!)}, max ${fmt(Math.max(...xs))} (${xs.map((x) => x.toFixed(1)).join(', ')})` : 'no measurement');
  const section = [
    START,
    '## The default lab: real workers (`lab up`)',
    '',
    `Measured by \`npx tsx scripts/benchmarks-real-workers.ts ${runs}\` (as root) on ${started.toISOString().slice(0, 10)}: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
    '',
    `- warm \`lab up\` (components and images cached; until every app is Synced and Healthy as real containers and the guestbook answers from the host on its LoadBalancer address), ${UP_RUNS} runs: ${stats(ups)} (target <= 45 s)`,
    `- idle, 20 s after lab up, over 30 s: **${usage.cpu.toFixed(0)} % of one core**, **${usage.rssMiB.toFixed(0)} MiB** resident (${usage.processes} processes: the supervisor's, and every process in the workers' cgroups: kubelet, containerd, shims, containers)`,
    `- \`lab down\`: ${fmt(down.seconds)}`,
    '',
    `### ha/lb-failover, ${runs} runs (exit codes ${codes.join(', ')})`,
    '',
    `- another node announces the LoadBalancer address after its announcer's hard power-off (slo.loadBalancerFailoverSeconds ${rows[0]?.sloSeconds ?? '?'} s): ${stats(takeover)}`,
    `- the guestbook answers through the new announcer, after that: ${stats(answering)}`,
    '',
    '### Builds real workers add',
    '',
    'Last build on this machine (a warm Go build cache makes these shorter than a cold one; the cold figures measured alone are in docs/lab-components.md).',
    '',
    ...buildRows(),
    END,
  ].join('\n');
  const file = join(root, 'docs', 'BENCHMARKS.md');
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const next = doc.includes(START) ? doc.replace(new RegExp(`${START}[\\s\\S]*?${END}`), section) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  console.log('written the real-workers section of docs/BENCHMARKS.md');
}

await main();
