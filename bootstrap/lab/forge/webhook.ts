/**
 * Sending one webhook the way GitHub does: a JSON POST with the event name, a delivery id, and HMAC signatures of
 * the exact body with the shared secret (X-Hub-Signature-256, and the legacy SHA-1 X-Hub-Signature). ArgoCD
 * answers 200 when it accepts it, 400 "Webhook processing failed: HMAC verification failed" when the signature is
 * wrong. Deliveries go through the network guard: loopback, or the lab range while the lab is up.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkDestination } from '../../../core/safety/destinations.ts';

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** how much of the receiver's answer a delivery record keeps */
export const RESPONSE_EXCERPT_CHARS = 500;

export function hubSignatures(body: string, secret: string): { sha256: string; sha1: string } {
  return {
    sha256: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    sha1: `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
  };
}

export interface WebhookResult {
  id: string;
  /** the receiver's HTTP status, null when no answer came (refused, timeout, guard) */
  status: number | null;
  ok: boolean;
  /** the start of the answer's body, or the error */
  response: string;
  durationMs: number;
}

export async function sendWebhook(url: string, event: string, payload: unknown, secret: string, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<WebhookResult> {
  const id = randomUUID();
  const started = performance.now();
  const done = (status: number | null, response: string): WebhookResult => ({
    id,
    status,
    ok: status !== null && status >= 200 && status < 300,
    response: response.slice(0, RESPONSE_EXCERPT_CHARS),
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return done(null, `invalid webhook URL: ${url}`);
  }
  const verdict = checkDestination(u.hostname);
  if (!verdict.allowed) return done(null, `network guard: ${verdict.reason}`);

  const body = JSON.stringify(payload);
  const sig = hubSignatures(body, secret);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      u,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'GitHub-Hookshot/clusterproof',
          'x-github-event': event,
          'x-github-delivery': id,
          'x-github-hook-id': '1',
          'x-hub-signature-256': sig.sha256,
          'x-hub-signature': sig.sha1,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < RESPONSE_EXCERPT_CHARS) text += c;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve(done(res.statusCode ?? null, text.trim()));
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          resolve(done(res.statusCode ?? null, err.message));
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve(done(null, err.message));
    });
    req.end(body);
  });
}
