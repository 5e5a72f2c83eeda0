/**
 * What the forge does with a push its post-receive hook reported: for each updated ref, a GitHub push event
 * sent to the webhook (or a skip when the pusher asked for none with `git push -o webhook=skip`, which times the
 * receiver's polling path), a delivery record, and one line for the pusher's terminal.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { appendDelivery, type DeliveryRecord } from './deliveries.ts';
import type { PostReceiveReport } from './hook-script.ts';
import { buildPushEvent, parseRefUpdates, type RefUpdate } from './push-event.ts';
import { sendWebhook } from './webhook.ts';

/** The push option that turns the webhook off for one push. */
export const SKIP_WEBHOOK_OPTION = 'webhook=skip';

export interface WebhookTarget {
  url: string;
  /** a file holding the shared secret (read at each delivery, trimmed) */
  secretFile: string;
}

export interface PostReceiveContext {
  reposDir: string;
  publicBaseUrl: string;
  webhook: WebhookTarget | undefined;
  deliveriesFile: string;
  log: (msg: string) => void;
}

/** The repository a hook ran in, as a name under reposDir (without .git); refuses anything outside it. */
export function repositoryName(reposDir: string, report: Pick<PostReceiveReport, 'cwd' | 'gitDir'>): { gitDir: string; name: string } {
  const gitDir = resolve(report.cwd, report.gitDir);
  const rel = relative(resolve(reposDir), gitDir);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${gitDir} is not a repository under ${reposDir}`);
  return { gitDir, name: rel.replace(/\.git$/, '') };
}

async function announce(ctx: PostReceiveContext, repo: { gitDir: string; name: string }, u: RefUpdate, skip: boolean): Promise<string> {
  const base = { at: new Date().toISOString(), repo: repo.name, ref: u.ref, before: u.before, after: u.after };
  let record: DeliveryRecord;
  let line: string;
  if (skip || !ctx.webhook) {
    const response = skip ? `skipped: push option ${SKIP_WEBHOOK_OPTION}` : 'no webhook configured';
    record = { id: randomUUID(), ...base, url: ctx.webhook?.url ?? null, status: null, ok: false, response, durationMs: 0, skipped: true };
    line = `webhook not sent for ${u.ref}: ${response}`;
  } else {
    const { url, secretFile } = ctx.webhook;
    let result;
    try {
      const secret = (await readFile(secretFile, 'utf8')).trim();
      const event = await buildPushEvent({ gitDir: repo.gitDir, name: repo.name, publicBaseUrl: ctx.publicBaseUrl }, u);
      result = await sendWebhook(url, 'push', event, secret);
    } catch (err) {
      result = { id: randomUUID(), status: null, ok: false, response: (err as Error).message, durationMs: 0 };
    }
    record = { ...base, url, ...result };
    line =
      result.status === null
        ? `webhook FAILED to ${url}: ${result.response}`
        : result.ok
          ? `webhook delivered to ${url}: HTTP ${result.status} (${u.ref}, ${result.durationMs} ms)`
          : `webhook REJECTED by ${url}: HTTP ${result.status} ${result.response}`;
  }
  await appendDelivery(ctx.deliveriesFile, record).catch((err: Error) => ctx.log(`cannot record delivery ${record.id}: ${err.message}`));
  ctx.log(`${repo.name} ${u.ref} ${u.before.slice(0, 7)}..${u.after.slice(0, 7)}: ${line}`);
  return line;
}

/** Handles one hook report; resolves with the text the hook prints (git shows it to the pusher as `remote:` lines). */
export async function handlePostReceive(ctx: PostReceiveContext, report: PostReceiveReport): Promise<string> {
  const repo = repositoryName(ctx.reposDir, report);
  const skip = report.pushOptions.includes(SKIP_WEBHOOK_OPTION);
  const lines: string[] = [];
  // one event per ref, in the order git reported them, as GitHub does
  for (const u of parseRefUpdates(report.updates)) lines.push(await announce(ctx, repo, u, skip));
  return lines.length ? `${lines.join('\n')}\n` : '';
}
