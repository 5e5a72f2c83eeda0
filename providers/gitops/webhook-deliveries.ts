/**
 * What the git host says about the push webhooks it sent ("Recent Deliveries" on GitHub): was the webhook for a
 * commit sent, and did ArgoCD accept it. The lab's git server serves its log at /-/deliveries; hosts without such an
 * API have no implementation, and suites then judge the webhook path by convergence alone.
 */
import { assertDestination } from '../../core/safety/destinations.ts';

/** One delivery as the lab git server logs and serves it at /-/deliveries (bootstrap/lab/forge writes it). */
export interface WebhookDelivery {
  /** X-GitHub-Delivery (a fresh uuid for skips) */
  id: string;
  /** when the delivery was attempted, ISO 8601 */
  at: string;
  /** repository name, without .git */
  repo: string;
  ref: string;
  before: string;
  after: string;
  /** the webhook URL, null when none is configured */
  url: string | null;
  status: number | null;
  /** the receiver answered 2xx */
  ok: boolean;
  /** the start of the answer's body, the error, or why nothing was sent */
  response: string;
  durationMs: number;
  skipped?: true;
}

export interface WebhookDeliveries {
  /** the delivery of the push that made `sha` the branch head, once the host has attempted it */
  forCommit(sha: string): Promise<WebhookDelivery | undefined>;
}

/** The lab git server's delivery log, e.g. http://198.18.40.10/-/deliveries. */
export class ForgeWebhookDeliveries implements WebhookDeliveries {
  constructor(private readonly baseURL: string) {
    assertDestination(new URL(baseURL).hostname);
  }

  async forCommit(sha: string): Promise<WebhookDelivery | undefined> {
    const url = new URL('/-/deliveries', this.baseURL);
    url.searchParams.set('after', sha);
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`${url.href} answered HTTP ${res.status}`);
    const list = (await res.json()) as WebhookDelivery[];
    return list.filter((d) => d.after === sha).at(-1);
  }
}

/** One line for a report: "HTTP 400 from http://…/api/webhook: Webhook processing failed: HMAC verification failed". */
export function describeDelivery(d: WebhookDelivery): string {
  if (d.skipped) return `not sent (${d.response})`;
  return `${d.status === null ? 'no answer' : `HTTP ${d.status}`} from ${d.url}: ${d.response.trim() || '(empty body)'} (${d.durationMs} ms)`;
}
