/**
 * `clusterproof bootstrap` as a user runs it, against the Proxmox contract double on 127.0.0.1: the token from
 * the environment, the CA pinned from caFile, --insecure only with a loud warning, --destroy only after
 * confirmation (--yes, or refused without a terminal).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../core/errors.ts';
import { runCli } from '../support/cli.ts';
import { ADMIN_TOKEN, PveVmDouble, type SimVm } from './pve-vm-double.ts';
import { FIXED_SEED } from './support.ts';

let pve: PveVmDouble;
let profile: string;
const env = () => ({
  PROXMOX_TOKEN_ID: ADMIN_TOKEN.id,
  PROXMOX_TOKEN_SECRET: ADMIN_TOKEN.secret,
  CLUSTERPROOF_STATE_DIR: mkdtempSync(join(tmpdir(), 'cp-state-')),
});
const tagged = (vmid: number, name: string, status: SimVm['status']): SimVm => ({ vmid, name, status, tags: 'clusterproof', config: { name, tags: 'clusterproof' } });

beforeAll(async () => {
  pve = await PveVmDouble.start({
    vms: [tagged(161, 'cp-node-1', 'running'), tagged(164, 'worker-node-1', 'stopped'), { vmid: 300, name: 'nas', status: 'running', config: { name: 'nas' } }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'cp-cli-'));
  profile = join(dir, 'homelab.yaml');
  writeFileSync(
    profile,
    readFileSync(FIXED_SEED, 'utf8').replace(
      '    url: https://192.168.40.10:8006 # PLACEHOLDER: the document does not give the Proxmox VE host address',
      `    url: ${pve.url}\n    caFile: ${pve.caFile}`,
    ),
  );
});
afterAll(async () => {
  pve.assertNoViolations();
  await pve.close();
});

describe('clusterproof bootstrap --destroy', () => {
  test('without a terminal and without --yes it refuses and deletes nothing', async () => {
    const { code, output } = await runCli(['bootstrap', '--profile', profile, '--destroy'], env());
    expect(code).toBe(ExitCode.refused);
    expect(output).toContain('Destroy these 2 VM(s) and their disks? This cannot be undone.');
    expect(output).toContain('refusing without confirmation: stdin is not a terminal; rerun with --yes to confirm');
    expect(pve.writes).toEqual([]);
  });

  test('--insecure is loud, and with --yes only the tagged VMs of the profile go', async () => {
    const { code, output } = await runCli(['bootstrap', '--profile', profile, '--destroy', '--yes', '--insecure'], env());
    expect(code).toBe(ExitCode.ok);
    expect(output).toContain('!!! --insecure: TLS verification of the Proxmox API is OFF.');
    expect(output).toMatch(/WARNING: TLS certificate verification is DISABLED for the Proxmox API at https:\/\/127\.0\.0\.1:\d+\/api2\/json/);
    expect(output).not.toContain(ADMIN_TOKEN.secret);
    expect(pve.writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /nodes/pve/qemu/161/status/stop',
      'DELETE /nodes/pve/qemu/161',
      'DELETE /nodes/pve/qemu/164',
    ]);
    expect([...pve.vms.keys()]).toEqual([300]);
    expect(output).toContain('destroy finished');
  });

  test('a missing token variable is named, with nothing contacted', async () => {
    const before = pve.requests.length;
    const { code, output } = await runCli(['bootstrap', '--profile', profile, '--destroy', '--yes'], { ...env(), PROXMOX_TOKEN_SECRET: '' });
    expect(code).toBe(ExitCode.badInput);
    expect(output).toContain('access.proxmox.tokenSecret: environment variable PROXMOX_TOKEN_SECRET is set but empty');
    expect(pve.requests.length).toBe(before);
  });
});
