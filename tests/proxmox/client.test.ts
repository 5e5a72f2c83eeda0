import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { RefusedError, UserError } from '../../core/errors.ts';
import { labIsUp } from '../../core/safety/destinations.ts';
import { PveApiError, PveAuthError, PveTaskError, PveTaskTimeoutError, PveTimeoutError } from '../../providers/proxmox/api-errors.ts';
import { ProxmoxClient, type ProxmoxClientOptions } from '../../providers/proxmox/client.ts';
import { parseUpid } from '../../providers/proxmox/upid.ts';
import { ADMIN_TOKEN, AUDIT_TOKEN, POWER_ONLY_TOKEN, PveDouble } from './pve-contract.ts';

const STOP = 'POST /nodes/{node}/qemu/{vmid}/status/stop';
const TASK_STATUS = 'GET /nodes/{node}/tasks/{upid}/status';

let double: PveDouble;
const clients: ProxmoxClient[] = [];
const clientFor = (overrides: Partial<ProxmoxClientOptions> = {}) => {
  const c = new ProxmoxClient(double.clientOptions(overrides));
  clients.push(c);
  return c;
};

beforeAll(async () => {
  double = await PveDouble.start({
    vms: [
      { vmid: 101, name: 'cp1', status: 'running' },
      { vmid: 102, name: 'cp2', status: 'running' },
      { vmid: 103, name: 'cp3', status: 'running' },
      { vmid: 104, name: 'w1', status: 'stopped' },
    ],
  });
});
afterEach(() => {
  double.clearPendingFaults();
  double.assertNoViolations();
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  await double.close();
});

