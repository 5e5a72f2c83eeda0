/**
 * What `clusterproof run` shows while the suites run: it tails the progress file the fixtures append to
 * (fixtures/progress.ts) and prints each experiment as it starts and ends, its top-level phases, its timeline marks
 * as they happen, and its SLO waits against their bound ("waiting for /readyz through the VIP: 23 s of 75 s").
 * On a terminal the wait in progress is one live line, redrawn each second; elsewhere (CI logs) every event is a
 * line of its own and a long wait prints a line every 10 s. vitest's own output passes through `write`, so the live
 * line never tears it.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ProgressEvent } from '../fixtures/progress.ts';

const KIND_SIGN: Record<string, string> = { fault: '↯', symptom: '!', detection: '→', recovery: '✓', info: '·' };
const PLAIN_WAIT_EVERY_S = 10;

export class ProgressView {
  private offset = 0;
  private partial = '';
  // a character split across two reads stays whole
  private readonly decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private status = '';
  private lastPlainWait = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly live = !!out.isTTY,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.drain(), 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.drain();
    this.setStatus('');
  }

  /** vitest's output (to `stream`, default ours): printed as it is, with the live line taken away first and put back after. */
  write(chunk: string | Buffer, stream: NodeJS.WritableStream = this.out): void {
    const shown = this.status;
    this.setStatus('');
    stream.write(chunk);
    this.setStatus(shown);
  }

  private drain(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += this.decoder.write(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.show(JSON.parse(line) as ProgressEvent);
      } catch {
        // a line we cannot read is skipped: progress never stops a run
      }
    }
  }

  private show(e: ProgressEvent): void {
    switch (e.type) {
      case 'experiment':
        this.lastPlainWait.clear();
        return this.line(`▶ ${e.suite ? `${e.suite} › ` : ''}${e.name}`);
      case 'experiment-end':
        return this.line(`${e.state === 'pass' ? '✓ passed' : e.state === 'fail' ? '✗ FAILED' : `· ${e.state}`}: ${e.name} (${e.seconds.toFixed(1)} s)`);
      case 'phase':
        return e.depth === 0 ? this.line(`  ▸ ${e.name}`) : undefined;
      case 'phase-end':
        // a wait's final name already says how long it took
        return e.depth === 0 ? this.line(`  ${e.ok ? '✓' : '✗'} ${e.name}${/ s\b/.test(e.name) ? '' : ` (${e.seconds.toFixed(1)} s)`}`) : undefined;
      case 'mark':
        return this.line(`    ${e.atS.toFixed(1).padStart(6)} s ${KIND_SIGN[e.kind] ?? '·'} ${e.name}`);
      case 'wait': {
        const text = `    waiting for ${e.name}: ${Math.floor(e.elapsedS)} s of ${e.sloSeconds} s (${e.sloName})${e.lastSeen ? `; last seen: ${e.lastSeen}` : ''}`;
        if (this.live) return this.setStatus(text);
        const last = this.lastPlainWait.get(e.name) ?? 0;
        if (e.elapsedS - last >= PLAIN_WAIT_EVERY_S) {
          this.lastPlainWait.set(e.name, e.elapsedS);
          this.line(text);
        }
        return;
      }
    }
  }

  /** An event line; it also ends a wait's live line (the next tick draws it again if the wait goes on). */
  private line(text: string): void {
    this.setStatus('');
    this.out.write(`${text}\n`);
  }

  private setStatus(text: string): void {
    if (!this.live) return;
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    if (this.status) this.out.write('\r\x1b[2K');
    this.status = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    if (this.status) this.out.write(this.status);
  }
}
