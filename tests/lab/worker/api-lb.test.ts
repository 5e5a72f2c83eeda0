/**
 * The node-local API load balancer (KubePrism's role): bytes pass through both ways, a connection goes to a live
 * upstream when another is gone, and a dead upstream is marked so the next connections skip it. Loopback only.
 */
import { createServer, connect, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { ApiLoadBalancer } from '../../../bootstrap/lab/worker/api-lb.ts';

const servers: Server[] = [];
const lbs: ApiLoadBalancer[] = [];
afterEach(async () => {
  await Promise.all(lbs.splice(0).map((lb) => lb.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A TCP server that answers every line with `<name>:<line>`. */
async function echo(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.on('data', (d) => s.write(`${name}:${d}`)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

/** A port nobody listens on: bind, read the port, close. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port }, () => c.write(line));
    c.once('data', (d) => {
      resolve(String(d));
      c.destroy();
    });
    c.once('error', reject);
    c.once('close', () => resolve(''));
  });
}

describe('api-lb', () => {
  test('passes bytes through to an upstream and back', async () => {
    const a = await echo('a');
    const lb = new ApiLoadBalancer([{ host: '127.0.0.1', port: a.port }]);
    lbs.push(lb);
    await lb.listen('127.0.0.1', 0);
    expect(await ask(lb.address(), 'hello')).toBe('a:hello');
  });

  test('an upstream that refuses is skipped: the connection reaches the live one, and the dead one is marked', async () => {
    const dead = await deadPort();
    const b = await echo('b');
    const lb = new ApiLoadBalancer([{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: b.port }], { checkIntervalMs: 60_000 });
    lbs.push(lb);
    await lb.listen('127.0.0.1', 0);
    expect(lb.order()[0]).toEqual({ host: '127.0.0.1', port: b.port, healthy: true, latencyMs: expect.any(Number) });
    for (let i = 0; i < 3; i++) expect(await ask(lb.address(), `x${i}`)).toBe(`b:x${i}`);
  });

  test('an upstream that goes away after the start is detected by the health check', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const lb = new ApiLoadBalancer([{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }], { checkIntervalMs: 50 });
    lbs.push(lb);
    await lb.listen('127.0.0.1', 0);
    await new Promise((r) => a.server.close(r));
    servers.splice(servers.indexOf(a.server), 1);
    await expect.poll(() => lb.order().map((u) => u.port)[0], { timeout: 3000 }).toBe(b.port);
    expect(await ask(lb.address(), 'y')).toBe('b:y');
  });

  test('with every upstream gone the client is closed at once, not left hanging', async () => {
    const lb = new ApiLoadBalancer([{ host: '127.0.0.1', port: await deadPort() }], { checkIntervalMs: 60_000 });
    lbs.push(lb);
    await lb.listen('127.0.0.1', 0);
    const started = performance.now();
    expect(await ask(lb.address(), 'z')).toBe('');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('refuses to start without upstreams', () => {
    expect(() => new ApiLoadBalancer([])).toThrow(/no upstream/);
  });
});
