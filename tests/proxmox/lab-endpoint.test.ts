import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { NodeSpec } from '../../core/profile/schema.ts';
import {
  LAB_PVE_NODE,
  LAB_VMIDS,
  labNodeOfVmid,
  labVmidOf,
  startLabPveEndpoint,
  type LabPowerBackend,
  type LabPveEndpoint,
} from '../../bootstrap/lab/pve-endpoint.ts';
import { PveApiError, PveAuthError, PveTaskError } from '../../providers/proxmox/api-errors.ts';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { ProxmoxNodeControl } from '../../providers/proxmox/node-control.ts';
import type { PveExchange } from '../../bootstrap/lab/pve-server/pve-server.ts';
import { parseUpid } from '../../providers/proxmox/upid.ts';
import { makeTestPki, type TestPki } from './test-pki.ts';

const TOKEN_ID = 'root@pam!lab';
const TOKEN_SECRET = '3b6a0c8e-2f1d-4e7a-9b5c-8d4e2a1f6c09';

/** The supervisor's side, in memory: what each node's processes would be doing. */
class FakeLab implements LabPowerBackend {
  readonly state = new Map<number, 'running' | 'paused' | 'stopped'>(Object.values(LAB_VMIDS).map((id) => [id, 'running']));
  readonly calls: string[] = [];
  failNext?: string;
  /** nodes whose processes ignore SIGTERM */
  readonly stubborn = new Set<number>();

  list() {
    return Object.entries(LAB_VMIDS).map(([name, vmid]) => ({ vmid, name }));
  }
  status(vmid: number) {
    return this.state.get(vmid)!;
  }
  async start(vmid: number) {
    this.act(`start ${vmid}`);
    this.state.set(vmid, 'running');
  }
  async stop(vmid: number) {
    this.act(`stop ${vmid}`);
    this.state.set(vmid, 'stopped');
  }
  async shutdown(vmid: number, timeoutS: number) {
    this.act(`shutdown ${vmid} ${timeoutS}s`);
    if (this.stubborn.has(vmid)) throw new Error(`${labNodeOfVmid(vmid)} still has processes after ${timeoutS} s of SIGTERM`);
    this.state.set(vmid, 'stopped');
  }
  async suspend(vmid: number) {
    this.act(`suspend ${vmid}`);
    this.state.set(vmid, 'paused');
  }
  async resume(vmid: number) {
    this.act(`resume ${vmid}`);
    if (this.state.get(vmid) === 'paused') this.state.set(vmid, 'running');
  }
  private act(call: string) {
    this.calls.push(call);
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw new Error(failure);
  }
}

const labNode = (name: string): NodeSpec => ({
  name,
  role: name.startsWith('cp') ? 'control-plane' : 'worker',
  ip: `198.18.40.${60 + Number(name.slice(-1)) + (name.startsWith('w') ? 3 : 0)}`,
  hypervisor: { node: LAB_PVE_NODE, vmid: labVmidOf(name)! },
});

let pki: TestPki;
let lab: FakeLab;
let endpoint: LabPveEndpoint;
let client: ProxmoxClient;
let nodes: ProxmoxNodeControl;
const exchanges: PveExchange[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  lab = new FakeLab();
  endpoint = await startLabPveEndpoint({
    backend: lab,
    cert: pki.certPem,
    key: pki.keyPem,
    tokenId: TOKEN_ID,
    tokenSecret: TOKEN_SECRET,
    onExchange: (e) => exchanges.push(e),
  });
  client = new ProxmoxClient({ url: endpoint.url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, caFile: pki.caFile, taskPollMs: 10, retryMinTimeoutMs: 10 });
  nodes = new ProxmoxNodeControl(client, { taskTimeoutMs: 5000, shutdownTimeoutS: 7 });
});
afterAll(async () => {
  client.close();
  await endpoint.close();
  pki.remove();
});

