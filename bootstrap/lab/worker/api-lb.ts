/**
 * The node-local API load balancer a real lab worker's kubelet and kube-proxy talk to, as Talos' KubePrism does:
 * 127.0.0.1:7445 on the node, forwarding TCP to every control plane's API server, so the workers never depend on
 * the VIP (a VIP failover would otherwise stall their heartbeats for as long as the VIP is moving).
 *
 * Each upstream is health-checked with a TCP connect every second; a connection goes to the healthy upstream with
 * the lowest connect latency and, if that connect fails, to the next one. TLS passes through untouched (the API
 * server's certificate lists 127.0.0.1).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export const KUBE_PRISM_PORT = 7445;

export interface Upstream {
  host: string;
  port: number;
}

interface UpstreamState extends Upstream {
  healthy: boolean;
  latencyMs: number;
}

function dial(u: Upstream, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.host, port: u.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${u.host}:${u.port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export class ApiLoadBalancer {
  private readonly upstreams: UpstreamState[];
  private server?: Server;
  private timer?: NodeJS.Timeout;

  constructor(
    upstreams: Upstream[],
    private readonly opts: { checkIntervalMs?: number; connectTimeoutMs?: number; log?: (line: string) => void } = {},
  ) {
    if (upstreams.length === 0) throw new Error('api-lb: no upstream API servers');
    this.upstreams = upstreams.map((u) => ({ ...u, healthy: true, latencyMs: 0 }));
  }

  /** Healthy upstreams first, fastest first; then the rest (a check may be stale: trying them beats refusing). */
  order(): Upstream[] {
    const healthy = this.upstreams.filter((u) => u.healthy).sort((a, b) => a.latencyMs - b.latencyMs);
    return [...healthy, ...this.upstreams.filter((u) => !u.healthy)];
  }

  private async check(u: UpstreamState): Promise<void> {
    const started = performance.now();
    try {
      const s = await dial(u, this.opts.connectTimeoutMs ?? 1000);
      s.destroy();
      if (!u.healthy) this.opts.log?.(`api-lb: ${u.host}:${u.port} healthy again`);
      u.healthy = true;
      u.latencyMs = performance.now() - started;
    } catch (err) {
      if (u.healthy) this.opts.log?.(`api-lb: ${u.host}:${u.port} unhealthy: ${(err as Error).message}`);
      u.healthy = false;
    }
  }

  private async forward(client: Socket): Promise<void> {
    client.pause();
    for (const u of this.order()) {
      try {
        const upstream = await dial(u, this.opts.connectTimeoutMs ?? 1000);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        return;
      } catch {
        const state = this.upstreams.find((s) => s.host === u.host && s.port === u.port);
        if (state) state.healthy = false;
      }
    }
    client.destroy();
  }

  async listen(host: string, port: number): Promise<void> {
    await Promise.all(this.upstreams.map((u) => this.check(u)));
    this.timer = setInterval(() => void Promise.all(this.upstreams.map((u) => this.check(u))), this.opts.checkIntervalMs ?? 1000);
    this.server = createServer((client) => void this.forward(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
  }

  address(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
