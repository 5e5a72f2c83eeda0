/**
 * A raw GET on the Kubernetes API (health endpoints such as /readyz?verbose, which the typed clients do not cover),
 * with the kubeconfig's credentials, through the network guard.
 */
import { request, type RequestOptions } from 'node:https';
import { assertDestination } from '../core/safety/destinations.ts';
import type { KubeAccess } from './kube.ts';

export async function apiGet(
  kube: KubeAccess,
  server: string,
  path: string,
  opts: { timeoutMs?: number; allowRemote?: boolean } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(path, server);
  assertDestination(url.hostname, { allowRemote: opts.allowRemote });
  const timeout = opts.timeoutMs ?? 5000;
  const options: RequestOptions = { method: 'GET', timeout };
  await kube.config.applyToHTTPSOptions(options);
  // a fresh connection each time: a kept-alive one may point at a node that just lost the VIP
  options.agent = false;
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timeout after ${timeout} ms: ${url.href}`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}
