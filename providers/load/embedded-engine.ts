/**
 * The embedded engine: clusterproof-load (providers/load/engine/main.go, on the vegeta library), built by
 * `clusterproof lab build`. Open model: requests start at the planned rate whatever the server does, each with a
 * short timeout, so an outage shows up as failed requests in proportion to its length. The scenario is resolved
 * here into rate segments (per second) and fed to the engine on stdin; its stdout is one JSON line per request.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { assertDestination } from '../../core/safety/destinations.ts';
import { durationMs, type Endpoint, type Load, type Scenario } from '../../core/load/scenario.ts';
import type { LoadResult, RequestSample } from '../../core/load/samples.ts';
import type { LoadDriver, LoadRun, LoadTarget } from './driver.ts';

export interface RateSegment {
  durationMs: number;
  fromRps: number;
  toRps: number;
}

/** k6's executors as piecewise-linear rates per second (constant: one flat segment; ramping: one per stage). */
export function rateSegments(load: Load): RateSegment[] {
  const perSecond = 1000 / durationMs(load.timeUnit);
  if (load.executor === 'constant-arrival-rate') {
    return [{ durationMs: durationMs(load.duration), fromRps: load.rate * perSecond, toRps: load.rate * perSecond }];
  }
  let from = load.startRate * perSecond;
  return load.stages.map((s) => {
    const seg = { durationMs: durationMs(s.duration), fromRps: from, toRps: s.target * perSecond };
    from = seg.toRps;
    return seg;
  });
}

const inRange = (status: number, e: Endpoint) => e.expectStatus.some(([lo, hi]) => status >= lo && status <= hi);

interface EngineLine {
  t: number;
  e: string;
  m: string;
  s: number;
  d: number;
  err?: string;
}

interface EngineDone {
  done: true;
  sent: number;
  planned: number;
  elapsedMs: number;
}

export class EmbeddedEngine implements LoadDriver {
  readonly engine = 'embedded (clusterproof-load, vegeta library)';
  private version = '';

  constructor(private readonly binary: string | undefined) {}

  async probe(): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
    if (!this.binary || !existsSync(this.binary)) {
      return { ok: false, reason: `the embedded load engine is not built${this.binary ? ` (${this.binary} is missing)` : ''}: run \`clusterproof lab build --only load-engine\`` };
    }
    const { stdout } = await promisify(execFile)(this.binary, ['-version'], { timeout: 10_000 });
    this.version = stdout.trim();
    return { ok: true, version: this.version };
  }

  start(scenario: Scenario, target: LoadTarget): LoadRun {
    const url = new URL(target.baseUrl);
    assertDestination(url.hostname, { allowRemote: target.allowRemote });
    if (!this.binary) throw new Error('the embedded load engine is not built: run `clusterproof lab build --only load-engine`');
    const plan = {
      baseUrl: `${url.protocol}//${url.host}`,
      timeoutMs: durationMs(scenario.http.timeout),
      keepAlive: scenario.http.keepAlive,
      workers: scenario.load.preAllocatedVUs,
      maxWorkers: scenario.load.maxVUs,
      segments: rateSegments(scenario.load),
      endpoints: scenario.endpoints.map(({ name, method, path, weight }) => ({ name, method, path, weight })),
    };
    const byName = new Map(scenario.endpoints.map((e) => [e.name, e]));
    const startedAt = new Date();
    const t0 = performance.now();
    const samples: RequestSample[] = [];
    let summary: EngineDone | undefined;
    let stopped: string | undefined;
    let stderr = '';

    const child = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(JSON.stringify(plan));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as EngineLine | EngineDone;
      if ('done' in line) {
        summary = line;
        return;
      }
      const e = byName.get(line.e);
      const expected = e ? inRange(line.s, e) : false;
      samples.push({
        atMs: line.t,
        endpoint: line.e,
        method: line.m,
        status: line.s,
        durationMs: line.d,
        expected,
        // vegeta reports a non-2xx/3xx status as an error too; a status is named the same way whatever its class
        error: line.s ? (expected ? undefined : `HTTP ${line.s}`) : line.err || 'no response',
      });
    });

    const done = new Promise<LoadResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (!summary) {
          reject(new Error(`clusterproof-load ended without its summary (exit ${code ?? signal}): ${stderr.trim() || 'no output'}`));
          return;
        }
        resolve({
          engine: this.engine,
          engineVersion: this.version,
          startedAt,
          elapsedMs: summary.elapsedMs,
          samples,
          dropped: Math.max(0, summary.planned - summary.sent),
          aborted: stopped,
        });
      });
    });
    return {
      samples,
      elapsedMs: () => performance.now() - t0,
      stop: (reason) => {
        stopped ??= reason;
        if (child.exitCode === null) child.kill('SIGTERM');
      },
      done,
    };
  }
}
