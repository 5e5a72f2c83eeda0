import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UserError } from '../../core/errors.ts';
import type { NodeSpec } from '../../core/profile/schema.ts';
import { PveTaskError } from '../../providers/proxmox/api-errors.ts';
import type { PveVmStatus } from '../../providers/proxmox/api-types.ts';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { ProxmoxNodeControl, vmOf } from '../../providers/proxmox/node-control.ts';
import { parseUpid } from '../../providers/proxmox/upid.ts';
import { PveDouble } from './pve-contract.ts';

const node = (name: string, vmid: number): NodeSpec => ({
  name,
  role: vmid < 104 ? 'control-plane' : 'worker',
  ip: `192.168.40.${vmid - 40}`,
  hypervisor: { node: 'pve1', vmid },
});
const cp1 = node('cp1', 101);
const cp2 = node('cp2', 102);
const w1 = node('w1', 104);
const w2 = node('w2', 105);

let double: PveDouble;
let client: ProxmoxClient;
let nodes: ProxmoxNodeControl;

beforeAll(async () => {
  double = await PveDouble.start({
    vms: [
      { vmid: 101, name: 'cp1', status: 'running' },
      { vmid: 102, name: 'cp2', status: 'running' },
      { vmid: 104, name: 'w1', status: 'stopped' },
      { vmid: 105, name: 'w2', status: 'running', ignoresAcpi: true },
    ],
  });
  client = new ProxmoxClient(double.clientOptions());
  nodes = new ProxmoxNodeControl(client, { taskTimeoutMs: 5000, shutdownTimeoutS: 1 });
});
afterEach(() => double.assertNoViolations());
afterAll(async () => {
  client.close();
  await double.close();
});

