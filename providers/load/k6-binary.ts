/**
 * A user's own k6 (AGPL: clusterproof never installs, builds or ships it) running our script, k6/guestbook.js, on
 * the same scenario. Found on PATH (or CLUSTERPROOF_K6), its version recorded. Its per-request samples come from
 * `--out json=FILE` (k6's documented NDJSON: a "Point" line per sample, http_req_* timestamped at the request's
 * end), read while it runs, so the verdict is ours like every engine's; k6's own exit code 99 (thresholds failed)
 * is not an error here. stop() sends SIGINT, on which k6 ends the test and still writes its summary.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertDestination } from '../../core/safety/destinations.ts';
import type { Scenario } from '../../core/load/scenario.ts';
import type { LoadResult, RequestSample } from '../../core/load/samples.ts';
import type { LoadDriver, LoadRun, LoadTarget } from './driver.ts';

/** k6's exit code when thresholds failed (errext/exitcodes): a verdict, not a failure to run. */
const THRESHOLDS_FAILED = 99;

interface Point {
  type: 'Point';
  metric: string;
  data: { time: string; value: number; tags?: Record<string, string> };
}

/** Appends to `samples` every http_req_duration Point in `lines`, and counts dropped iterations. */
export function readPoints(lines: string[], t0: number, samples: RequestSample[]): { dropped: number } {
  let dropped = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    const p = JSON.parse(line) as Point | { type: 'Metric' };
    if (p.type !== 'Point') continue;
    if (p.metric === 'dropped_iterations') dropped += p.data.value;
    if (p.metric !== 'http_req_duration') continue;
    const tags = p.data.tags ?? {};
    const status = Number(tags.status ?? 0);
    const expected = tags.expected_response === 'true';
    samples.push({
      atMs: Date.parse(p.data.time) - t0,
      endpoint: tags.endpoint ?? '',
      method: tags.method ?? 'GET',
      status,
      durationMs: p.data.value,
      expected,
      error: expected ? undefined : tags.error ?? (status ? `HTTP ${status}` : 'no response'),
    });
  }
  return { dropped };
}

export class K6Binary implements LoadDriver {
  readonly engine = 'k6 (your own binary)';
  private version = '';

  constructor(
    private readonly script: string,
    private readonly binary = process.env.CLUSTERPROOF_K6 ?? 'k6',
  ) {}

  async probe(): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
    try {
      const { stdout } = await promisify(execFile)(this.binary, ['version'], { timeout: 10_000 });
      this.version = stdout.trim().split('\n')[0]!;
      return { ok: true, version: this.version };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return {
        ok: false,
        reason:
          e.code === 'ENOENT'
            ? `no k6 on PATH (${this.binary}): install k6 yourself (https://grafana.com/docs/k6/latest/set-up/install-k6/) or use the embedded engine; clusterproof never ships k6 (AGPL)`
            : `${this.binary} version failed: ${e.message}`,
      };
    }
  }

  start(scenario: Scenario, target: LoadTarget): LoadRun {
    const url = new URL(target.baseUrl);
    assertDestination(url.hostname, { allowRemote: target.allowRemote });
    const dir = mkdtempSync(join(tmpdir(), 'clusterproof-k6-'));
    const scenarioFile = join(dir, 'scenario.json');
    const points = join(dir, 'points.json');
    writeFileSync(scenarioFile, JSON.stringify(scenario));
    const args = ['run', '--quiet', '--no-color', '-e', `BASE_URL=${url.protocol}//${url.host}`, '-e', `SCENARIO=${scenarioFile}`, '-e', `SUMMARY=${join(dir, 'summary.json')}`, '--out', `json=${points}`, this.script];
    const startedAt = new Date();
    const t0 = startedAt.getTime();
    const samples: RequestSample[] = [];
    let dropped = 0;
    let offset = 0;
    let partial = '';
    let stopped: string | undefined;
    let stderr = '';
    const drain = () => {
      if (!existsSync(points)) return;
      const fd = openSync(points, 'r');
      try {
        const buf = Buffer.alloc(1 << 20);
        for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n) partial += buf.subarray(0, n).toString('utf8');
      } finally {
        closeSync(fd);
      }
      const lines = partial.split('\n');
      partial = lines.pop()!;
      dropped += readPoints(lines, t0, samples).dropped;
    };
    const timer = setInterval(drain, 500);
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const done = new Promise<LoadResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearInterval(timer);
        drain();
        rmSync(dir, { recursive: true, force: true });
        if (code !== 0 && code !== THRESHOLDS_FAILED && !stopped) {
          reject(new Error(`k6 exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ') || 'no output'}`));
          return;
        }
        const last = samples.reduce((m, s) => Math.max(m, s.atMs), 0);
        resolve({ engine: this.engine, engineVersion: this.version, startedAt, elapsedMs: last, samples, dropped, aborted: stopped });
      });
    });
    return {
      samples,
      elapsedMs: () => Date.now() - t0,
      stop: (reason) => {
        stopped ??= reason;
        if (child.exitCode === null) child.kill('SIGINT');
      },
      done,
    };
  }
}
