import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ProgressView } from '../../cli/progress-view.ts';
import type { ProgressEvent } from '../../fixtures/progress.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterproof-progress-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
const freshFile = () => join(scratch, `${++seq}-progress.jsonl`);

/** A stream that keeps every chunk written to it. */
function fakeStream(tty?: { columns?: number }) {
  const chunks: string[] = [];
  const stream = {
    isTTY: !!tty,
    columns: tty?.columns,
    write(chunk: string | Buffer) {
      chunks.push(String(chunk));
      return true;
    },
  };
  return { chunks, stream: stream as unknown as NodeJS.WritableStream & { isTTY?: boolean; columns?: number } };
}

/** Events as the fixtures append them: one JSON line each, with the time they were emitted. */
const jsonl = (events: ProgressEvent[]) => events.map((e) => `${JSON.stringify({ ...e, at: 1_700_000_000_000 })}\n`).join('');

function viewOf(events: ProgressEvent[], tty?: { columns?: number }) {
  const file = freshFile();
  writeFileSync(file, jsonl(events));
  const { chunks, stream } = fakeStream(tty);
  const view = new ProgressView(file, stream, !!tty);
  return { file, chunks, view };
}

/** Everything printed, as lines (the plain, non-live output is whole lines only). */
function plainLines(chunks: string[]): string[] {
  const text = chunks.join('');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text.split('\n').slice(0, -1);
}

const WAIT = { type: 'wait', name: '/readyz through the VIP', sloSeconds: 75, sloName: 'slo.vipFailoverHardSeconds' } as const;
const waitLine = (s: number, lastSeen?: string) => `    waiting for /readyz through the VIP: ${s} s of 75 s (slo.vipFailoverHardSeconds)${lastSeen ? `; last seen: ${lastSeen}` : ''}`;

