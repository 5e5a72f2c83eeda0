import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, only } from './profiles.ts';

describe('node addresses', () => {
  test('outside the subnet', () => {
    const [f] = only(fixedSeed((p) => (p.nodes[3].ip = '192.168.41.64')), 'node-ip-outside-subnet');
    expect(f).toMatchObject({ severity: 'error', path: 'nodes[3].ip', message: 'node worker-node-1: 192.168.41.64 is outside the subnet 192.168.40.0/24' });
  });

  test.each([
    ['192.168.40.0', 'the network address'],
    ['192.168.40.255', 'the broadcast address'],
  ])('%s is %s', (ip, what) => {
    const [f] = only(fixedSeed((p) => (p.nodes[4].ip = ip)), 'node-ip-reserved');
    expect(f.message).toBe(`node worker-node-2: ${ip} is ${what} of 192.168.40.0/24, which no host may use`);
  });

  test('a /31 subnet has no reserved addresses', () => {
    const p = fixedSeed((p) => {
      p.network.subnet = '192.168.40.64/31';
      p.nodes = p.nodes.filter((n) => n.role === 'worker');
    });
    expect(codes(p)).not.toContain('node-ip-reserved');
  });

  test('the seed nodes are all fine', () => {
    expect(codes(fixedSeed()).filter((c) => c.startsWith('node-ip'))).toEqual([]);
  });
});

describe('the VIP', () => {
  test('outside the subnet', () => {
    expect(only(fixedSeed((p) => (p.network.vip = '10.0.0.60')), 'vip-outside-subnet')[0].message).toBe('the API VIP 10.0.0.60 is outside the subnet 192.168.40.0/24');
  });

  test('the broadcast address', () => {
    expect(only(fixedSeed((p) => (p.network.vip = '192.168.40.255')), 'vip-reserved')[0].path).toBe('network.vip');
  });

  test("a node's own address", () => {
    const [f] = only(fixedSeed((p) => (p.network.vip = '192.168.40.62')), 'vip-is-node-ip');
    expect(f.message).toBe('the API VIP 192.168.40.62 is also the address of node cp-node-2');
  });
});

describe('the gateway', () => {
  test('a gateway inside the subnet, used by nobody, is fine', () => {
    expect(codes(fixedSeed((p) => (p.network.gateway = '192.168.40.1'))).filter((c) => c.startsWith('gateway'))).toEqual([]);
  });

  test('outside the subnet', () => {
    expect(only(fixedSeed((p) => (p.network.gateway = '192.168.0.1')), 'gateway-outside-subnet')[0].message).toBe(
      'the gateway 192.168.0.1 is outside the subnet 192.168.40.0/24',
    );
  });

  test('the network address', () => {
    expect(only(fixedSeed((p) => (p.network.gateway = '192.168.40.0')), 'gateway-reserved')).toHaveLength(1);
  });

  test('the same as a node or the VIP', () => {
    expect(only(fixedSeed((p) => (p.network.gateway = '192.168.40.60')), 'gateway-conflict')[0].message).toBe('the gateway 192.168.40.60 is also the API VIP');
    expect(only(fixedSeed((p) => (p.network.gateway = '192.168.40.61')), 'gateway-conflict')[0].message).toBe('the gateway 192.168.40.61 is also node cp-node-1');
  });
});

describe('subnet and cluster networks', () => {
  test('host bits in the subnet', () => {
    const [f] = only(fixedSeed((p) => (p.network.subnet = '192.168.40.61/24')), 'subnet-host-bits');
    expect(f).toMatchObject({ severity: 'warning', suggestion: 'write 192.168.40.0/24' });
  });

  test('a pod network overlapping the LAN or the Service network', () => {
    expect(only(fixedSeed((p) => (p.network.podCIDR = '192.168.0.0/16')), 'cidr-overlap')[0].message).toBe(
      'network.podCIDR 192.168.0.0/16 overlaps network.subnet 192.168.40.0/24',
    );
    const both = fixedSeed((p) => {
      p.network.podCIDR = '10.96.0.0/16';
      p.network.serviceCIDR = '10.96.0.0/12';
    });
    expect(only(both, 'cidr-overlap')[0].path).toBe('network.serviceCIDR');
  });

  test('the Talos defaults do not overlap', () => {
    const p = fixedSeed((p) => {
      p.network.podCIDR = '10.244.0.0/16';
      p.network.serviceCIDR = '10.96.0.0/12';
    });
    expect(codes(p)).not.toContain('cidr-overlap');
  });
});

describe('profiles built in code, bypassing the schema', () => {
  test('malformed addresses are reported instead of crashing the lint', () => {
    const p = fixedSeed((p) => {
      p.network.subnet = '192.168.40.0';
      p.network.vip = 'vip';
      p.network.gateway = '192.168.40';
      p.nodes[0].ip = 'cp-node-1';
    });
    expect(codes(p)).toEqual(expect.arrayContaining(['subnet-invalid', 'vip-invalid', 'gateway-invalid', 'node-ip-invalid']));
    expect(only(p, 'node-ip-invalid')[0].message).toBe('node cp-node-1: cp-node-1 is not an IPv4 address');
  });
});
