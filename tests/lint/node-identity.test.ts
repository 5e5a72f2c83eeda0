import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, only } from './profiles.ts';

describe('node identity', () => {
  test('duplicate names', () => {
    const [f] = only(fixedSeed((p) => (p.nodes[4].name = 'worker-node-1')), 'duplicate-node-name');
    expect(f).toMatchObject({ severity: 'error', path: 'nodes[4].name', message: 'node name worker-node-1 is used by nodes[3] and nodes[4]' });
  });

  test('duplicate addresses', () => {
    const [f] = only(fixedSeed((p) => (p.nodes[4].ip = '192.168.40.64')), 'duplicate-node-ip');
    expect(f).toMatchObject({ path: 'nodes[4].ip', message: '192.168.40.64 is the address of both worker-node-1 and worker-node-2' });
  });

  test('duplicate Proxmox VM ids', () => {
    const [f] = only(fixedSeed((p) => (p.nodes[2].hypervisor!.vmid = 161)), 'duplicate-vmid');
    expect(f).toMatchObject({ path: 'nodes[2].hypervisor.vmid', message: 'VM id 161 is given to both cp-node-1 and cp-node-3' });
  });

  test('the seed nodes are distinct', () => {
    expect(codes(fixedSeed()).filter((c) => c.startsWith('duplicate'))).toEqual([]);
  });
});
