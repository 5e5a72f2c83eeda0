/**
 * The report pipeline for one experiment, from the measuring code to the attachments: a real Timeline, on a fake
 * clock, waits on checks that succeed on a set poll; attachTimeline turns what it measured into the chart and the data
 * attached to this test. The expectations follow from the script below (when the fault happens, which poll succeeds,
 * the SLOs), never from the recorded data itself.
 *
 * Runs in the normal test run (so the project's own report shows a timeline chart) and, in a nested run with its own
 * results directory, as the input of the report pipeline test in build.test.ts, which expects this one test, its
 * name, the experiment's name, the fault mark's label and the "API write accepted" span.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { attachTimeline } from '../../core/report/attach.ts';
import type { TimelineData } from '../../core/report/timeline-data.ts';
import { pending, succeeded, type Check } from '../../fixtures/expect/expectation.ts';
import { sloRef } from '../../fixtures/slo.ts';
import { SloViolation, Timeline } from '../../fixtures/timeline/timeline.ts';

const EXPERIMENT = 'ha/etcd-quorum: survives the loss of the leader';
const FAULT = 'power off cp2 (etcd leader)';
const POWER_ON = 'power on cp2';
const READYZ = 'readyz through the VIP';

// The script, in milliseconds of the fake clock since the timeline started.
const POLL_MS = 250;
const FAULT_AT = 2_000;
const SYMPTOM_AT = 3_000; // readyz starts failing; the waits start here, but measure from the fault
const LEADER = { name: 'new etcd leader', polls: 3, slo: sloRef('slo.etcdLeaderElectionSeconds', 5) };
const WRITE = { name: 'API write accepted', polls: 13, slo: sloRef('slo.apiWriteRecoverySeconds', 4) };
const POWER_ON_AT = 12_000;
const REJOIN = { name: 'cp2 rejoins etcd', polls: 14, pollMs: 500, slo: sloRef('slo.nodeRecoverySeconds', 30) };
const END_AT = 20_000;

// What the script implies: each wait ends on the poll that succeeds.
const LEADER_END = SYMPTOM_AT + (LEADER.polls - 1) * POLL_MS;
const WRITE_END = LEADER_END + (WRITE.polls - 1) * POLL_MS;
const REJOIN_END = POWER_ON_AT + (REJOIN.polls - 1) * REJOIN.pollMs;
const LEADER_MS = LEADER_END - FAULT_AT; // 1.5 s, within 5 s
const WRITE_MS = WRITE_END - FAULT_AT; // 4.5 s, over 4 s
const REJOIN_MS = REJOIN_END - POWER_ON_AT; // 6.5 s, within 30 s
// readyz fails from the symptom until the write is accepted: the symptom's probe, every leader poll, every write poll but the last
const READYZ_FAILURES = 1 + LEADER.polls + (WRITE.polls - 1);

/** "2 s", "4.5 s": how the chart writes these whole and half seconds */
const s = (ms: number) => `${ms / 1000} s`;

/** A check that is pending until its `polls`-th answer; `onPoll` sees every answer. */
function succeedsOnPoll(polls: number, onPoll: (succeeded: boolean) => void): Check<true> {
  let n = 0;
  return async () => {
    const done = ++n >= polls;
    onPoll(done);
    return done ? succeeded(`after ${n} polls`, true) : pending(`poll ${n}`);
  };
}

interface Recorded {
  data: TimelineData;
  leaderSeconds: number;
  writeError: unknown;
}

