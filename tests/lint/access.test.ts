import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, only } from './profiles.ts';

describe('Kubernetes API server URL', () => {
  test('on the VIP (the seed) is fine', () => {
    expect(codes(fixedSeed()).filter((c) => c.startsWith('kubernetes-server') || c === 'access-url-unknown-host')).toEqual([]);
  });

  test('on one node is a warning suggesting the VIP', () => {
    const [f] = only(fixedSeed((p) => (p.access.kubernetes.server = 'https://192.168.40.62:6443')), 'kubernetes-server-not-vip');
    expect(f).toMatchObject({
      severity: 'warning',
      path: 'access.kubernetes.server',
      message: 'the Kubernetes API server https://192.168.40.62:6443 is reached through node cp-node-2 directly, not through the VIP 192.168.40.60',
      suggestion: 'set it to https://192.168.40.60:6443',
    });
  });

  test('a host name cannot be checked: a warning', () => {
    expect(only(fixedSeed((p) => (p.access.kubernetes.server = 'https://k8s.home.arpa:6443')), 'kubernetes-server-not-vip')[0].message).toContain(
      'the host name k8s.home.arpa, which lint cannot resolve',
    );
  });

  test('an address nothing declares', () => {
    const [f] = only(fixedSeed((p) => (p.access.kubernetes.server = 'https://192.168.40.99:6443')), 'access-url-unknown-host');
    expect(f.message).toBe('the Kubernetes API server https://192.168.40.99:6443 points at no declared node or VIP');
  });
});

describe('ArgoCD URL', () => {
  test('the seed NodePort on cp-node-1 warns that one node carries it', () => {
    const [f] = only(fixedSeed(), 'argocd-url-single-node');
    expect(f).toMatchObject({ severity: 'warning', message: 'ArgoCD is reached through node cp-node-1 only (https://192.168.40.61:31659)' });
    expect(codes(fixedSeed())).not.toContain('argocd-port-not-nodeport');
  });

  test('on the VIP or a LoadBalancer address from the pool: no warning', () => {
    for (const url of ['https://192.168.40.60:31659', 'https://192.168.40.70']) {
      expect(codes(fixedSeed((p) => (p.access.argocd!.url = url))).filter((c) => c.startsWith('argocd') || c === 'access-url-unknown-host')).toEqual([]);
    }
  });

  test('an address nothing declares', () => {
    expect(only(fixedSeed((p) => (p.access.argocd!.url = 'https://192.168.40.99:31659')), 'access-url-unknown-host')[0].path).toBe('access.argocd.url');
  });

  test('a node address with a port outside the NodePort range', () => {
    expect(only(fixedSeed((p) => (p.access.argocd!.url = 'https://192.168.40.64:8080')), 'argocd-port-not-nodeport')[0].message).toBe(
      'ArgoCD port 8080 on a node address is outside the NodePort range 30000-32767',
    );
  });

  test('the same port as an app NodePort', () => {
    const p = fixedSeed((p) => (p.apps[2].service = { name: 'guestbook', type: 'NodePort', port: 80, nodePort: 31659 }));
    expect(only(p, 'argocd-port-conflict')[0].severity).toBe('error');
  });
});

describe('Talos endpoints', () => {
  test('the VIP is an error quoting the Talos advice', () => {
    const [f] = only(fixedSeed((p) => (p.access.talos!.endpoints = ['192.168.40.60'])), 'talos-endpoint-is-vip');
    expect(f).toMatchObject({ severity: 'error', path: 'access.talos.endpoints[0]', suggestion: 'list the control-plane addresses instead: 192.168.40.61, 192.168.40.62, 192.168.40.63' });
    expect(f.explanation).toContain('not to use the VIP as the talosconfig endpoint');
  });

  test('a worker is a warning', () => {
    expect(only(fixedSeed((p) => (p.access.talos!.endpoints = ['192.168.40.61', '192.168.40.64'])), 'talos-endpoint-not-control-plane')[0].path).toBe(
      'access.talos.endpoints[1]',
    );
  });

  test('an unknown address is a warning', () => {
    expect(only(fixedSeed((p) => (p.access.talos!.endpoints = ['192.168.40.99'])), 'access-url-unknown-host')[0].severity).toBe('warning');
  });

  test('the control-plane addresses (the seed) are fine', () => {
    expect(codes(fixedSeed()).filter((c) => c.startsWith('talos'))).toEqual([]);
  });
});

describe('etcd endpoints', () => {
  const etcd = (endpoints: { node: string; url: string }[]) =>
    fixedSeed((p) => (p.access.etcd = { endpoints, caFile: 'ca.crt', certFile: 'client.crt', keyFile: 'client.key' }));

  test('each control-plane member at its own address is fine', () => {
    const p = etcd([1, 2, 3].map((i) => ({ node: `cp-node-${i}`, url: `https://192.168.40.6${i}:2379` })));
    expect(codes(p).filter((c) => c.startsWith('etcd-endpoint'))).toEqual([]);
  });

  test('through the VIP is an error', () => {
    expect(only(etcd([{ node: 'cp-node-1', url: 'https://192.168.40.60:2379' }]), 'etcd-endpoint-is-vip')[0].suggestion).toBe(
      "use cp-node-1's own address: https://192.168.40.61:2379",
    );
  });

  test('an unknown node, a worker, an address that is not the node', () => {
    expect(only(etcd([{ node: 'cp-node-9', url: 'https://192.168.40.61:2379' }]), 'etcd-endpoint-unknown-node')).toHaveLength(1);
    expect(only(etcd([{ node: 'worker-node-1', url: 'https://192.168.40.64:2379' }]), 'etcd-endpoint-not-control-plane')).toHaveLength(1);
    expect(only(etcd([{ node: 'cp-node-1', url: 'https://192.168.40.62:2379' }]), 'etcd-endpoint-address-mismatch')).toHaveLength(1);
  });
});
