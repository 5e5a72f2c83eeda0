/**
 * The forge's "Recent Deliveries", like GitHub's webhook page: one JSON line per delivery, skip or failure,
 * appended as it happens, read back (oldest first) by `GET /-/deliveries` and by tests timing a push.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DeliveryRecord {
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

export async function appendDelivery(file: string, record: DeliveryRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  // one write of one line with O_APPEND: concurrent pushes never interleave inside a record
  await appendFile(file, `${JSON.stringify(record)}\n`);
}

export async function readDeliveries(file: string, filter: { after?: string } = {}): Promise<DeliveryRecord[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const records: DeliveryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as DeliveryRecord);
    } catch {
      // a torn last line (the server was killed mid-write) is not a delivery
    }
  }
  return filter.after ? records.filter((r) => r.after === filter.after) : records;
}