describe('ProgressView off a terminal', () => {
  test('one line per experiment start and end, top-level phase and mark', () => {
    const { chunks, view } = viewOf([
      { type: 'experiment', suite: 'ha/vip-failover', name: 'the VIP moves' },
      { type: 'phase', name: 'steady state', depth: 0 },
      { type: 'phase-end', name: 'steady state', depth: 0, ok: true, seconds: 2.34 },
      { type: 'phase', name: 'fault', depth: 0 },
      { type: 'mark', name: 'power off cp2', kind: 'fault', atS: 2.04 },
      { type: 'mark', name: 'readyz fails', kind: 'symptom', atS: 3.5 },
      { type: 'mark', name: 'VIP on cp1', kind: 'detection', atS: 12.25 },
      { type: 'mark', name: 'readyz answers', kind: 'recovery', atS: 123.46 },
      { type: 'mark', name: 'note', kind: 'info', atS: 0 },
      { type: 'mark', name: 'odd', kind: 'something-new', atS: 1 },
      { type: 'phase-end', name: 'fault', depth: 0, ok: false, seconds: 61.96 },
      { type: 'experiment-end', suite: 'ha/vip-failover', name: 'the VIP moves', state: 'pass', seconds: 64.04 },
      { type: 'experiment', suite: '', name: 'unsuited' },
      { type: 'experiment-end', suite: '', name: 'unsuited', state: 'fail', seconds: 1 },
      { type: 'experiment-end', suite: '', name: 'skipped one', state: 'skip', seconds: 0 },
    ]);
    view.stop();
    expect(plainLines(chunks)).toEqual([
      '▶ ha/vip-failover › the VIP moves',
      '  ▸ steady state',
      '  ✓ steady state (2.3 s)',
      '  ▸ fault',
      '       2.0 s ↯ power off cp2',
      '       3.5 s ! readyz fails',
      '      12.3 s → VIP on cp1',
      '     123.5 s ✓ readyz answers',
      '       0.0 s · note',
      '       1.0 s · odd',
      '  ✗ fault (62.0 s)',
      '✓ passed: the VIP moves (64.0 s)',
      '▶ unsuited',
      '✗ FAILED: unsuited (1.0 s)',
      '· skip: skipped one (0.0 s)',
    ]);
  });

  test('phases below the top level are not shown', () => {
    const { chunks, view } = viewOf([
      { type: 'phase', name: 'fault', depth: 0 },
      { type: 'phase', name: 'inner', depth: 1 },
      { type: 'phase', name: 'deeper', depth: 2 },
      { type: 'phase-end', name: 'deeper', depth: 2, ok: true, seconds: 1 },
      { type: 'phase-end', name: 'inner', depth: 1, ok: false, seconds: 1 },
      { type: 'phase-end', name: 'fault', depth: 0, ok: true, seconds: 3 },
    ]);
    view.stop();
    expect(plainLines(chunks)).toEqual(['  ▸ fault', '  ✓ fault (3.0 s)']);
  });

  test('a wait prints only once per 10 s of elapsed time, with what was last seen', () => {
    const { chunks, view } = viewOf(
      [0.5, 5, 9.9, 10, 15, 19.9, 20.2, 29, 30.5, 40.4].map((elapsedS) => ({ ...WAIT, elapsedS, lastSeen: elapsedS > 30 ? 'HTTP 503' : undefined })),
    );
    view.stop();
    // printed at 10, then 20.2 (10.2 s on), 30.5 (10.3 s on); 40.4 is only 9.9 s after 30.5
    expect(plainLines(chunks)).toEqual([waitLine(10), waitLine(20), waitLine(30, 'HTTP 503')]);
  });

  test('each wait keeps its own 10 s, and a new experiment starts them again', () => {
    const other = { ...WAIT, name: 'a new etcd leader', sloSeconds: 5, sloName: 'slo.etcdLeaderSeconds' };
    const { chunks, view } = viewOf([
      { ...WAIT, elapsedS: 10 },
      { ...other, elapsedS: 10 },
      { ...WAIT, elapsedS: 12 },
      { type: 'experiment', suite: 's', name: 'next' },
      { ...WAIT, elapsedS: 12 },
    ]);
    view.stop();
    expect(plainLines(chunks)).toEqual([waitLine(10), '    waiting for a new etcd leader: 10 s of 5 s (slo.etcdLeaderSeconds)', '▶ s › next', waitLine(12)]);
  });

  test('an unparsable line is skipped and the lines after it still show', () => {
    const file = freshFile();
    writeFileSync(
      file,
      jsonl([{ type: 'experiment', suite: 's', name: 'one' }]) +
        'not json at all\n' +
        '{"type":"mark","name":"torn\n' +
        '\n' +
        jsonl([{ type: 'experiment', suite: 's', name: 'two' }]),
    );
    const { chunks, stream } = fakeStream();
    new ProgressView(file, stream, false).stop();
    expect(plainLines(chunks)).toEqual(['▶ s › one', '▶ s › two']);
  });

  test('a partial last line is held until its newline arrives, then shown once', () => {
    const file = freshFile();
    const second = JSON.stringify({ type: 'mark', name: 'power off cp2', kind: 'fault', atS: 2 } satisfies ProgressEvent);
    writeFileSync(file, jsonl([{ type: 'experiment', suite: 's', name: 'one' }]) + second.slice(0, 20));
    const { chunks, stream } = fakeStream();
    const view = new ProgressView(file, stream, false);
    view.stop();
    expect(plainLines(chunks)).toEqual(['▶ s › one']);
    appendFileSync(file, `${second.slice(20)}\n`);
    view.stop();
    expect(plainLines(chunks)).toEqual(['▶ s › one', '       2.0 s ↯ power off cp2']);
    view.stop(); // nothing new: nothing printed again
    expect(plainLines(chunks)).toHaveLength(2);
  });

  test('a file not there yet shows nothing, and its events show once it appears', () => {
    const file = freshFile();
    const { chunks, stream } = fakeStream();
    const view = new ProgressView(file, stream, false);
    view.stop();
    expect(chunks).toEqual([]);
    writeFileSync(file, jsonl([{ type: 'experiment', suite: 's', name: 'late' }]));
    view.stop();
    expect(plainLines(chunks)).toEqual(['▶ s › late']);
  });

  test('a character split across a 64 KiB read is shown intact', () => {
    const file = freshFile();
    const head = '{"type":"experiment","suite":"","name":"';
    // '…' is three bytes in UTF-8: put it across byte 65536
    const name = `${'a'.repeat(65_535 - Buffer.byteLength(head))}… the VIP moves`;
    writeFileSync(file, `${head}${name}"}\n`);
    expect(Buffer.from(`${head}${name}`).subarray(65_535, 65_538).toString('utf8')).toBe('…');
    const { chunks, stream } = fakeStream();
    new ProgressView(file, stream, false).stop();
    const [line] = plainLines(chunks);
    // compared by its end, so a failure shows the mangled bytes rather than 65 kB of "a"
    expect(line!.slice(-'… the VIP moves'.length)).toBe('… the VIP moves');
    expect(line === `▶ ${name}`).toBe(true);
  });
});