describe('ProxmoxNodeControl', () => {
  test('status maps the VM state', async () => {
    expect(await nodes.status(cp1)).toBe('running');
    expect(await nodes.status(w1)).toBe('stopped');
  });

  test('powerOff is a hard stop waited to completion', async () => {
    const from = double.requests.length;
    await nodes.powerOff(cp1);
    expect(double.vm(101).status).toBe('stopped');
    expect(await nodes.status(cp1)).toBe('stopped');
    const calls = double.calls.slice(from);
    expect(calls[0]).toBe('POST /nodes/{node}/qemu/{vmid}/status/stop');
    expect(calls.slice(1, -1).every((c) => c === 'GET /nodes/{node}/tasks/{upid}/status')).toBe(true);
  });

  test('powerOn starts a stopped VM and leaves a running one alone', async () => {
    await nodes.powerOn(cp1);
    expect(double.vm(101).status).toBe('running');
    const starts = double.powerCalls.filter((c) => c === 'start 101').length;
    await nodes.powerOn(cp1);
    expect(double.powerCalls.filter((c) => c === 'start 101').length).toBe(starts);
  });

  test('shutdown is an ACPI shutdown with the configured timeout', async () => {
    await nodes.shutdown(cp2);
    expect(double.vm(102).status).toBe('stopped');
    const request = double.requests.filter((r) => r.template === '/nodes/{node}/qemu/{vmid}/status/shutdown').at(-1);
    expect(request?.params).toEqual({ timeout: '1', forceStop: '0' });
  });

  test('a guest that ignores ACPI fails the shutdown with the task exit status, or is stopped when forced', async () => {
    const err = await nodes.shutdown(w2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTaskError);
    expect((err as PveTaskError).exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect(double.vm(105).status).toBe('running');

    const forcing = new ProxmoxNodeControl(client, { taskTimeoutMs: 5000, shutdownTimeoutS: 1, forceStopAfterShutdownTimeout: true });
    await forcing.shutdown(w2);
    expect(double.vm(105).status).toBe('stopped');
  });

  test('suspend pauses the VM (a qmpause task, no parameters) and status says paused; resume lets it run on', async () => {
    const from = double.requests.length;
    await nodes.suspend(cp1);
    expect(double.vm(101).status).toBe('paused');
    expect(await nodes.status(cp1)).toBe('paused');
    const suspend = double.requests.slice(from).find((r) => r.template === '/nodes/{node}/qemu/{vmid}/status/suspend');
    expect(suspend?.params).toEqual({});
    const current = await client.vmStatus('pve1', 101);
    expect({ status: current.status, qmpstatus: current.qmpstatus }).toEqual({ status: 'running', qmpstatus: 'paused' });

    await nodes.resume(cp1);
    expect(double.vm(101).status).toBe('running');
    expect(await nodes.status(cp1)).toBe('running');
    expect(double.powerCalls.slice(-2)).toEqual(['suspend 101', 'resume 101']);
    expect(double.calls.slice(from).filter((c) => c.startsWith('POST'))).toEqual([
      'POST /nodes/{node}/qemu/{vmid}/status/suspend',
      'POST /nodes/{node}/qemu/{vmid}/status/resume',
    ]);
  });

  test('suspend and resume are tasks named as PVE names them (qmpause, qmresume)', async () => {
    const paused = await client.vmSuspend('pve1', 101);
    expect(parseUpid(paused)).toMatchObject({ node: 'pve1', type: 'qmpause', id: '101' });
    await client.waitTask('pve1', paused, { timeoutMs: 5000 });
    const resumed = await client.vmResume('pve1', 101);
    expect(parseUpid(resumed)).toMatchObject({ node: 'pve1', type: 'qmresume', id: '101' });
    expect(await client.waitTask('pve1', resumed, { timeoutMs: 5000 })).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    expect(double.vm(101).status).toBe('running');
  });

  test('a paused VM refuses an ACPI shutdown and a start, is stopped by forceStop, and a stopped one cannot be suspended', async () => {
    await nodes.suspend(cp1);
    await expect(nodes.shutdown(cp1)).rejects.toThrow(/VM is paused - cannot shutdown/);
    await expect(nodes.powerOn(cp1)).resolves.toBeUndefined(); // QEMU runs: nothing to start
    await expect(client.waitTask('pve1', await client.vmStart('pve1', 101), { timeoutMs: 5000 })).rejects.toThrow(/VM 101 already running/);
    expect(double.vm(101).status).toBe('paused');
    const forcing = new ProxmoxNodeControl(client, { taskTimeoutMs: 5000, shutdownTimeoutS: 1, forceStopAfterShutdownTimeout: true });
    await forcing.shutdown(cp1);
    expect(double.vm(101).status).toBe('stopped');
    expect(await nodes.status(cp1)).toBe('stopped');
    await expect(nodes.suspend(cp1)).rejects.toThrow(/VM 101 not running/);
    await expect(nodes.resume(cp1)).rejects.toThrow(/VM 101 not running/);
    await nodes.powerOn(cp1);
    expect(double.vm(101).status).toBe('running');
  });

  test('a failed power task rejects with its exit status', async () => {
    double.nextTask('start', { fail: 'start failed: QEMU exited with code 1' });
    await expect(nodes.powerOn(w1)).rejects.toThrow(/qmstart 104 on pve1 failed: start failed: QEMU exited with code 1/);
    expect(double.vm(104).status).toBe('stopped');
  });

  test('a node without a hypervisor reference is a UserError naming the node and the profile field', async () => {
    const bare: NodeSpec = { name: 'cp9', role: 'control-plane', ip: '192.168.40.69' };
    const before = double.requests.length;
    for (const op of [() => nodes.powerOff(bare), () => nodes.powerOn(bare), () => nodes.shutdown(bare), () => nodes.suspend(bare), () => nodes.resume(bare), () => nodes.status(bare)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(
        'node cp9 has no Proxmox VM reference: set nodes[name=cp9].hypervisor to { node: <PVE node>, vmid: <VM id> } in the profile',
      );
    }
    expect(double.requests.length).toBe(before);
    expect(vmOf(cp1)).toEqual({ node: 'pve1', vmid: 101 });
  });
});

describe('ProxmoxNodeControl status mapping', () => {
  const withStatus = (s: Partial<PveVmStatus>) =>
    new ProxmoxNodeControl({ vmStatus: async () => ({ vmid: 101, status: 'running', ...s }) } as unknown as ProxmoxClient);

  test.each([
    [{ status: 'running', qmpstatus: 'running' }, 'running'],
    [{ status: 'running', qmpstatus: undefined }, 'running'],
    [{ status: 'running', qmpstatus: 'paused' }, 'paused'],
    [{ status: 'running', qmpstatus: 'suspended' }, 'unknown'],
    [{ status: 'running', qmpstatus: 'prelaunch' }, 'unknown'],
    [{ status: 'stopped', qmpstatus: 'stopped' }, 'stopped'],
  ] as const)('%o -> %s', async (s, expected) => {
    expect(await withStatus(s).status(cp1)).toBe(expected);
  });
});
