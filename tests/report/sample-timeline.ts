import type { TimelineData } from '../../core/report/timeline-data.ts';

/**
 * A hand-recorded timeline of the kind `ha/etcd-quorum` produces when the etcd leader loses power: fault, first
 * symptom, detection, recovery, one wait held to an SLO, readyz latency probed through the VIP.
 */
export function sampleTimeline(): TimelineData {
  const readyz: TimelineData['series'][number]['points'] = [];
  for (let at = 0; at <= 20_000; at += 500) {
    const apiDown = at >= 3_000 && at < 6_500;
    readyz.push({ atMs: at, value: apiDown ? null : 9 + ((at / 500) % 5) * 3 + (at >= 6_500 && at < 8_000 ? 40 : 0) });
  }
  return {
    experiment: 'ha/etcd-quorum: survives the loss of the leader',
    startedAt: '2025-11-27T02:00:00.000Z',
    marks: [
      { name: 'steady state: 3/3 healthy', kind: 'info', atMs: 0 },
      { name: 'power off cp2 (etcd leader)', kind: 'fault', atMs: 2_000, detail: 'PVE status/stop of VM 102' },
      { name: 'readyz fails', kind: 'symptom', atMs: 3_000 },
      { name: 'new leader cp1', kind: 'detection', atMs: 3_400 },
      { name: 'write accepted', kind: 'recovery', atMs: 6_500 },
      { name: 'power on cp2', kind: 'info', atMs: 12_000 },
      { name: '3/3 healthy again', kind: 'recovery', atMs: 18_500 },
    ],
    spans: [
      { name: 'new etcd leader', startMs: 2_000, endMs: 3_400, sloMs: 5_000, outcome: 'ok' },
      { name: 'API write accepted', startMs: 2_000, endMs: 6_500, sloMs: 4_000, outcome: 'slo-violated' },
      { name: 'cp2 rejoins etcd', startMs: 12_000, endMs: 18_500, sloMs: 30_000, outcome: 'ok' },
    ],
    series: [{ name: 'readyz through the VIP', unit: 'ms', points: readyz }],
  };
}
