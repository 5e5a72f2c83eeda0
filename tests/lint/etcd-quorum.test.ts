import { describe, expect, test } from 'vitest';
import type { Profile } from '../../core/profile/schema.ts';
import { codes, fixedSeed, only } from './profiles.ts';

function withControlPlanes(n: number): Profile {
  return fixedSeed((p) => {
    const workers = p.nodes.filter((x) => x.role === 'worker');
    const cps = Array.from({ length: n }, (_, i) => ({ name: `cp-${i + 1}`, role: 'control-plane' as const, ip: `192.168.40.${101 + i}` }));
    p.nodes = [...cps, ...workers];
    p.access.talos!.endpoints = cps.length ? cps.map((c) => c.ip) : ['192.168.40.64'];
  });
}

describe('etcd member count', () => {
  test.each([3, 5])('%i control-plane nodes are fine', (n) => {
    expect(codes(withControlPlanes(n)).filter((c) => c.startsWith('etcd'))).toEqual([]);
  });

  test('2 members: an error explaining that quorum is 2', () => {
    const [f] = only(withControlPlanes(2), 'etcd-members-too-few');
    expect(f.severity).toBe('error');
    expect(f.message).toContain('with 2 members the quorum is 2, so losing either one stops every write');
    expect(f.explanation).toContain('quorum = floor(n/2) + 1');
  });

  test('1 member: an error', () => {
    expect(only(withControlPlanes(1), 'etcd-members-too-few')[0].message).toContain('a single member tolerates no failure');
  });

  test('no control plane at all: an error', () => {
    expect(only(withControlPlanes(0), 'etcd-no-members')[0].severity).toBe('error');
  });

  test('4 members: a warning, no more tolerant than 3', () => {
    const [f] = only(withControlPlanes(4), 'etcd-members-even');
    expect(f).toMatchObject({ severity: 'warning', suggestion: 'run 3 or 5 control-plane nodes' });
  });
});
