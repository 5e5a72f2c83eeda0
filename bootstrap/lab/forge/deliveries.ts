/**
 * The forge's "Recent Deliveries", like GitHub's webhook page: one JSON line per delivery, skip or failure,
 * appended as it happens, read back (oldest first) by `GET /-/deliveries` and by tests timing a push.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The wire format is the one its reader (the gitops provider) declares. */
export type { WebhookDelivery as DeliveryRecord } from '../../../providers/gitops/webhook-deliveries.ts';
import type { WebhookDelivery as DeliveryRecord } from '../../../providers/gitops/webhook-deliveries.ts';

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