describe('ProxmoxClient against the PVE contract double', () => {
  test('reads version, VM resources and VM status', async () => {
    const px = clientFor();
    const from = double.requests.length;
    expect(await px.version()).toMatchObject({ release: '9.1' });
    const vms = await px.clusterResources({ type: 'vm' });
    expect(vms.map((r) => [r.vmid, r.name, r.node, r.status])).toEqual([
      [101, 'cp1', 'pve1', 'running'],
      [102, 'cp2', 'pve1', 'running'],
      [103, 'cp3', 'pve1', 'running'],
      [104, 'w1', 'pve1', 'stopped'],
    ]);
    expect(await px.vmStatus('pve1', 104)).toMatchObject({ vmid: 104, status: 'stopped' });
    const seen = double.requests.slice(from);
    expect(seen.map((r) => `${r.method} ${r.template}`)).toEqual([
      'GET /version',
      'GET /cluster/resources',
      'GET /nodes/{node}/qemu/{vmid}/status/current',
    ]);
    expect(seen[1].params).toEqual({ type: 'vm' });
    expect(seen.every((r) => r.status === 200 && r.tokenId === ADMIN_TOKEN.id && !r.violation)).toBe(true);
  });

  test('hard stop, start, shutdown and reboot round trips, each through its task', async () => {
    const px = clientFor();
    const stop = await px.vmStop('pve1', 102);
    expect(parseUpid(stop)).toMatchObject({ node: 'pve1', type: 'qmstop', id: '102', user: ADMIN_TOKEN.id });
    const done = await px.waitTask('pve1', stop, { timeoutMs: 5000 });
    expect(done).toMatchObject({ status: 'stopped', exitstatus: 'OK', type: 'qmstop', upid: stop });
    expect((await px.vmStatus('pve1', 102)).status).toBe('stopped');

    await px.waitTask('pve1', await px.vmStart('pve1', 102), { timeoutMs: 5000 });
    expect(double.vm(102).status).toBe('running');

    await px.waitTask('pve1', await px.vmShutdown('pve1', 102, { timeoutS: 30, forceStop: false }), { timeoutMs: 5000 });
    expect(double.vm(102).status).toBe('stopped');
    const shutdownRequest = double.requests.find((r) => r.template === '/nodes/{node}/qemu/{vmid}/status/shutdown');
    expect(shutdownRequest?.params).toEqual({ timeout: '30', forceStop: '0' });

    await px.waitTask('pve1', await px.vmStart('pve1', 102), { timeoutMs: 5000 });
    await px.waitTask('pve1', await px.vmReboot('pve1', 102), { timeoutMs: 5000 });
    expect(double.powerCalls.filter((c) => c.endsWith(' 102'))).toEqual(['stop 102', 'start 102', 'shutdown 102', 'start 102', 'shutdown 102', 'start 102']);
    expect(double.vm(102).status).toBe('running');
  });

  test('a failed task surfaces its exit status and the end of its log', async () => {
    const px = clientFor();
    const reason = "can't lock file '/var/lock/qemu-server/lock-104.conf' - got timeout";
    double.nextTask('start', { fail: reason });
    const upid = await px.vmStart('pve1', 104);
    const err = await px.waitTask('pve1', upid, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTaskError);
    expect((err as PveTaskError).exitstatus).toBe(reason);
    expect((err as PveTaskError).log).toEqual([`TASK ERROR: ${reason}`]);
    expect((err as Error).message).toContain(`Proxmox task qmstart 104 on pve1 failed: ${reason}`);
    expect(double.calls.at(-1)).toBe('GET /nodes/{node}/tasks/{upid}/log');
  });

  test('starting a VM that already runs fails the task, as PVE does', async () => {
    const px = clientFor();
    const err = await px.waitTask('pve1', await px.vmStart('pve1', 101), { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect((err as PveTaskError).exitstatus).toBe('VM 101 already running');
  });

  test('a task that outlives the wait times out without being cancelled', async () => {
    const px = clientFor();
    double.nextTask('stop', { delayMs: 'forever' });
    const upid = await px.vmStop('pve1', 103);
    const err = await px.waitTask('pve1', upid, { timeoutMs: 150, pollMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTaskTimeoutError);
    expect((err as Error).message).toMatch(/qmstop 103 on pve1 still running after 150 ms/);
    expect((await px.taskStatus('pve1', upid)).status).toBe('running');
    expect(double.calls.filter((c) => c === 'DELETE /nodes/{node}/tasks/{upid}')).toEqual([]);
  });

  test('a request with no answer times out per request', async () => {
    const px = clientFor({ requestTimeoutMs: 200, retries: 0 });
    double.failNextRequests(1, 'hang', '/version');
    const started = performance.now();
    const err = await px.version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTimeoutError);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('a read that timed out is retried; a write that timed out is not repeated', async () => {
    const px = clientFor({ requestTimeoutMs: 200, retries: 2 });
    double.failNextRequests(1, 'hang', '/version');
    await expect(px.version()).resolves.toMatchObject({ release: '9.1' });

    double.failNextRequests(1, 'hang', '/nodes/{node}/qemu/{vmid}/status/stop');
    const before = double.calls.filter((c) => c === STOP).length;
    await expect(px.vmStop('pve1', 101)).rejects.toBeInstanceOf(PveTimeoutError);
    expect(double.calls.filter((c) => c === STOP).length - before).toBe(1);
  });

  test('401 names the token and what to check, never the secret', async () => {
    const px = clientFor({ tokenSecret: '00000000-0000-4000-8000-000000000000' });
    const err = await px.vmStatus('pve1', 101).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveAuthError);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).toContain(`Proxmox rejected API token ${ADMIN_TOKEN.id}`);
    expect(message).toContain('401 authentication failure');
    expect(message).toContain('access.proxmox.tokenId and tokenSecret');
    expect(message).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(message).not.toContain(ADMIN_TOKEN.secret);
  });

  test('403 on a power operation names the token and VM.PowerMgmt on the VM', async () => {
    const px = clientFor({ tokenId: AUDIT_TOKEN.id, tokenSecret: AUDIT_TOKEN.secret });
    expect((await px.vmStatus('pve1', 101)).status).toBe('running');
    const err = await px.vmStop('pve1', 101).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveAuthError);
    expect((err as PveAuthError).status).toBe(403);
    const message = (err as Error).message;
    expect(message).toContain(`token ${AUDIT_TOKEN.id} was denied POST /nodes/pve1/qemu/101/status/stop`);
    expect(message).toContain('403 Permission check failed (/vms/101, VM.PowerMgmt)');
    expect(message).toContain('likely lacks VM.PowerMgmt on /vms/101');
    expect(message).toContain(`pveum acl modify /vms/101 --tokens '${AUDIT_TOKEN.id}'`);
    expect(double.vm(101).status).toBe('running');
  });

  test('403 on status names VM.Audit', async () => {
    const px = clientFor({ tokenId: POWER_ONLY_TOKEN.id, tokenSecret: POWER_ONLY_TOKEN.secret });
    await expect(px.vmStatus('pve1', 103)).rejects.toThrow(/likely lacks VM\.Audit on \/vms\/103/);
  });

  test('transient 5xx, 596 and dropped connections are retried', async () => {
    const px = clientFor({ retries: 4 });
    for (const how of [500, 596, 'reset'] as const) {
      const before = double.calls.filter((c) => c === TASK_STATUS).length;
      const upid = await px.vmStop('pve1', 104);
      double.failNextRequests(2, how, '/nodes/{node}/tasks/{upid}/status');
      await expect(px.waitTask('pve1', upid, { timeoutMs: 5000 })).resolves.toMatchObject({ exitstatus: 'OK' });
      expect(double.calls.filter((c) => c === TASK_STATUS).length - before, String(how)).toBeGreaterThanOrEqual(3);
    }
  });

  test('5xx that persists gives up after the retries with status and message', async () => {
    const px = clientFor({ retries: 2 });
    double.failNextRequests(3, 596, '/version');
    const err = await px.version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveApiError);
    expect((err as Error).message).toBe('Proxmox API GET /version failed: 596 Broken pipe');
  });

  test("PVE's 500 for a missing VM is retried like any 5xx, then surfaced with PVE's message", async () => {
    const px = clientFor({ retries: 3 });
    const before = double.requests.length;
    await expect(px.vmStatus('pve1', 999)).rejects.toThrow(/500 Configuration file 'nodes\/pve1\/qemu-server\/999.conf' does not exist/);
    expect(double.requests.length - before).toBe(4);
  });

  test('401 and 403 are not retried', async () => {
    const px = clientFor({ retries: 3, tokenId: AUDIT_TOKEN.id, tokenSecret: AUDIT_TOKEN.secret });
    const before = double.requests.length;
    await expect(px.vmStop('pve1', 101)).rejects.toBeInstanceOf(PveAuthError);
    expect(double.requests.length - before).toBe(1);
  });
});

