/**
 * What a real lab worker is configured with, read back as the daemons would read it: kubelet on its own cgroup
 * subtree with the cgroupfs driver on cgroup v1, no disk-pressure eviction or image GC (no registry to pull back
 * from), the lab CA's serving certificate, pods told the cluster DNS; containerd clamping oom_score_adj and pinning
 * the lab's own sandbox image; one CNI bridge on the node's pod CIDR without masquerade; kube-proxy leaving the
 * host-only conntrack sysctls alone. And the kernel tunables kubelet would change host-wide are masked only where
 * this host differs.
 */
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { cniConflist, containerdConfig, kubeletConfig, kubeProxyConfig, workerPaths } from '../../../bootstrap/lab/worker/worker-config.ts';
import { KUBELET_KERNEL_TUNABLES, tunablesToMask, enterNode } from '../../../bootstrap/lab/worker/mount-namespace.ts';
import { labNode } from '../../../providers/lab/plan.ts';

const paths = workerPaths('/data', 'w1');
const tls = { ca: '/pki/ca.crt', servingCert: '/pki/w1.crt', servingKey: '/pki/w1.key' };

describe('kubelet', () => {
  const cfg = parse(kubeletConfig('w1', paths, tls, 40));
  test('own cgroup subtree, cgroupfs, cgroup v1 allowed, no negative oom score', () => {
    expect(cfg).toMatchObject({ cgroupDriver: 'cgroupfs', cgroupRoot: '/clusterproof/w1', cgroupsPerQOS: true, failCgroupV1: false, oomScoreAdj: 0, failSwapOn: false });
  });
  test('no disk eviction nor image GC: the host disk is shared and nothing can be pulled back', () => {
    expect(cfg.evictionHard).toMatchObject({ 'nodefs.available': '0%', 'imagefs.available': '0%' });
    expect(cfg.imageGCHighThresholdPercent).toBe(100);
  });
  test('serves on the node address with the lab CA certificate; pods get the cluster DNS and no host resolver', () => {
    expect(cfg).toMatchObject({ address: labNode('w1').ip, tlsCertFile: tls.servingCert, tlsPrivateKeyFile: tls.servingKey, readOnlyPort: 0, clusterDNS: ['198.18.128.10'], resolvConf: '' });
    expect(cfg.authentication.x509.clientCAFile).toBe(tls.ca);
    expect(cfg.containerRuntimeEndpoint).toBe('unix:///run/containerd/containerd.sock');
  });
});

describe('containerd', () => {
  const toml = containerdConfig(paths, { runc: '/bin/runc', cniBinDir: '/cni' });
  test('its own root on the node disk, state in the node /run', () => {
    expect(toml).toContain('root = "/data/w1/containerd"');
    expect(toml).toContain('state = "/run/containerd"');
  });
  test('oom_score_adj clamped, pod netns under its state, the lab pause image pinned, runc without systemd', () => {
    expect(toml).toMatch(/restrict_oom_score_adj = true/);
    expect(toml).toMatch(/netns_mounts_under_state_dir = true/);
    expect(toml).toMatch(/sandbox = "lab\.local\/pause:/);
    expect(toml).toMatch(/SystemdCgroup = false/);
    expect(toml).toContain('BinaryName = "/bin/runc"');
    expect(toml).toContain(`conf_dir = "${paths.cniConfDir}"`);
  });
});

describe('CNI and kube-proxy', () => {
  test('one bridge on the node pod CIDR, hairpin on, no masquerade, leases on the node disk', () => {
    const conf = JSON.parse(cniConflist('w2', workerPaths('/data', 'w2')));
    const bridge = conf.plugins.find((p: { type: string }) => p.type === 'bridge');
    expect(bridge).toMatchObject({ hairpinMode: true, ipMasq: false, isGateway: true });
    expect(bridge.ipam).toMatchObject({ type: 'host-local', dataDir: '/data/w2/cni/networks', ranges: [[{ subnet: labNode('w2').podCidr }]] });
  });
  test('kube-proxy: iptables, conntrack sysctls left alone, NodePorts on the node address only', () => {
    const cfg = parse(kubeProxyConfig('w1', '/kp.kubeconfig'));
    expect(cfg).toMatchObject({ mode: 'iptables', hostnameOverride: 'w1', conntrack: { maxPerCore: 0, min: 0 }, iptables: { localhostNodePorts: false }, nodePortAddresses: ['primary'] });
  });
});

describe('kernel tunables', () => {
  test('only the values that differ from kubelet expectations are masked', () => {
    const host: Record<string, string> = { ...KUBELET_KERNEL_TUNABLES, 'kernel/panic': '1', 'vm/overcommit_memory': '0' };
    expect(tunablesToMask((k) => host[k])).toEqual([
      ['vm/overcommit_memory', '1'],
      ['kernel/panic', '10'],
    ]);
  });
  test('a tunable the kernel lacks is not masked', () => {
    expect(tunablesToMask(() => undefined)).toEqual([]);
  });
  test('processes enter the node with nsenter (network and mount), never ip netns exec', () => {
    expect(enterNode('w1')).toEqual(['nsenter', '--net=/run/netns/cp-w1', '--mount=/run/clusterproof/mnt/w1', '--']);
  });
});
