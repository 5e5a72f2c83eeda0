import { describe, expect, test } from 'vitest';
import { attachTimeline } from '../../core/report/attach.ts';
import { sampleTimeline } from './sample-timeline.ts';

// Runs in the normal test run (so the project's own report shows a timeline chart) and, in a nested run with
// its own results directory, as the input of the report pipeline test in build.test.ts.
describe('sample experiment', () => {
  test('records a timeline and attaches it to the report', async () => {
    const timeline = sampleTimeline();
    const leader = timeline.spans.find((s) => s.name === 'new etcd leader');
    expect(leader?.outcome).toBe('ok');
    await attachTimeline(timeline);
  });
});