describe('ProxmoxClient TLS', () => {
  test('without the pinned CA the server is not trusted, and the error says to pin it', async () => {
    const px = clientFor({ caFile: undefined, retries: 0 });
    const err = await px.version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/TLS verification of https:\/\/127\.0\.0\.1:\d+\/api2\/json failed .*access\.proxmox\.caFile/);
  });

  test('insecure works only with a loud warning, by default on stderr', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const px = clientFor({ caFile: undefined, insecure: true });
      expect(write).toHaveBeenCalledTimes(1);
      const warning = String(write.mock.calls[0][0]);
      expect(warning).toMatch(/^WARNING: TLS certificate verification is DISABLED for the Proxmox API at https:\/\/127\.0\.0\.1:\d+\/api2\/json/);
      expect(warning).toContain('access.proxmox.caFile');
      expect(warning).not.toContain(ADMIN_TOKEN.secret);
      expect(await px.version()).toMatchObject({ release: '9.1' });
    } finally {
      write.mockRestore();
    }
  });

  test('insecure together with a pinned CA is refused as contradictory', () => {
    expect(() => clientFor({ insecure: true, warn: () => {} })).toThrow(/either caFile .* or insecure, not both/);
  });

  test('a CA file that is missing or not PEM is refused with the field name', () => {
    const notPem = join(mkdtempSync(join(tmpdir(), 'clusterproof-ca-')), 'ca.pem');
    writeFileSync(notPem, 'hello\n');
    expect(() => clientFor({ caFile: notPem })).toThrow(new RegExp(`access\\.proxmox\\.caFile: ${notPem} holds no PEM certificate`));
    expect(() => clientFor({ caFile: `${notPem}.absent` })).toThrow(/access\.proxmox\.caFile: cannot read .*ca\.pem\.absent/);
  });
});

describe('ProxmoxClient network guard and input checks (no connection is made)', () => {
  const base = { tokenId: ADMIN_TOKEN.id, tokenSecret: ADMIN_TOKEN.secret };

  test('refuses a homelab address without allowRemote, before connecting', () => {
    const err = (() => {
      try {
        new ProxmoxClient({ ...base, url: 'https://192.168.40.10:8006' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/network guard: refusing to contact 192\.168\.40\.10/);
  });

  test('refuses host names other than localhost without allowRemote (resolving them would already send packets)', () => {
    expect(() => new ProxmoxClient({ ...base, url: 'https://pve.example.org:8006' })).toThrow(RefusedError);
  });

  test.skipIf(labIsUp())('refuses a lab address while the lab is down', () => {
    expect(() => new ProxmoxClient({ ...base, url: 'https://198.18.40.1:8006' })).toThrow(/the lab is down/);
  });

  test('accepts a homelab address with allowRemote, the default port being 8006', () => {
    const px = new ProxmoxClient({ ...base, url: 'https://192.168.40.10', allowRemote: true });
    expect(px.baseUrl).toBe('https://192.168.40.10:8006/api2/json');
    px.close();
    const explicit = new ProxmoxClient({ ...base, url: 'https://192.168.40.10:443/api2/json/', allowRemote: true });
    expect(explicit.baseUrl).toBe('https://192.168.40.10:443/api2/json');
    explicit.close();
  });

  test('refuses plain http, foreign paths and malformed token ids, naming the profile field', () => {
    expect(() => new ProxmoxClient({ ...base, url: 'http://127.0.0.1:8006' })).toThrow(/access\.proxmox\.url: .* must use https/);
    expect(() => new ProxmoxClient({ ...base, url: 'https://127.0.0.1:8006/api2/extjs' })).toThrow(/access\.proxmox\.url/);
    expect(() => new ProxmoxClient({ ...base, url: 'https://127.0.0.1:8006', tokenId: 'root@pam' })).toThrow(
      /access\.proxmox\.tokenId: "root@pam" is not an API token id; expected USER@REALM!TOKENID/,
    );
  });
});
