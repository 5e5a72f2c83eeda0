/** One lab per machine: `lab up` holds an exclusive lock file naming its pid while it works. */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { RefusedError } from '../../core/errors.ts';
import { procStartTime } from './process-manager.ts';

export function acquireLabLock(path: string, what: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, start: procStartTime(process.pid), what }));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = JSON.parse(readFileSync(path, 'utf8') || '{}') as { pid?: number; start?: string; what?: string };
      if (holder.pid && holder.start && procStartTime(holder.pid) === holder.start) {
        throw new RefusedError(`another "${holder.what}" (pid ${holder.pid}) is working on the lab; wait for it, or end it first`);
      }
      rmSync(path, { force: true }); // stale: its owner died
    }
  }
  throw new RefusedError(`could not take the lab lock ${path}`);
}
