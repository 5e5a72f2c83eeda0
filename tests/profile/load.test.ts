import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadProfile, parseProfile, ProfileError } from '../../core/profile/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-profile-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function loadError(path: string): Promise<ProfileError> {
  const err = await loadProfile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ProfileError)) throw new Error(`expected a ProfileError, got ${String(err)}`);
  return err;
}

describe('the seed profile', () => {
  test('loads and describes the documented homelab', async () => {
    const { profile, path, dir: profileDir } = await loadProfile('profiles/seed.yaml');
    expect(path).toMatch(/\/profiles\/seed\.yaml$/);
    expect(profileDir).toMatch(/\/profiles$/);
    expect(profile.network).toMatchObject({ subnet: '192.168.40.0/24', vip: '192.168.40.60' });
    expect(profile.network.loadBalancerPools).toEqual([{ name: 'default', addresses: ['192.168.40.60/32'], mode: 'l2' }]);
    expect(profile.nodes.map((n) => [n.role, n.ip])).toEqual([
      ['control-plane', '192.168.40.61'],
      ['control-plane', '192.168.40.62'],
      ['control-plane', '192.168.40.63'],
      ['worker', '192.168.40.64'],
      ['worker', '192.168.40.65'],
    ]);
    expect(profile.target).toEqual({
      kind: 'talos-proxmox',
      capabilities: ['talos', 'proxmox', 'cilium', 'metallb', 'argocd', 'vip', 'dataplane', 'etcd-direct', 'node-power', 'gitops-push'],
      probeImage: 'busybox:1.36.1',
      loadEngine: 'embedded',
    });
    expect(profile.access.kubernetes.server).toBe('https://192.168.40.60:6443');
    expect(profile.access.argocd?.url).toBe('https://192.168.40.61:31659');
    expect(profile.access.talos?.endpoints).not.toContain(profile.network.vip);
    expect(profile.apps.map((a) => [a.path, a.workload.name, a.workload.replicas, a.workload.antiAffinity, a.service?.type])).toEqual([
      ['apps/app1-nginx', 'nginx', 2, 'required', 'ClusterIP'],
      ['apps/app2-redis', 'redis', 1, 'none', 'ClusterIP'],
      ['apps/app3-guestbook', 'guestbook', 3, 'none', 'LoadBalancer'],
    ]);
    expect(profile.apps[2].service?.port).toBe(80);
    expect(profile.gitops?.repo).toMatch(/gitops-2/);
    expect(profile.safety).toMatchObject({ allowDestructive: false, allowQuorumLoss: false, maxNodesDown: 1 });
    expect(profile.slo).toMatchObject({
      etcdLeaderElectionSeconds: 5,
      vipFailoverGracefulSeconds: 5,
      nodeNotReadySeconds: 60,
      loadBalancerFailoverSeconds: 10,
    });
  });

  test('holds no inline secret: every secret is an env or file reference', async () => {
    const { profile } = await loadProfile('profiles/seed.yaml');
    const refs = [
      profile.access.kubernetes.kubeconfig,
      profile.access.talos?.talosconfig,
      profile.access.proxmox?.tokenId,
      profile.access.proxmox?.tokenSecret,
      profile.access.argocd?.token,
      profile.gitops?.webhook?.secret,
    ];
    for (const ref of refs) expect(ref).toEqual({ env: expect.stringMatching(/^[A-Z_]+$/) });
  });
});

describe('file-level mistakes each have their own message', () => {
  test('a missing file names the path and points at profiles/', async () => {
    const err = await loadError('profiles/sed.yaml');
    expect(err.kind).toBe('missing-file');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^profile file not found: profiles\/sed\.yaml/);
    expect(err.message).toContain('did you mean profiles/seed.yaml?');
    expect(err.message).toContain('profiles live in profiles/; available: ');
  });

  test('a directory is not a profile', async () => {
    const err = await loadError(dir);
    expect(err.message).toMatch(/is a directory; pass a YAML file/);
  });

  test.each([
    ['an empty file', ''],
    ['only whitespace', '  \n\n'],
    ['only comments', '# nothing here yet\n'],
  ])('%s is reported as empty', async (_, content) => {
    const path = file('empty.yaml', content);
    const err = await loadError(path);
    expect(err.kind).toBe('empty');
    expect(err.message).toBe(
      `profile ${path} is empty: expected a YAML mapping that starts with "apiVersion: clusterproof/v1" (copy profiles/seed.yaml as a starting point)`,
    );
  });

  test('broken YAML gives the line, the column and the error in words', async () => {
    const path = file('broken.yaml', 'apiVersion: clusterproof/v1\nkind: Profile\nnodes: [a, b\nslo: {}\n');
    const err = await loadError(path);
    expect(err.kind).toBe('yaml');
    expect(err.message).toContain(`profile ${path} is not valid YAML: at line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`);
    expect(err.problems[0]).toMatchObject({ line: 4, column: 1 });
  });

  test.each([
    ['a duplicate key', 'kind: Profile\nkind: Profile\n', 'line 2, column 1: Map keys must be unique', 'the same key appears twice'],
    ['a tab used for indentation', 'metadata:\n\tname: x\n', 'line 2, column 1: Tabs are not allowed as indentation', 'spaces, not tabs'],
    ['two documents', 'kind: Profile\n---\nkind: Profile\n', 'line 2, column 1: Source contains multiple documents', 'single YAML document'],
  ])('%s is broken YAML with its position and a hint', (_, text, position, hint) => {
    let err: unknown;
    try {
      parseProfile(text, 'x.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    expect((err as ProfileError).message).toContain(`profile x.yaml is not valid YAML: at ${position}`);
    expect((err as ProfileError).message).toContain(hint);
  });

  test.each([
    ['a list', '- name: cp-node-1\n- name: cp-node-2\n', 'a list'],
    ['a bare word', 'seed\n', 'the value "seed"'],
    ['a number', '42\n', 'the value 42'],
  ])('a document that is %s is not a mapping', (_, text, what) => {
    expect(() => parseProfile(text, 'x.yaml')).toThrow(
      `profile x.yaml must be a YAML mapping of fields (apiVersion, kind, metadata, target, network, nodes, ...), but its top level is ${what}`,
    );
  });

  test('a valid YAML file that is not a profile at all lists what is missing', () => {
    let err: ProfileError | undefined;
    try {
      parseProfile('apiVersion: clusterproof/v1\n', 'x.yaml');
    } catch (e) {
      err = e as ProfileError;
    }
    expect(err?.problems.map((p) => p.path)).toEqual(['kind', 'metadata', 'target', 'network', 'nodes', 'access', 'slo', 'safety']);
  });

  test('a profile in another directory loads from its own path', async () => {
    mkdirSync(join(dir, 'nested'), { recursive: true });
    const seed = await import('node:fs').then((fs) => fs.readFileSync('profiles/seed.yaml', 'utf8'));
    const path = file('nested/home.yaml', seed);
    const loaded = await loadProfile(path);
    expect(loaded.path).toBe(path);
    expect(loaded.dir).toBe(join(dir, 'nested'));
  });
});
