import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, lint, only } from './profiles.ts';

describe('capabilities need the configuration behind them', () => {
  test('the seed declares nothing it cannot back', () => {
    expect(codes(fixedSeed()).filter((c) => c.startsWith('capability') || c === 'node-without-hypervisor')).toEqual([]);
  });

  test('proxmox and node-power without access.proxmox', () => {
    const found = only(fixedSeed((p) => delete p.access.proxmox), 'capability-without-access');
    expect(found.map((f) => f.message)).toEqual([
      'capability proxmox is declared but access.proxmox is missing',
      'capability node-power is declared but access.proxmox is missing: power faults go through the Proxmox API',
    ]);
    expect(found.every((f) => f.severity === 'error' && f.path === 'access.proxmox')).toBe(true);
  });

  test.each([
    ['talos', 'access.talos'],
    ['argocd', 'access.argocd'],
  ] as const)('%s without %s', (cap, path) => {
    const p = fixedSeed((p) => delete p.access[cap]);
    expect(only(p, 'capability-without-access').map((f) => f.path)).toContain(path);
  });

  test('etcd-direct needs access.etcd or access.talos', () => {
    const p = fixedSeed((p) => {
      delete p.access.talos;
      p.target.capabilities = p.target.capabilities.filter((c) => c !== 'talos');
    });
    expect(only(p, 'capability-without-access')[0].message).toContain('capability etcd-direct is declared');
  });

  test('gitops-push without a gitops section', () => {
    expect(only(fixedSeed((p) => delete p.gitops), 'capability-without-access')[0].path).toBe('gitops');
  });

  test('metallb without pools', () => {
    expect(only(fixedSeed((p) => (p.network.loadBalancerPools = [])), 'capability-without-access')[0].path).toBe('network.loadBalancerPools');
  });

  test('pools without the metallb capability', () => {
    const p = fixedSeed((p) => (p.target.capabilities = p.target.capabilities.filter((c) => c !== 'metallb')));
    expect(only(p, 'pools-without-metallb')[0].severity).toBe('warning');
  });

  test('a node without a hypervisor reference when power goes through Proxmox', () => {
    const [f] = only(fixedSeed((p) => delete p.nodes[3].hypervisor), 'node-without-hypervisor');
    expect(f).toMatchObject({ severity: 'error', path: 'nodes[3].hypervisor' });
    expect(f.message).toBe('node worker-node-1 has no hypervisor reference, but power faults go through Proxmox');
  });

  test('no hypervisor reference is needed without proxmox', () => {
    const p = fixedSeed((p) => {
      p.target = { ...p.target, kind: 'generic', capabilities: ['cilium', 'metallb', 'argocd', 'vip'] };
      for (const n of p.nodes) delete n.hypervisor;
    });
    expect(codes(p)).not.toContain('node-without-hypervisor');
  });

  test('kind and capabilities that disagree, and duplicates', () => {
    expect(only(fixedSeed((p) => p.target.capabilities.push('lab')), 'capability-kind-mismatch')[0].message).toBe('capability lab declared on a talos-proxmox target');
    expect(only(fixedSeed((p) => p.target.capabilities.push('vip')), 'duplicate-capability')[0].path).toBe('target.capabilities[10]');
    const noTalos = fixedSeed((p) => (p.target.capabilities = p.target.capabilities.filter((c) => c !== 'talos')));
    expect(lint(noTalos).find((f) => f.code === 'capability-kind-mismatch')?.message).toBe('target kind talos-proxmox without the talos capability');
  });
});
