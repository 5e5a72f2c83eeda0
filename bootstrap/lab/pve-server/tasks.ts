/**
 * Server side of PVE tasks: each asynchronous operation gets a real-looking UPID, runs in the background and
 * ends as status=stopped with exitstatus "OK" or the error's first line; its log ends with "TASK OK" or
 * "TASK ERROR: ...", as PVE writes it.
 */
import type { PveTaskLogLine, PveTaskStatus } from '../../../providers/proxmox/api-types.ts';
import { formatUpid } from '../../../providers/proxmox/upid.ts';

interface Task {
  status: PveTaskStatus;
  log: string[];
}

export class TaskRegistry {
  private readonly tasks = new Map<string, Task>();
  private readonly pstartBase = Math.floor(performance.now() / 10);
  private counter = 0;

  constructor(readonly node: string) {}

  /** Start `work` as task `type` on `id` (e.g. qmstop on 101) for `user`; returns its UPID at once. */
  start(type: string, id: string, user: string, work: (log: (line: string) => void) => Promise<void>): string {
    this.counter++;
    const pid = (process.pid * 64 + this.counter) % 0xffffffff;
    const pstart = this.pstartBase + this.counter;
    const starttime = Math.floor(Date.now() / 1000);
    const upid = formatUpid({ node: this.node, pid, pstart, starttime, type, id, user });
    const task: Task = {
      status: { upid, node: this.node, pid, pstart, starttime, type, id, user, status: 'running' },
      log: [],
    };
    this.tasks.set(upid, task);
    const log = (line: string) => task.log.push(line);
    Promise.resolve()
      .then(() => work(log))
      .then(
        () => {
          log('TASK OK');
          task.status = { ...task.status, status: 'stopped', exitstatus: 'OK' };
        },
        (err: unknown) => {
          const message = (err instanceof Error ? err.message : String(err)).split('\n')[0].trim() || 'unknown error';
          log(`TASK ERROR: ${message}`);
          task.status = { ...task.status, status: 'stopped', exitstatus: message };
        },
      );
    return upid;
  }

  status(upid: string): PveTaskStatus | undefined {
    return this.tasks.get(upid)?.status;
  }

  log(upid: string, start = 0, limit = 50): PveTaskLogLine[] | undefined {
    const task = this.tasks.get(upid);
    return task?.log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
  }
}
