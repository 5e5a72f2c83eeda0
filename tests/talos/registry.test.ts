/**
 * The provider registry for talos-proxmox targets (the seed profile): the talosctl etcd probe when access.talos
 * is set, the ARP/Proxmox VIP holder probe when access.proxmox is set, and the missing-capability reasons
 * otherwise. Only constructors run: no packet is sent (allowRemote merely lets them accept homelab addresses).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseProfile } from '../../core/profile/load.ts';
import { providersFor } from '../../providers/registry.ts';
import { TalosEtcdProbe } from '../../providers/talos/etcd-probe.ts';
import { HomelabVipProbe } from '../../providers/proxmox/vip-holder.ts';
import { ProxmoxNodeControl } from '../../providers/proxmox/node-control.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-registry-'));
const profilePath = join(dir, 'seed.yaml');
const seedText = readFileSync(new URL('../../profiles/seed.yaml', import.meta.url), 'utf8');
const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

beforeEach(() => {
  writeFileSync(
    join(dir, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\nclusters:\n- name: homelab\n  cluster:\n    server: https://192.168.40.60:6443\n    certificate-authority-data: ${ca}\n` +
      `users:\n- name: admin\n  user:\n    token: not-a-real-token\ncontexts:\n- name: admin@homelab\n  context:\n    cluster: homelab\n    user: admin\ncurrent-context: admin@homelab\n`,
  );
  writeFileSync(join(dir, 'talosconfig'), 'context: homelab\ncontexts:\n  homelab:\n    endpoints: [192.168.40.61]\n');
  vi.stubEnv('KUBECONFIG', join(dir, 'kubeconfig'));
  vi.stubEnv('TALOSCONFIG', join(dir, 'talosconfig'));
  vi.stubEnv('PROXMOX_TOKEN_ID', 'root@pam!clusterproof');
  vi.stubEnv('PROXMOX_TOKEN_SECRET', '6f1c2b9e-4d4a-4c8e-9a57-0b7d2f3e8a11');
});
afterEach(() => vi.unstubAllEnvs());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The seed profile, optionally without one access block (`  talos:` or `  proxmox:` and its indented lines). */
function seedWithout(key?: string): ReturnType<typeof parseProfile> {
  let text = seedText;
  if (key) {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`  ${key}:`));
    let end = start + 1;
    while (end < lines.length && (lines[end].startsWith('    ') || lines[end].trim() === '' || lines[end].trim().startsWith('#'))) end++;
    lines.splice(start, end - start);
    text = lines.join('\n');
  }
  return parseProfile(text, profilePath);
}

describe('providersFor a talos-proxmox target', () => {
  test('access.talos and access.proxmox: the talosctl etcd probe and the homelab VIP probe', async () => {
    const p = await providersFor(seedWithout(), profilePath, { allowRemote: true });
    expect(p.etcd).toBeInstanceOf(TalosEtcdProbe);
    expect(p.vip).toBeInstanceOf(HomelabVipProbe);
    expect(p.vip?.address).toBe('192.168.40.60');
    expect(p.nodeControl).toBeInstanceOf(ProxmoxNodeControl);
    // the only gap: pushing needs a throwaway branch on a real target, and this profile names none
    expect([...p.missing.keys()]).toEqual(['gitops-push']);
    expect(p.missing.get('gitops-push')).toMatch(/gitops\.testBranch is not set: on a real target clusterproof pushes only to a throwaway branch/);
    expect(p.argocd, 'Application status comes from the Kubernetes API, the token is read only when the REST API is used').toBeDefined();
  });

  test('without access.talos: etcd-direct missing, saying what is needed', async () => {
    const p = await providersFor(seedWithout('talos'), profilePath, { allowRemote: true });
    expect(p.etcd).toBeUndefined();
    expect(p.missing.get('etcd-direct')).toMatch(/access\.etcd is not configured and neither is access\.talos/);
    expect(p.vip).toBeInstanceOf(HomelabVipProbe);
  });

  test('without access.proxmox: no VIP probe, saying why, and no node power', async () => {
    const p = await providersFor(seedWithout('proxmox'), profilePath, { allowRemote: true });
    expect(p.vip).toBeUndefined();
    expect(p.missing.get('vip')).toMatch(/access\.proxmox is not configured: the VIP holder is found by matching/);
    expect(p.missing.get('node-power')).toBe('access.proxmox is not configured');
    expect(p.etcd).toBeInstanceOf(TalosEtcdProbe);
  });

  test('TALOSCONFIG unset: the error names the field and the variable', async () => {
    vi.stubEnv('TALOSCONFIG', undefined);
    await expect(providersFor(seedWithout(), profilePath, { allowRemote: true })).rejects.toThrow(/access\.talos\.talosconfig: environment variable TALOSCONFIG is not set/);
  });
});
