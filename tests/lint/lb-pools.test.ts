import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, lint, only, seed } from './profiles.ts';

describe('the API VIP inside a MetalLB pool', () => {
  test('the seed, as documented, is an error that explains the ARP conflict and suggests a free address', () => {
    const [f] = only(seed(), 'vip-in-lb-pool');
    expect(f.severity).toBe('error');
    expect(f.path).toBe('network.loadBalancerPools[0].addresses[0]');
    expect(f.message).toBe('the API VIP 192.168.40.60 is also in MetalLB pool "default" (192.168.40.60/32)');
    expect(f.explanation).toContain('Talos gives 192.168.40.60 to one control-plane node');
    expect(f.explanation).toContain('node.kubernetes.io/exclude-from-external-load-balancers');
    expect(f.explanation).toContain('would both answer ARP for 192.168.40.60');
    expect(f.suggestion).toContain('replace 192.168.40.60/32 with 192.168.40.70/32 in network.loadBalancerPools[0].addresses[0]');
  });

  test('it is the only error of the seed', () => {
    expect(lint(seed()).filter((f) => f.severity === 'error').map((f) => f.code)).toEqual(['vip-in-lb-pool']);
  });

  test('a pool of its own clears it', () => {
    expect(codes(fixedSeed())).not.toContain('vip-in-lb-pool');
  });

  test('the suggested address skips other pools', () => {
    const p = seed((p) => p.network.loadBalancerPools.push({ name: 'other', addresses: ['192.168.40.70-192.168.40.74'], mode: 'l2' }));
    expect(only(p, 'vip-in-lb-pool')[0].suggestion).toContain('with 192.168.40.75/32');
  });

  test('the suggested address is the first round number above every node', () => {
    const p = seed((p) => (p.nodes[4].ip = '192.168.40.70'));
    expect(only(p, 'vip-in-lb-pool')[0].suggestion).toContain('with 192.168.40.80/32');
  });

  test('the suggested address wraps below the nodes when nothing is free above, avoiding .1', () => {
    const p = seed((p) => p.network.loadBalancerPools.push({ name: 'top', addresses: ['192.168.40.66-192.168.40.254'], mode: 'l2' }));
    expect(only(p, 'vip-in-lb-pool')[0].suggestion).toContain('with 192.168.40.2/32');
  });

  test('with no gateway declared, the usual router address .1 is avoided; a declared gateway elsewhere frees it', () => {
    const p = (gateway?: string) =>
      seed((p) => {
        p.network.gateway = gateway;
        p.network.loadBalancerPools.push({ name: 'top', addresses: ['192.168.40.66-192.168.40.254'], mode: 'l2' });
      });
    expect(only(p('192.168.40.254'), 'vip-in-lb-pool')[0].suggestion).toContain('with 192.168.40.1/32');
  });

  test('a range containing the VIP is split around it', () => {
    const p = seed((p) => (p.network.loadBalancerPools[0].addresses = ['192.168.40.58-192.168.40.60']));
    expect(only(p, 'vip-in-lb-pool')[0].suggestion).toBe(
      'keep 192.168.40.60 for the API only: replace 192.168.40.58-192.168.40.60 in network.loadBalancerPools[0].addresses[0] with 192.168.40.58-192.168.40.59',
    );
  });

  test('in BGP mode the explanation is about routes, not ARP from two speakers', () => {
    const [f] = only(seed((p) => (p.network.loadBalancerPools[0].mode = 'bgp')), 'vip-in-lb-pool');
    expect(f.explanation).toContain('BGP mode advertises the same address');
  });
});

describe('pool entries', () => {
  test('a bare address is malformed, with the /32 fix', () => {
    const [f] = only(fixedSeed((p) => (p.network.loadBalancerPools[0].addresses = ['192.168.40.70'])), 'pool-entry-invalid');
    expect(f.message).toBe('pool entry "192.168.40.70" is neither a CIDR nor a range a-b');
    expect(f.suggestion).toBe('write 192.168.40.70/32 for a single address');
  });

  test('garbage is malformed', () => {
    expect(only(fixedSeed((p) => (p.network.loadBalancerPools[0].addresses = ['lots'])), 'pool-entry-invalid')[0].severity).toBe('error');
  });

  test('an L2 pool outside the subnet is an error; a BGP one is not', () => {
    const outside = (mode: 'l2' | 'bgp') => fixedSeed((p) => (p.network.loadBalancerPools[0] = { name: 'x', addresses: ['10.0.0.10/32'], mode }));
    expect(only(outside('l2'), 'pool-outside-subnet')[0].message).toBe('MetalLB pool "x" (10.0.0.10/32) is not inside the subnet 192.168.40.0/24');
    expect(codes(outside('bgp'))).not.toContain('pool-outside-subnet');
  });

  test('a pool covering node addresses names them', () => {
    const [f] = only(fixedSeed((p) => (p.network.loadBalancerPools[0].addresses = ['192.168.40.64/31'])), 'pool-overlaps-node');
    expect(f.message).toBe('MetalLB pool "default" (192.168.40.64/31) contains the address of worker-node-1 (192.168.40.64), worker-node-2 (192.168.40.65)');
  });

  test('a pool covering the gateway', () => {
    const p = fixedSeed((p) => {
      p.network.gateway = '192.168.40.1';
      p.network.loadBalancerPools[0].addresses = ['192.168.40.1-192.168.40.5'];
    });
    expect(only(p, 'pool-contains-gateway')[0].message).toContain('contains the gateway 192.168.40.1');
  });

  test('a pool covering the network or broadcast address', () => {
    const [f] = only(fixedSeed((p) => (p.network.loadBalancerPools[0].addresses = ['192.168.40.240/28'])), 'pool-contains-reserved');
    expect(f.message).toContain('contains 192.168.40.255, the network/broadcast address of 192.168.40.0/24');
  });

  test('overlapping pools and duplicate pool names', () => {
    const p = fixedSeed((p) => p.network.loadBalancerPools.push({ name: 'default', addresses: ['192.168.40.70-192.168.40.72'], mode: 'l2' }));
    expect(only(p, 'pools-overlap')[0].path).toBe('network.loadBalancerPools[1].addresses[0]');
    expect(only(p, 'duplicate-pool-name')[0].path).toBe('network.loadBalancerPools[1].name');
  });

  test('disjoint, well-placed pools pass', () => {
    const p = fixedSeed((p) => p.network.loadBalancerPools.push({ name: 'more', addresses: ['192.168.40.80-192.168.40.89'], mode: 'l2' }));
    expect(codes(p).filter((c) => c.startsWith('pool'))).toEqual([]);
  });
});
