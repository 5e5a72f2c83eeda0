import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { assertDestination } from '../core/safety/destinations.ts';

export interface TlsFiles {
  /** PEM CA bundle given inline (e.g. taken from a kubeconfig); wins over caFile */
  ca?: string | Buffer;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface HttpsResult {
  status: number;
  body: string;
  latencyMs: number;
}

/** One HTTPS request through the network guard, with client certificates and a hard timeout. */
export function httpsRequest(
  url: string,
  opts: TlsFiles & { method?: string; body?: string; timeoutMs?: number; allowRemote?: boolean; headers?: Record<string, string> } = {},
): Promise<HttpsResult> {
  const u = new URL(url);
  assertDestination(u.hostname, { allowRemote: opts.allowRemote });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: u.hostname,
        port: u.port || 443,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        ca: opts.ca ?? (opts.caFile ? readFileSync(opts.caFile) : undefined),
        cert: opts.certFile ? readFileSync(opts.certFile) : undefined,
        key: opts.keyFile ? readFileSync(opts.keyFile) : undefined,
        headers: { 'content-type': 'application/json', ...opts.headers },
        agent: false,
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, latencyMs: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timeout after ${opts.timeoutMs ?? 5000} ms: ${url}`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}
