import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { loadProfile, resolveFileRef, resolveSecret, resolveSecretSync } from '../../core/profile/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-secrets-'));

describe('resolveSecret', () => {
  test('reads an environment variable at use time', async () => {
    expect(await resolveSecret({ env: 'CP_TEST_TOKEN' }, 'access.argocd.token', { env: { CP_TEST_TOKEN: 's3cr3t' } })).toBe('s3cr3t');
  });

  test('a missing environment variable names the variable and the field', async () => {
    const err = await resolveSecret({ env: 'PROXMOX_TOKEN_SECRET' }, 'access.proxmox.tokenSecret', { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as UserError).message).toBe(
      'access.proxmox.tokenSecret: environment variable PROXMOX_TOKEN_SECRET is not set; export PROXMOX_TOKEN_SECRET=... before running clusterproof',
    );
  });

  test('an empty environment variable is refused', () => {
    expect(() => resolveSecretSync({ env: 'EMPTY' }, 'access.argocd.token', { env: { EMPTY: '' } })).toThrow(
      'access.argocd.token: environment variable EMPTY is set but empty',
    );
  });

  test('reads a file, without its trailing newline', async () => {
    writeFileSync(join(dir, 'token'), 'abc-123\n');
    expect(await resolveSecret({ file: join(dir, 'token') })).toBe('abc-123');
  });

  test('a missing file names the path', async () => {
    const missing = join(dir, 'nope.txt');
    await expect(resolveSecret({ file: missing }, 'access.proxmox.tokenId')).rejects.toThrow(
      `access.proxmox.tokenId: file ${missing} does not exist`,
    );
  });

  test('a relative file of a loaded profile is read from the profile directory', async () => {
    const seed = readFileSync('profiles/seed.yaml', 'utf8').replace('tokenSecret: { env: PROXMOX_TOKEN_SECRET }', 'tokenSecret: { file: pve-token }');
    writeFileSync(join(dir, 'home.yaml'), seed);
    writeFileSync(join(dir, 'pve-token'), 'from-the-profile-dir\n');
    const { profile } = await loadProfile(join(dir, 'home.yaml'));
    expect(await resolveSecret(profile.access.proxmox!.tokenSecret, 'access.proxmox.tokenSecret')).toBe('from-the-profile-dir');
  });

  test('a relative file missing from the profile directory shows both forms of the path', async () => {
    const err = resolveSecret({ file: 'absent' }, 'x', { baseDir: dir });
    await expect(err).rejects.toThrow(`x: file absent (${join(dir, 'absent')}) does not exist`);
  });
});

describe('resolveFileRef', () => {
  test('an env reference names the file, as KUBECONFIG does', () => {
    expect(resolveFileRef({ env: 'KUBECONFIG' }, 'access.kubernetes.kubeconfig', { env: { KUBECONFIG: '/etc/kube.conf' } })).toBe('/etc/kube.conf');
  });

  test('an unset variable names it', () => {
    expect(() => resolveFileRef({ env: 'TALOSCONFIG' }, 'access.talos.talosconfig', { env: {} })).toThrow(
      'access.talos.talosconfig: environment variable TALOSCONFIG is not set; set it to the path of the file',
    );
  });

  test('a file reference must exist', () => {
    expect(() => resolveFileRef({ file: 'kubeconfig' }, 'access.kubernetes.kubeconfig', { baseDir: dir })).toThrow(/does not exist/);
  });
});
