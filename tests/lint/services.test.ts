import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, only } from './profiles.ts';

describe('node ports', () => {
  test.each([29999, 32768, 80])('%i is outside 30000-32767', (port) => {
    const [f] = only(fixedSeed((p) => (p.apps[2].service = { name: 'guestbook', type: 'NodePort', port: 80, nodePort: port })), 'nodeport-out-of-range');
    expect(f).toMatchObject({ severity: 'error', path: 'apps[2].service.nodePort', message: `app3-guestbook: nodePort ${port} is outside 30000-32767` });
  });

  test.each([30000, 31659, 32767])('%i is inside the range', (port) => {
    expect(codes(fixedSeed((p) => (p.apps[2].service = { name: 'guestbook', type: 'LoadBalancer', port: 80, nodePort: port })))).not.toContain('nodeport-out-of-range');
  });

  test('a nodePort on a ClusterIP Service', () => {
    expect(only(fixedSeed((p) => (p.apps[0].service!.nodePort = 30080)), 'nodeport-on-clusterip')[0].message).toBe(
      'app1-nginx: Service nginx is type ClusterIP but declares nodePort 30080',
    );
  });

  test('the same nodePort twice', () => {
    const p = fixedSeed((p) => {
      p.apps[0].service = { name: 'nginx', type: 'NodePort', port: 80, nodePort: 30080 };
      p.apps[2].service = { name: 'guestbook', type: 'NodePort', port: 80, nodePort: 30080 };
    });
    expect(only(p, 'duplicate-nodeport')[0].message).toBe('app3-guestbook: nodePort 30080 is already used by app1-nginx');
  });
});

describe('LoadBalancer Services and apps', () => {
  test('a LoadBalancer with no pool to draw from', () => {
    const p = fixedSeed((p) => (p.network.loadBalancerPools = []));
    expect(only(p, 'loadbalancer-without-pool')[0].path).toBe('apps[2].service.type');
  });

  test('an app declared twice', () => {
    const p = fixedSeed((p) => p.apps.push(structuredClone(p.apps[1])));
    expect(only(p, 'duplicate-app')[0].message).toBe('app app2-redis is declared twice (apps[1] and apps[3])');
  });

  test('the seed apps are fine', () => {
    expect(codes(fixedSeed()).filter((c) => /nodeport|loadbalancer|duplicate-app/.test(c))).toEqual([]);
  });
});
