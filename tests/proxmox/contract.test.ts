import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PveApiError } from '../../providers/proxmox/api-errors.ts';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { PveContract } from '../../providers/proxmox/contract.ts';
import { parseTokenAuthorization } from '../../providers/proxmox/token.ts';
import { formatUpid, parseUpid } from '../../providers/proxmox/upid.ts';
import { PveDouble } from './pve-contract.ts';

const contract = PveContract.load();

describe('the PVE contract (pve-api-subset.json)', () => {
  test('holds every path and method the client and the lab endpoint use', () => {
    const used = [
      ['GET', '/version'],
      ['GET', '/cluster/resources'],
      ['GET', '/nodes/{node}/qemu/{vmid}/status/current'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/start'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/stop'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/shutdown'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/reboot'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/suspend'],
      ['POST', '/nodes/{node}/qemu/{vmid}/status/resume'],
      ['GET', '/nodes/{node}/tasks/{upid}/status'],
      ['GET', '/nodes/{node}/tasks/{upid}/log'],
    ];
    for (const [method, template] of used) expect(contract.schemaFor(method, template), `${method} ${template}`).toBeDefined();
    expect(contract.source).toMatch(/pve-docs/);
  });

  test('matches concrete paths to templates, literal segments first', () => {
    expect(contract.match('/nodes/pve1/qemu/101/status/current')).toEqual({
      template: '/nodes/{node}/qemu/{vmid}/status/current',
      pathParams: { node: 'pve1', vmid: '101' },
    });
    const upid = 'UPID:pve1:0000A1B2:00C0FFEE:67000000:qmstop:101:root@pam!clusterproof:';
    expect(contract.match(`/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)?.pathParams.upid).toBe(upid);
  });

  test('accepts a well-formed request', () => {
    const v = contract.check('POST', '/nodes/pve1/qemu/101/status/shutdown', { timeout: '60', forceStop: '1' });
    expect(v).toMatchObject({ ok: true, template: '/nodes/{node}/qemu/{vmid}/status/shutdown' });
  });

  test('rejects paths and methods outside the contract with 501', () => {
    expect(contract.check('GET', '/nodes/pve1/qemu/101/status/bogus', {})).toMatchObject({ ok: false, status: 501 });
    expect(contract.check('DELETE', '/version', {})).toMatchObject({ ok: false, status: 501, message: /DELETE is not defined for \/version/ });
    expect(contract.check('GET', '/access/users', {})).toMatchObject({ ok: false, status: 501 });
  });

  test('rejects undeclared parameters, as PVE does with additionalProperties 0', () => {
    const v = contract.check('POST', '/nodes/pve1/qemu/101/status/stop', { force: '1' });
    expect(v).toMatchObject({
      ok: false,
      status: 400,
      message: 'Parameter verification failed.',
      errors: { force: 'property is not defined in schema and the schema does not allow additional properties' },
    });
  });

  test('checks types, ranges, enums, patterns and formats of values, path parameters included', () => {
    const errorsOf = (method: string, path: string, params: Record<string, string>) => {
      const v = contract.check(method, path, params);
      return v.ok ? {} : v.errors;
    };
    expect(errorsOf('POST', '/nodes/pve1/qemu/101/status/stop', { timeout: 'soon' })).toEqual({ timeout: "type check ('integer') failed - got 'soon'" });
    expect(errorsOf('POST', '/nodes/pve1/qemu/101/status/stop', { timeout: '-1' })).toEqual({ timeout: 'value must have a minimum value of 0' });
    expect(errorsOf('POST', '/nodes/pve1/qemu/101/status/shutdown', { forceStop: 'true' })).toMatchObject({ forceStop: /type check \('boolean'\)/ });
    expect(errorsOf('GET', '/cluster/resources', { type: 'vms' })).toEqual({
      type: "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'",
    });
    expect(errorsOf('POST', '/nodes/pve1/qemu/101/status/start', { 'nets-host-mtu': 'eth0=1500' })).toEqual({
      'nets-host-mtu': 'value does not match the regex pattern',
    });
    expect(errorsOf('GET', '/nodes/pve1/qemu/99/status/current', {})).toEqual({ vmid: 'value must have a minimum value of 100' });
    expect(errorsOf('GET', '/nodes/pve_1!/qemu/101/status/current', {})).toMatchObject({ node: /valid node name/ });
    expect(errorsOf('POST', '/nodes/pve1/qemu/101/status/stop', { node: 'pve1' })).toMatchObject({ node: /part of the path/ });
  });

  test('suspend and resume take only the parameters PVE declares; statestorage requires todisk', () => {
    const suspend = (params: Record<string, string>) => contract.check('POST', '/nodes/pve1/qemu/101/status/suspend', params);
    const resume = (params: Record<string, string>) => contract.check('POST', '/nodes/pve1/qemu/101/status/resume', params);
    expect(suspend({})).toMatchObject({ ok: true, template: '/nodes/{node}/qemu/{vmid}/status/suspend' });
    expect(suspend({ skiplock: '1' }).ok).toBe(true);
    expect(suspend({ todisk: '1', statestorage: 'local-lvm' }).ok).toBe(true);
    expect(suspend({ statestorage: 'local-lvm' })).toMatchObject({ ok: false, status: 400, errors: { statestorage: "missing property - 'todisk' is required by 'statestorage'" } });
    expect(suspend({ todisk: 'yes' })).toMatchObject({ errors: { todisk: /type check \('boolean'\)/ } });
    expect(suspend({ timeout: '30' })).toMatchObject({ errors: { timeout: /not defined in schema/ } });
    expect(resume({})).toMatchObject({ ok: true, template: '/nodes/{node}/qemu/{vmid}/status/resume' });
    expect(resume({ nocheck: '1', skiplock: '0' }).ok).toBe(true);
    expect(resume({ todisk: '1' })).toMatchObject({ errors: { todisk: /not defined in schema/ } });
    // both answer a task, and need VM.PowerMgmt on the VM
    for (const action of ['suspend', 'resume']) {
      const schema = contract.schemaFor('POST', `/nodes/{node}/qemu/{vmid}/status/${action}`)!;
      expect(schema.returns).toEqual({ type: 'string' });
      expect(schema.permissions?.check).toEqual(['perm', '/vms/{vmid}', ['VM.PowerMgmt']]);
    }
  });

  test('requires non-optional parameters and knows indexed ones (net0 under net[n])', () => {
    expect(contract.check('POST', '/nodes/pve1/qemu/101/clone', {})).toMatchObject({
      ok: false,
      errors: { newid: 'property is missing and it is not optional' },
    });
    expect(contract.check('POST', '/nodes/pve1/qemu/101/config', { net0: 'virtio,bridge=vmbr0,tag=40', memory: '4096', boot: 'order=scsi0;ide2;net0' }).ok).toBe(true);
  });

  test('checks the keys and values inside property strings', () => {
    const config = (params: Record<string, string>) => contract.check('POST', '/nodes/pve1/qemu/101/config', params);
    expect(config({ net0: 'virtio=BC:24:11:00:00:61,bridge=vmbr0' }).ok).toBe(true);
    expect(config({ net0: 'virtio,bridge=vmbr0,vlan=40' })).toMatchObject({ errors: { net0: "invalid format - property string: unknown key 'vlan'" } });
    expect(config({ net0: 'virtio,bridge=vmbr0,tag=9999' })).toMatchObject({ errors: { net0: /tag: value must have a maximum value of 4094/ } });
    expect(config({ net0: 'virtio,bridge=vmbr0,rate=fast' })).toMatchObject({ errors: { net0: /rate: type check \('number'\) failed - got 'fast'/ } });
    expect(config({ net0: 'virtio,bridge=vmbr0,rate=12.5,firewall=1' }).ok).toBe(true);
    expect(config({ net0: 'fastnic,bridge=vmbr0' })).toMatchObject({ errors: { net0: /model: value 'fastnic' does not have a value in the enumeration/ } });
  });

  test('checks answers against the returns schema', () => {
    expect(contract.checkReturns('GET', '/nodes/{node}/tasks/{upid}/status', { status: 'done' })).toEqual(
      expect.arrayContaining(["data.status: 'done' is not one of running, stopped", 'data.upid: missing']),
    );
    expect(contract.checkReturns('GET', '/version', { version: '9.1.1', release: '9.1', repoid: 'c0ffee42' })).toEqual([]);
  });

  test('parses the token header strictly', () => {
    expect(parseTokenAuthorization('PVEAPIToken=root@pam!ci=6f1c2b9e-4d4a-4c8e-9a57-0b7d2f3e8a11')).toMatchObject({
      ok: true,
      token: { user: 'root', realm: 'pam', tokenName: 'ci' },
    });
    expect(parseTokenAuthorization('PVEAPIToken=root@pam:ci=6f1c2b9e-4d4a-4c8e-9a57-0b7d2f3e8a11').ok).toBe(false);
    expect(parseTokenAuthorization('PVEAPIToken root@pam!ci=not-a-uuid').ok).toBe(false);
    expect(parseTokenAuthorization(undefined).ok).toBe(false);
  });

  test('UPIDs round-trip', () => {
    const u = { node: 'lab', pid: 0x1a2b, pstart: 0xc0ffee, starttime: 1_760_000_000, type: 'qmstart', id: '101', user: 'root@pam!ci' };
    const s = formatUpid(u);
    expect(s).toBe('UPID:lab:00001A2B:00C0FFEE:68E77800:qmstart:101:root@pam!ci:');
    expect(parseUpid(s)).toEqual(u);
    expect(parseUpid('UPID:lab:1:2:3:qmstart:101:root@pam:')).toBeUndefined();
  });
});

describe('the Proxmox test double can fail', () => {
  let double: PveDouble;
  let client: ProxmoxClient;
  beforeAll(async () => {
    double = await PveDouble.start();
    client = new ProxmoxClient(double.clientOptions({ retries: 0 }));
  });
  afterAll(async () => {
    client.close();
    await double.close();
  });

  test('a deliberately unknown parameter is answered 400 and recorded as a violation', async () => {
    const before = double.requests.length;
    const err = await client.call('POST', '/nodes/pve1/qemu/101/status/stop', { force: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveApiError);
    expect((err as PveApiError).status).toBe(400);
    expect((err as PveApiError).errors).toEqual({ force: expect.stringMatching(/not defined in schema/) });
    expect((err as Error).message).toMatch(/400 Parameter verification failed\.: force: property is not defined/);
    expect(double.powerCalls).toEqual([]);
    const recorded = double.requests.slice(before);
    expect(recorded).toHaveLength(1);
    expect(recorded[0].violation).toMatchObject({ kind: 'invalid-params' });
    expect(() => double.assertNoViolations()).toThrow(/does not allow:\n {2}POST \/nodes\/pve1\/qemu\/101\/status\/stop .*invalid-params/);
  });

  test('a path outside the contract is answered 501 "not in contract"', async () => {
    const err = await client.call('GET', '/nodes/pve1/qemu/101/status/bogus').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 501, statusMessage: expect.stringMatching(/not in contract/) });
    expect(double.violations.at(-1)?.violation?.kind).toBe('not-in-contract');
  });

  test('a malformed token header, a JSON body and parameters in the query of a POST are violations', async () => {
    const raw = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(double.url);
        const req = request(
          { host: url.hostname, port: url.port, method, path: `/api2/json${path}`, headers, ca: double.caPem, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const auth = { authorization: 'PVEAPIToken=root@pam!clusterproof=6f1c2b9e-4d4a-4c8e-9a57-0b7d2f3e8a11' };
    expect(await raw('GET', '/version', { authorization: 'Bearer abc' })).toBe(401);
    expect(double.violations.at(-1)?.violation?.kind).toBe('bad-auth-header');
    expect(await raw('POST', '/nodes/pve1/qemu/101/status/stop', { ...auth, 'content-type': 'application/json' }, '{"timeout":5}')).toBe(400);
    expect(double.violations.at(-1)?.violation?.kind).toBe('bad-encoding');
    expect(await raw('POST', '/nodes/pve1/qemu/101/status/stop?timeout=5', auth)).toBe(400);
    expect(double.violations.at(-1)?.violation?.kind).toBe('bad-encoding');
    expect(double.powerCalls).toEqual([]);
  });
});
