/**
 * Measures the pre-upgrade tools on the lab and writes the upgrade section of docs/BENCHMARKS.md (between the
 * upgrade markers; scripts/benchmarks.ts keeps it): the build of the next Kubernetes release, `preflight --target
 * lab` (several runs, each check's time, the snapshot), and one rolling upgrade (upgrade/rolling) from the lab's
 * default release, with its figures as the suite reported them. Run as root with the lab's components and
 * `lab build --kubernetes <to>` built: `npx tsx scripts/benchmarks-upgrade.ts [to] [preflight runs]` (about 8
 * minutes). It leaves the lab down. Nothing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { kubernetesRecipesAt } from '../bootstrap/lab/build/components.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../bootstrap/lab/build/index.ts';
import { labDown, labUp } from '../bootstrap/lab/lab.ts';
import { runSuites } from '../cli/commands/run.ts';
import { buildPaths } from '../core/build-cache.ts';

const root = join(import.meta.dirname, '..');
const to = process.argv[2] ?? 'v1.35.4';
const runs = Number(process.argv[3] ?? 3);
const START = '<!-- upgrade:start -->';
const END = '<!-- upgrade:end -->';
const fmt = (s: number) => `${s.toFixed(1)} s`;
const stats = (xs: number[]) => (xs.length ? `min ${fmt(Math.min(...xs))}, median ${fmt([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!)}, max ${fmt(Math.max(...xs))}` : 'no run');
const toMinor = `kubernetes=${to.replace(/^v/, '').split('.').slice(0, 2).join('.')}.x`;

function buildRows(): string[] {
  return kubernetesRecipesAt(to).map((r) => {
    const stamp = join(buildPaths.binDir(r), '.clusterproof-build.json');
    if (!existsSync(stamp)) return `| ${r.name} | ${r.version} | not built | |`;
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as { buildSeconds: number; builtAt: string; binaries: Record<string, number> };
    return `| ${r.name} | ${r.version} | ${fmt(s.buildSeconds)} (${s.builtAt.slice(0, 10)}) | ${Object.entries(s.binaries).map(([n, b]) => `${n} ${(b / 2 ** 20).toFixed(0)} MiB`).join(', ')} |`;
  });
}

async function main(): Promise<void> {
  const started = new Date();
  console.log('lab down, lab up at the default release');
  await labDown();
  await labUp((m) => console.log(`  ${m}`), { gitops: { pollSeconds: 30, pollJitterSeconds: 0 } });

  const preflights: Array<{ seconds: number; verdict: string; checks: Array<{ id: string; seconds: number; status: string }>; snapshotBytes?: number }> = [];
  for (let i = 1; i <= runs; i++) {
    console.log(`preflight run ${i}/${runs}`);
    const dir = mkdtempSync(join(tmpdir(), 'bench-preflight-'));
    const t0 = performance.now();
    let out = '';
    try {
      out = execFileSync(process.execPath, [join(root, 'bin/clusterproof.mjs'), 'preflight', '--target', 'lab', '--to', toMinor, '--json', '--snapshot-dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      out = (err as { stdout?: string }).stdout ?? '';
    }
    const seconds = (performance.now() - t0) / 1000;
    const report = JSON.parse(out) as { verdict: string; checks: Array<{ id: string; seconds: number; status: string; evidence: { snapshot?: { path: string } } }> };
    const snap = report.checks.find((c) => c.id === 'etcd')?.evidence.snapshot?.path;
    preflights.push({ seconds, verdict: report.verdict, checks: report.checks, snapshotBytes: snap && existsSync(snap) ? statSync(snap).size : undefined });
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`upgrade/rolling to ${to}`);
  const results = join(root, 'reports', 'benchmark-upgrade-results');
  rmSync(results, { recursive: true, force: true });
  const t0 = performance.now();
  const code = await runSuites({ target: 'lab', suite: ['upgrade/rolling'], upgradeTo: to, results });
  const rollSeconds = (performance.now() - t0) / 1000;
  const params: Array<{ name: string; value: string }> = [];
  for (const f of readdirSync(results).filter((n) => n.endsWith('-result.json'))) {
    params.push(...((JSON.parse(readFileSync(join(results, f), 'utf8')) as { parameters?: Array<{ name: string; value: string }> }).parameters ?? []));
  }
  const figure = (name: string) => params.find((p) => p.name === name)?.value ?? 'not reported';
  console.log('lab down');
  await labDown();

  const ids = preflights[0]?.checks.map((c) => c.id) ?? [];
  const section = [
    START,
    '## Pre-upgrade verification on the lab',
    '',
    `Measured by \`npx tsx scripts/benchmarks-upgrade.ts ${to} ${runs}\` (as root) on ${started.toISOString().slice(0, 10)}: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, git ${execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()}.`,
    '',
    `### \`preflight --target lab --to ${toMinor}\`, ${runs} runs (verdicts: ${preflights.map((p) => p.verdict).join(', ')})`,
    '',
    `- whole command (with the etcd snapshot taken and verified): ${stats(preflights.map((p) => p.seconds))}; snapshot ${preflights[0]?.snapshotBytes ? `${(preflights[0].snapshotBytes / 2 ** 20).toFixed(1)} MiB` : 'not taken'}`,
    ...ids.map((id) => `- ${id}: ${stats(preflights.map((p) => p.checks.find((c) => c.id === id)?.seconds ?? 0))}`),
    '',
    `### \`run --target lab --suite upgrade/rolling --upgrade-to ${to}\` from ${DEFAULT_KUBERNETES_VERSION} (exit ${code}, ${fmt(rollSeconds)} with the steady-state checks)`,
    '',
    ...['cp1', 'cp2', 'cp3', 'w1', 'w2'].map((n) => `- ${n} upgraded in ${figure(`${n} upgraded in`)}; failed requests during its turn: ${figure(`failed requests during ${n}'s turn`)}`),
    `- longest /readyz gap through the VIP: ${figure('longest /readyz gap through the VIP during the upgrade')}`,
    `- failed requests over the upgrade (20/s to the guestbook's LoadBalancer address during every turn): ${figure('failed requests during the upgrade')}`,
    '- a control plane\'s turn is mostly kube-apiserver\'s own graceful shutdown: its log shows it exiting (code 0) about 60 s after its SIGTERM; why it takes that long was not investigated',
    '',
    '### The next release\'s build (cold figures are the first build; a rebuild of the same version is cached)',
    '',
    '| component | version | build here | binaries |',
    '|---|---|---|---|',
    ...buildRows(),
    END,
  ].join('\n');
  const file = join(root, 'docs', 'BENCHMARKS.md');
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, doc.includes(START) ? doc.replace(new RegExp(`${START}[\\s\\S]*?${END}`), section) : `${doc.trimEnd()}\n\n${section}\n`);
  console.log('written the upgrade section of docs/BENCHMARKS.md');
}

await main();
