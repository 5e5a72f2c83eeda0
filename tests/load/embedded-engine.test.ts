/**
 * The embedded engine (clusterproof-load, built by `lab build`) against a local HTTP server on 127.0.0.1: the
 * planned open-model rate is sent, every request comes back named by its endpoint, statuses outside expectStatus
 * count as failed, a server that stops answering shows up as failed requests in proportion, and stop() ends it early.
 */
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { componentBinary } from '../../bootstrap/lab/build/index.ts';
import { parseScenario, type Scenario } from '../../core/load/scenario.ts';
import { EmbeddedEngine } from '../../providers/load/embedded-engine.ts';

const binary = componentBinary('clusterproof-load', { mustExist: false });
let server: Server;
let base = '';
let hanging = false;

const scenario = (rate: number, duration: string): Scenario =>
  parseScenario(
    {
      name: 'local',
      endpoints: [
        { name: 'ok', path: '/ok', weight: 3 },
        { name: 'teapot', path: '/teapot/{unique}', weight: 1 },
      ],
      load: { executor: 'constant-arrival-rate', rate, duration, preAllocatedVUs: 5, maxVUs: 50 },
      http: { timeout: '300ms' },
    },
    'test scenario',
  );

describe.skipIf(!existsSync(binary))('embedded load engine', () => {
  const seen = new Set<string>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.add(req.url!);
      if (hanging) return; // never answers: the client's timeout ends the request
      res.statusCode = req.url!.startsWith('/teapot/') ? 418 : 200;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  test('sends the planned rate, names each endpoint, judges statuses by expectStatus', async () => {
    const engine = new EmbeddedEngine(binary);
    expect(await engine.probe()).toEqual({ ok: true, version: expect.stringMatching(/^clusterproof-load vegeta-v/) });
    const result = await engine.start(scenario(50, '2s'), { baseUrl: base, allowRemote: false }).done;
    expect(result.samples.length).toBeGreaterThanOrEqual(95);
    expect(result.samples.length).toBeLessThanOrEqual(101);
    expect(result.dropped).toBeLessThanOrEqual(1);
    const byEndpoint = { ok: result.samples.filter((s) => s.endpoint === 'ok'), teapot: result.samples.filter((s) => s.endpoint === 'teapot') };
    expect(byEndpoint.ok.length + byEndpoint.teapot.length).toBe(result.samples.length);
    expect(byEndpoint.teapot.length).toBeGreaterThan(5);
    expect(byEndpoint.ok.every((s) => s.status === 200 && s.expected)).toBe(true);
    expect(byEndpoint.teapot.every((s) => s.status === 418 && !s.expected && s.error === 'HTTP 418')).toBe(true);
    // {unique} differs per request, and the fragment carrying the endpoint never reaches the server
    expect([...seen].filter((u) => u.startsWith('/teapot/')).length).toBe(byEndpoint.teapot.length);
    expect([...seen].some((u) => u.includes('#'))).toBe(false);
    expect(result.samples.every((s, i, a) => i === 0 || s.atMs >= a[i - 1]!.atMs - 50)).toBe(true);
  });

  test('a server that stops answering: every request in that time fails on the timeout; stop() ends the run', async () => {
    const run = new EmbeddedEngine(binary).start(scenario(40, '30s'), { baseUrl: base, allowRemote: false });
    await new Promise((r) => setTimeout(r, 1000));
    hanging = true;
    await new Promise((r) => setTimeout(r, 1000));
    hanging = false;
    await new Promise((r) => setTimeout(r, 1000));
    run.stop('enough');
    const result = await run.done;
    expect(result.aborted).toBe('enough');
    expect(result.elapsedMs).toBeLessThan(10_000);
    const failed = result.samples.filter((s) => !s.expected && s.endpoint === 'ok');
    // about a second of 40/s, three quarters of them on /ok
    expect(failed.length).toBeGreaterThan(15);
    expect(failed.every((s) => s.status === 0 && s.durationMs >= 290)).toBe(true);
  });

  test('refuses an address outside loopback and the lab before starting anything', () => {
    expect(() => new EmbeddedEngine(binary).start(scenario(1, '1s'), { baseUrl: 'http://192.0.2.1', allowRemote: false })).toThrow(/192\.0\.2\.1/);
  });
});
