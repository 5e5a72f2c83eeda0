/**
 * The k6 engine driving a k6 binary: against a double that accepts only k6's documented command line
 * (tests/load/doubles/k6.mjs), it records the version, passes the scenario and the address, reads the per-request
 * Points while k6 runs, and stops it on request; without a k6 the reason names how to get one.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseScenario } from '../../core/load/scenario.ts';
import { K6Binary, readPoints } from '../../providers/load/k6-binary.ts';
import type { RequestSample } from '../../core/load/samples.ts';

const DOUBLE = join(import.meta.dirname, 'doubles', 'k6.mjs');
const SCRIPT = join(import.meta.dirname, '..', '..', 'k6', 'guestbook.js');
const scenario = (duration: string) =>
  parseScenario(
    {
      name: 'local',
      endpoints: [
        { name: 'ok', path: '/ok', weight: 1 },
        { name: 'missing', path: '/missing/{unique}', weight: 1, expectStatus: [[200, 299]] },
      ],
      load: { executor: 'constant-arrival-rate', rate: 20, duration },
      http: { timeout: '1s' },
    },
    'test scenario',
  );

describe('k6 engine (against a double of the k6 CLI)', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url!.startsWith('/missing/') ? 404 : 200;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  test('version recorded; samples read from --out json, tagged by endpoint, judged by expected_response', async () => {
    const k6 = new K6Binary(SCRIPT, DOUBLE);
    expect(await k6.probe()).toEqual({ ok: true, version: 'k6 v1.5.0 (test double; go1.26, linux/amd64)' });
    const result = await k6.start(scenario('2s'), { baseUrl: base, allowRemote: false }).done;
    expect(result.engineVersion).toMatch(/^k6 v1\.5\.0/);
    expect(result.samples.length).toBeGreaterThanOrEqual(38);
    expect(result.samples.length).toBeLessThanOrEqual(40);
    expect(new Set(result.samples.map((s) => s.endpoint))).toEqual(new Set(['ok', 'missing']));
    expect(result.samples.filter((s) => s.endpoint === 'missing').every((s) => s.status === 404 && !s.expected && s.error === 'HTTP 404')).toBe(true);
    expect(result.samples.filter((s) => s.endpoint === 'ok').every((s) => s.expected)).toBe(true);
    expect(result.samples.every((s) => s.atMs >= 0 && s.atMs < 5000)).toBe(true);
  });

  test('stop() interrupts k6 and keeps what it measured', async () => {
    const run = new K6Binary(SCRIPT, DOUBLE).start(scenario('60s'), { baseUrl: base, allowRemote: false });
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.samples.length).toBeGreaterThan(5); // read while k6 runs
    run.stop('enough');
    const result = await run.done;
    expect(result.aborted).toBe('enough');
    expect(result.samples.length).toBeLessThan(200);
  });

  test('a k6 command line outside the documented one is refused by the double (the driver would fail loudly)', async () => {
    const run = new K6Binary('/nonexistent/script.js', DOUBLE).start(scenario('1s'), { baseUrl: base, allowRemote: false });
    await expect(run.done).rejects.toThrow(/k6 exited 104: k6 double: the script \/nonexistent\/script\.js does not exist/);
  });

  test('no k6: the reason says how to get one, and that clusterproof never ships it', async () => {
    const probe = await new K6Binary(SCRIPT, '/nonexistent/k6').probe();
    expect(probe).toEqual({ ok: false, reason: expect.stringMatching(/no k6 on PATH .*never ships k6 \(AGPL\)/) });
  });

  test('Points: only http_req_duration becomes a sample; dropped_iterations are counted', () => {
    const samples: RequestSample[] = [];
    const t0 = Date.parse('2026-12-02T00:00:00Z');
    const { dropped } = readPoints(
      [
        '{"type":"Metric","metric":"http_req_duration","data":{"type":"trend"}}',
        '{"type":"Point","metric":"http_req_duration","data":{"time":"2026-12-02T00:00:01.500Z","value":12.5,"tags":{"endpoint":"read","method":"GET","status":"200","expected_response":"true"}}}',
        '{"type":"Point","metric":"http_reqs","data":{"time":"2026-12-02T00:00:01.500Z","value":1,"tags":{}}}',
        '{"type":"Point","metric":"dropped_iterations","data":{"time":"2026-12-02T00:00:02Z","value":3}}',
        '',
      ],
      t0,
      samples,
    );
    expect(samples).toEqual([{ atMs: 1500, endpoint: 'read', method: 'GET', status: 200, durationMs: 12.5, expected: true, error: undefined }]);
    expect(dropped).toBe(3);
  });
});