/** Plays the script on a fake clock (performance.now and setTimeout), so every time in it is exact. */
async function playScript(): Promise<Recorded> {
  vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
  const timeline = new Timeline(EXPERIMENT);
  let probes = 0;
  const readyz = (up: boolean) => timeline.sample(READYZ, 'ms', up ? 9 + (probes++ % 5) * 3 : null);
  const advanceTo = (ms: number) => vi.advanceTimersByTime(ms - timeline.nowMs());
  const sampleUntil = (ms: number) => {
    while (timeline.nowMs() < ms) {
      readyz(true);
      advanceTo(Math.min(ms, timeline.nowMs() + 500));
    }
  };
  // an until() settles once the fake clock has run through its polls
  const settle = async <T>(wait: Promise<T>): Promise<T> => {
    await vi.runAllTimersAsync();
    return wait;
  };

  timeline.mark('steady state: 3/3 healthy');
  sampleUntil(FAULT_AT);
  timeline.fault(FAULT, 'PVE status/stop of VM 162');
  sampleUntil(SYMPTOM_AT);
  timeline.mark('readyz fails', 'symptom');
  readyz(false);

  const leader = await settle(timeline.until(LEADER.name, succeedsOnPoll(LEADER.polls, () => readyz(false)), LEADER.slo, { intervalMs: POLL_MS }));
  const writeError = await settle(
    timeline.until(WRITE.name, succeedsOnPoll(WRITE.polls, readyz), WRITE.slo, { kind: 'recovery', intervalMs: POLL_MS }).then(
      () => undefined,
      (err: unknown) => err,
    ),
  );

  sampleUntil(POWER_ON_AT);
  timeline.mark(POWER_ON);
  await settle(
    timeline.until(REJOIN.name, succeedsOnPoll(REJOIN.polls, () => readyz(true)), REJOIN.slo, {
      since: POWER_ON,
      kind: 'recovery',
      intervalMs: REJOIN.pollMs,
    }),
  );
  sampleUntil(END_AT);
  readyz(true);
  vi.useRealTimers();
  return { data: timeline.toData(), leaderSeconds: leader.seconds, writeError };
}

interface AttachmentMessage {
  type: string;
  data: { name: string; content: string; contentType: string };
}

/** What allure-vitest queued for the current test (it writes these to the results when the test ends). */
function attachedTo(meta: object): Array<{ name: string; contentType: string; text: string }> {
  const messages = ((meta as Record<string, unknown>).allureRuntimeMessages ?? []) as AttachmentMessage[];
  return messages
    .filter((m) => m.type === 'attachment_content')
    .map(({ data }) => ({ name: data.name, contentType: data.contentType, text: Buffer.from(data.content, 'base64').toString('utf8') }));
}

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A span's bar in the chart: where it starts and ends, its fill, its caption, and the SLO limit line drawn after it. */
function bar(svg: string, name: string): { x0: number; x1: number; fill: string; caption: string; sloX?: number } {
  const m = svg.match(
    new RegExp(`<rect x="([\\d.]+)" y="[\\d.]+" width="([\\d.]+)"[^>]* fill="([^"]+)"[^>]*><title>${escapeRe(name)}: ([^<]*)</title></rect>(?:\\n<line x1="([\\d.]+)")?`),
  );
  expect(m, `the bar of "${name}" in the chart`).not.toBeNull();
  const [, x, width, fill, caption, sloX] = m!;
  return { x0: Number(x), x1: Number(x) + Number(width), fill, caption, sloX: sloX === undefined ? undefined : Number(sloX) };
}