describe('the lab PVE endpoint', () => {
  test('maps the lab nodes to VMs 101-105 on node "lab"', () => {
    expect(LAB_PVE_NODE).toBe('lab');
    expect(LAB_VMIDS).toEqual({ cp1: 101, cp2: 102, cp3: 103, w1: 104, w2: 105 });
    expect(labVmidOf('w2')).toBe(105);
    expect(labVmidOf('toString')).toBeUndefined();
    expect(labNodeOfVmid(103)).toBe('cp3');
    expect(labNodeOfVmid(106)).toBeUndefined();
  });

  test('listens on 127.0.0.1 and lists the lab nodes as VMs', async () => {
    expect(endpoint.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await client.version()).release).toMatch(/^\d+\.\d+$/);
    const vms = await client.clusterResources({ type: 'vm' });
    expect(vms.map((v) => `${v.vmid}:${v.name}@${v.node}`)).toEqual(['101:cp1@lab', '102:cp2@lab', '103:cp3@lab', '104:w1@lab', '105:w2@lab']);
  });

  test('ProxmoxNodeControl drives the backend: power-off, status, power-on, shutdown', async () => {
    await nodes.powerOff(labNode('cp1'));
    expect(lab.calls.at(-1)).toBe('stop 101');
    expect(await nodes.status(labNode('cp1'))).toBe('stopped');
    await nodes.powerOn(labNode('cp1'));
    expect(lab.calls.at(-1)).toBe('start 101');
    expect(await nodes.status(labNode('cp1'))).toBe('running');
    await nodes.shutdown(labNode('w1'));
    expect(lab.calls.at(-1)).toBe('shutdown 104 7s');
    expect(await nodes.status(labNode('w1'))).toBe('stopped');
    await nodes.powerOn(labNode('w1'));
  });

  test('suspend and resume reach the backend; status/current says running + qmpstatus paused while it is paused', async () => {
    const from = exchanges.length;
    await nodes.suspend(labNode('cp2'));
    expect(lab.calls.at(-1)).toBe('suspend 102');
    expect(await nodes.status(labNode('cp2'))).toBe('paused');
    const current = await client.vmStatus(LAB_PVE_NODE, 102);
    expect({ status: current.status, qmpstatus: current.qmpstatus }).toEqual({ status: 'running', qmpstatus: 'paused' });
    expect((await client.clusterResources({ type: 'vm' })).find((v) => v.vmid === 102)?.status).toBe('running');
    await nodes.resume(labNode('cp2'));
    expect(lab.calls.at(-1)).toBe('resume 102');
    expect(await nodes.status(labNode('cp2'))).toBe('running');
    expect(exchanges.slice(from).filter((e) => e.violation)).toEqual([]);
  });

  test('power operations are tasks with real UPIDs owned by the token', async () => {
    const upid = await client.vmStop(LAB_PVE_NODE, 105);
    expect(parseUpid(upid)).toMatchObject({ node: 'lab', type: 'qmstop', id: '105', user: TOKEN_ID });
    const done = await client.waitTask(LAB_PVE_NODE, upid, { timeoutMs: 5000 });
    expect(done).toMatchObject({ status: 'stopped', exitstatus: 'OK', upid });
    expect((await client.taskLog(LAB_PVE_NODE, upid)).map((l) => l.t)).toEqual(['TASK OK']);
    await nodes.powerOn(labNode('w2'));
  });

  test("a backend failure ends the task stopped with the backend's error as exit status", async () => {
    lab.failNext = 'cp2: etcd did not exit';
    const err = await nodes.powerOff(labNode('cp2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTaskError);
    expect((err as PveTaskError).exitstatus).toBe('cp2: etcd did not exit');
    expect((err as PveTaskError).log).toEqual(['TASK ERROR: cp2: etcd did not exit']);
  });

  test('a shutdown the node does not complete fails, or is turned into a stop with forceStop', async () => {
    lab.stubborn.add(103);
    await expect(nodes.shutdown(labNode('cp3'))).rejects.toThrow(/qmshutdown 103 on lab failed: cp3 still has processes after 7 s of SIGTERM/);
    expect(lab.status(103)).toBe('running');
    const forcing = new ProxmoxNodeControl(client, { taskTimeoutMs: 5000, shutdownTimeoutS: 7, forceStopAfterShutdownTimeout: true });
    await forcing.shutdown(labNode('cp3'));
    expect(lab.calls.slice(-2)).toEqual(['shutdown 103 7s', 'stop 103']);
    expect(lab.status(103)).toBe('stopped');
    lab.stubborn.delete(103);
    await nodes.powerOn(labNode('cp3'));
  });

  test('checks the token', async () => {
    const wrong = new ProxmoxClient({ url: endpoint.url, tokenId: TOKEN_ID, tokenSecret: '00000000-0000-4000-8000-000000000000', caFile: pki.caFile });
    await expect(wrong.vmStatus(LAB_PVE_NODE, 101)).rejects.toBeInstanceOf(PveAuthError);
    wrong.close();
  });

  test('judges requests against the PVE contract and reports violations', async () => {
    const strict = new ProxmoxClient({ url: endpoint.url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, caFile: pki.caFile, retries: 0 });
    const err = await strict.call('POST', '/nodes/lab/qemu/101/status/stop', { now: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveApiError);
    expect((err as PveApiError).status).toBe(400);
    expect(exchanges.at(-1)?.violation).toMatchObject({ kind: 'invalid-params', errors: { now: expect.any(String) } });
    expect(lab.calls.at(-1)).not.toBe('stop 101');
    await expect(strict.vmStatus('pve1', 101)).rejects.toThrow(/hostname lookup 'pve1' failed/);
    strict.close();
    expect(exchanges.filter((e) => e.violation && e.violation.kind !== 'invalid-params')).toEqual([]);
  });
});
