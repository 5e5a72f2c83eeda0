import { describe, expect, test } from 'vitest';
import type { Profile } from '../../core/profile/schema.ts';
import { codes, fixedSeed, only } from './profiles.ts';

function nginx(change: (w: Profile['apps'][number]['workload']) => void): Profile {
  return fixedSeed((p) => change(p.apps[0].workload));
}

describe('anti-affinity against schedulable nodes', () => {
  test('required with more replicas than workers is an error; control-plane nodes do not count', () => {
    const [f] = only(nginx((w) => (w.replicas = 3)), 'anti-affinity-unsatisfiable');
    expect(f).toMatchObject({ severity: 'error', path: 'apps[0].workload.replicas' });
    expect(f.message).toBe(
      'app1-nginx: Deployment nginx has 3 replicas with required anti-affinity on kubernetes.io/hostname, but only 2 schedulable node(s) (worker-node-1, worker-node-2)',
    );
    expect(f.explanation).toContain('NoSchedule');
    expect(f.suggestion).toBe('lower replicas to 2, add 1 worker(s), or use preferred anti-affinity');
  });

  test('preferred with more replicas than workers is a warning', () => {
    const [f] = only(nginx((w) => Object.assign(w, { replicas: 3, antiAffinity: 'preferred' })), 'anti-affinity-colocated');
    expect(f.severity).toBe('warning');
    expect(codes(nginx((w) => Object.assign(w, { replicas: 3, antiAffinity: 'preferred' })))).not.toContain('anti-affinity-unsatisfiable');
  });

  test('no anti-affinity, or a topology key other than the hostname, is not checked', () => {
    expect(codes(nginx((w) => Object.assign(w, { replicas: 5, antiAffinity: 'none' })))).not.toContain('anti-affinity-unsatisfiable');
    expect(codes(nginx((w) => Object.assign(w, { replicas: 5, topologyKey: 'topology.kubernetes.io/zone' })))).not.toContain('anti-affinity-unsatisfiable');
  });

  test('required with as many replicas as workers warns that a rolling update cannot surge (the seed nginx)', () => {
    const [f] = only(fixedSeed(), 'anti-affinity-rollout-stall');
    expect(f.severity).toBe('warning');
    expect(f.suggestion).toContain('maxUnavailable: 1');
  });

  test('no rollout warning for a StatefulSet, fewer replicas than workers, or enough replicas to surge', () => {
    expect(codes(nginx((w) => (w.kind = 'StatefulSet')))).not.toContain('anti-affinity-rollout-stall');
    expect(codes(nginx((w) => (w.replicas = 1)))).not.toContain('anti-affinity-rollout-stall');
    const fourWorkers = fixedSeed((p) => {
      p.nodes.push({ name: 'worker-node-3', role: 'worker', ip: '192.168.40.66' }, { name: 'worker-node-4', role: 'worker', ip: '192.168.40.67' });
      p.apps[0].workload.replicas = 4;
    });
    expect(codes(fourWorkers)).not.toContain('anti-affinity-rollout-stall');
  });

  test('replicas with no worker at all', () => {
    const p = fixedSeed((p) => (p.nodes = p.nodes.filter((n) => n.role === 'control-plane')));
    expect(only(p, 'no-schedulable-nodes').map((f) => f.path)).toEqual(['apps[0].workload.replicas', 'apps[1].workload.replicas', 'apps[2].workload.replicas']);
  });
});