function markLineX(svg: string, kind: string, name: string): number {
  const m = svg.match(new RegExp(`<g><title>${kind}: ${escapeRe(name)} at [^<]*</title><line x1="([\\d.]+)"`));
  expect(m, `the line of the ${kind} mark "${name}"`).not.toBeNull();
  return Number(m![1]);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sample experiment', () => {
  test('records a timeline and attaches it to the report', async ({ task }) => {
    const recorded = await playScript();
    await attachTimeline(recorded.data);
    const attached = attachedTo(task.meta);
    const svg = attached.find((a) => a.contentType === 'image/svg+xml');
    const json = attached.find((a) => a.contentType === 'application/json');
    expect(svg?.name).toBe(`timeline: ${EXPERIMENT}`);
    expect(json?.name).toBe(`timeline data: ${EXPERIMENT}`);

    // the data attachment is what the timeline recorded
    const data = JSON.parse(json!.text) as TimelineData;
    expect(data).toEqual(recorded.data);

    // until() measured each wait from the fault (or `since`) to the poll that succeeded, and judged it by its SLO
    const span = (name: string) => data.spans.find((sp) => sp.name === name);
    expect(span(LEADER.name)).toEqual({ name: LEADER.name, startMs: FAULT_AT, endMs: LEADER_END, sloMs: LEADER.slo.ms, sloName: LEADER.slo.name, outcome: 'ok' });
    expect(recorded.leaderSeconds).toBe(LEADER_MS / 1000);
    expect(span(WRITE.name)).toEqual({ name: WRITE.name, startMs: FAULT_AT, endMs: WRITE_END, sloMs: WRITE.slo.ms, sloName: WRITE.slo.name, outcome: 'slo-violated' });
    expect(recorded.writeError).toBeInstanceOf(SloViolation);
    expect((recorded.writeError as Error).message).toContain(`took ${(WRITE_MS / 1000).toFixed(1)} s, more than ${WRITE.slo.seconds} s (${WRITE.slo.name})`);
    expect(span(REJOIN.name)).toEqual({ name: REJOIN.name, startMs: POWER_ON_AT, endMs: REJOIN_END, sloMs: REJOIN.slo.ms, sloName: REJOIN.slo.name, outcome: 'ok' });
    // ...and marked the moment it succeeded, with the kind it was given (detection by default)
    const markOf = (name: string) => data.marks.find((m) => m.name === name);
    expect(markOf(LEADER.name)).toMatchObject({ kind: 'detection', atMs: LEADER_END });
    expect(markOf(WRITE.name)).toMatchObject({ kind: 'recovery', atMs: WRITE_END });
    expect(markOf(REJOIN.name)).toMatchObject({ kind: 'recovery', atMs: REJOIN_END });

    // the chart: the fault labelled with its time, and both waits it caused starting on its line
    expect(svg!.text).toContain(`>${FAULT} ${s(FAULT_AT)}</text>`);
    const faultX = markLineX(svg!.text, 'fault', FAULT);
    const leader = bar(svg!.text, LEADER.name);
    const write = bar(svg!.text, WRITE.name);
    const rejoin = bar(svg!.text, REJOIN.name);
    expect(leader.x0).toBe(faultX);
    expect(write.x0).toBe(faultX);
    expect(rejoin.x0).toBe(markLineX(svg!.text, 'info', POWER_ON));
    // bars are as long as the waits were (to the chart's 0.1 px)
    expect((write.x1 - write.x0) / (leader.x1 - leader.x0)).toBeCloseTo(WRITE_MS / LEADER_MS, 1);
    expect(leader.caption).toBe(`${s(LEADER_MS)} / SLO ${s(LEADER.slo.ms)}`);
    expect(write.caption).toBe(`${s(WRITE_MS)} / SLO ${s(WRITE.slo.ms)} · slo-violated`);
    // the SLO limit lies SLO/duration along the bar: past the end of a wait that kept it, inside one that broke it
    const along = (b: ReturnType<typeof bar>) => (b.sloX! - b.x0) / (b.x1 - b.x0);
    expect(along(leader)).toBeCloseTo(LEADER.slo.ms / LEADER_MS, 1);
    expect(along(write)).toBeCloseTo(WRITE.slo.ms / WRITE_MS, 1);
    expect(write.fill, 'a wait over its SLO is drawn in another colour than one within it').not.toBe(leader.fill);
    expect(rejoin.fill, 'waits within their SLO share a colour').toBe(leader.fill);
    // the rejoin's limit lies far beyond the last event: named at the axis' end instead of squashing the chart
    expect(rejoin.sloX).toBeUndefined();
    expect(svg!.text).toContain(`>SLO ${s(POWER_ON_AT + REJOIN.slo.ms)} ▸</text>`);
    // every failed readyz probe is marked
    const crosses = svg!.text.match(new RegExp(`<path [^>]*><title>${escapeRe(READYZ)}: failed at `, 'g')) ?? [];
    expect(crosses).toHaveLength(READYZ_FAILURES);
    expect(svg!.text).toMatch(new RegExp(`>\\d+ ok · ${READYZ_FAILURES} failed · ms</text>`));
  });
});