describe('ProgressView on a terminal', () => {
  const CLEAR = '\r\x1b[2K';

  test('a wait is a live status line, redrawn in place on each tick, cleared before the next event line', () => {
    const { chunks, view } = viewOf(
      [
        { type: 'experiment', suite: 's', name: 'e' },
        { ...WAIT, elapsedS: 1.2 },
        { ...WAIT, elapsedS: 2.7, lastSeen: 'HTTP 503' },
        { type: 'mark', name: 'readyz answers', kind: 'recovery', atS: 3 },
      ],
      { columns: 200 },
    );
    view.stop();
    expect(chunks).toEqual(['▶ s › e\n', waitLine(1), CLEAR, waitLine(2, 'HTTP 503'), CLEAR, '       3.0 s ✓ readyz answers\n']);
  });

  test('every tick of a wait is drawn, not one per 10 s', () => {
    const { chunks, view } = viewOf(
      [1, 2, 3].map((elapsedS) => ({ ...WAIT, elapsedS })),
      { columns: 200 },
    );
    view.stop();
    expect(chunks).toEqual([waitLine(1), CLEAR, waitLine(2), CLEAR, waitLine(3), CLEAR]); // stop() takes the live line away
  });

  test('the live line is cut to the terminal width', () => {
    const { chunks, view } = viewOf([{ ...WAIT, elapsedS: 5 }], { columns: 30 });
    view.stop();
    const drawn = chunks[0]!;
    expect(drawn).toBe(`${waitLine(5).slice(0, 28)}…`);
    expect(drawn.length).toBe(29);
  });

  test('a live view is the default on a TTY stream, and not elsewhere', () => {
    const file = freshFile();
    writeFileSync(file, jsonl([{ ...WAIT, elapsedS: 3 }]));
    const tty = fakeStream({ columns: 200 });
    new ProgressView(file, tty.stream).stop();
    expect(tty.chunks).toEqual([waitLine(3), CLEAR]);
    const plain = fakeStream();
    new ProgressView(file, plain.stream).stop();
    expect(plain.chunks).toEqual([]); // 3 s into a wait: not yet worth a line in a log
  });

  test("vitest's output passes through write(): the live line is taken away first and put back after", () => {
    const file = freshFile();
    writeFileSync(file, jsonl([{ ...WAIT, elapsedS: 4 }]));
    const { chunks, stream } = fakeStream({ columns: 200 });
    const view = new ProgressView(file, stream, true);
    view.stop(); // draws, then clears
    chunks.length = 0;
    appendFileSync(file, jsonl([{ ...WAIT, elapsedS: 5 }]));
    // drain without stopping: stop() would take the line away; start() drains on a timer, so drain through it
    view.start();
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        try {
          expect(chunks).toEqual([waitLine(5)]);
          view.write(' ✓ tests/x.test.ts (3 tests)\n');
          expect(chunks).toEqual([waitLine(5), CLEAR, ' ✓ tests/x.test.ts (3 tests)\n', waitLine(5)]);
        } finally {
          view.stop();
        }
        expect(chunks.at(-1)).toBe(CLEAR);
        resolve();
      }, 400);
    });
  });
});
