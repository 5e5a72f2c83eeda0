/**
 * The homelab VIP holder probe: parsing (iproute2 JSON recorded from iproute2 6.1.0, PVE net[n] strings checked
 * against the PVE contract), MAC matching, the probe with injected `ip` and HTTPS runners, readyz through a
 * local HTTPS server pinned to its CA, and the VM config call against a contract-checked Proxmox double.
 * Everything runs on 127.0.0.1 or in memory: homelab addresses appear only as data given to fakes.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MissingPrerequisiteError, RefusedError, UserError } from '../../core/errors.ts';
import type { HttpsResult } from '../../providers/https-json.ts';
import { PveAuthError } from '../../providers/proxmox/api-errors.ts';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { checkValue, PveContract } from '../../providers/proxmox/contract.ts';
import { HomelabVipProbe, proxmoxVmConfigReader, type CommandResult, type IpRunner, type VmConfigReader } from '../../providers/proxmox/vip-holder.ts';
import {
  macIndex,
  neighbourFor,
  normaliseMac,
  parseNeighbours,
  parsePveNet,
  parseRouteGet,
  unknownHolder,
  vmNics,
} from '../../providers/proxmox/vip-holder-parse.ts';
import { ADMIN_TOKEN, AUDIT_TOKEN, POWER_ONLY_TOKEN } from './pve-contract.ts';
import { PveConfigDouble } from './pve-config-double.ts';
import { makeTestPki, type TestPki } from './test-pki.ts';

// ---- recorded iproute2 6.1.0 output (`ip -j ...` on a host with the lab bridge cp-br0; the last samples adapted to
// the homelab's addresses and a Proxmox MAC, same shape)
const NEIGH_RECORDED_ALL =
  '[{"dst":"198.18.40.61","dev":"cp-br0","lladdr":"02:00:c6:12:28:3d","state":["STALE"]},{"dst":"192.0.2.1","dev":"eth0","lladdr":"02:fc:00:00:00:05","state":["STALE"]},{"dst":"198.18.40.60","dev":"cp-br0","lladdr":"02:00:c6:12:28:3d","state":["REACHABLE"]},{"dst":"198.18.40.63","dev":"cp-br0","lladdr":"02:00:c6:12:28:3f","state":["STALE"]},{"dst":"198.18.40.62","dev":"cp-br0","lladdr":"02:00:c6:12:28:3e","state":["STALE"]},{"dst":"fd00::1","dev":"eth0","state":["FAILED"]}]\n';
const NEIGH_RECORDED_ONE = '[{"dst":"198.18.40.60","dev":"cp-br0","lladdr":"02:00:c6:12:28:3d","state":["REACHABLE"]}]\n';
/** `ip -j neigh show to 198.18.40.60 dev cp-br0`: dev left out */
const NEIGH_RECORDED_WITH_DEV = '[{"dst":"198.18.40.60","lladdr":"02:00:c6:12:28:3d","state":["REACHABLE"]}]\n';
/** `ip -j -s neigh show 198.18.40.60` */
const NEIGH_RECORDED_STATS = '[{"dst":"198.18.40.60","dev":"cp-br0","lladdr":"02:00:c6:12:28:3d","refcnt":1,"used":386,"confirmed":0,"updated":381,"probes":1,"state":["REACHABLE"]}]\n';
const NEIGH_NONE = '[]\n';
const ROUTE_RECORDED_ONLINK = '[{"dst":"198.18.40.60","dev":"cp-br0","prefsrc":"198.18.40.1","flags":[],"uid":0,"cache":[]}]\n';
const ROUTE_RECORDED_GATEWAY = '[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]\n';
const ROUTE_RECORDED_LOCAL = '[{"type":"local","dst":"127.0.0.1","dev":"lo","prefsrc":"127.0.0.1","flags":[],"uid":0,"cache":["local"]}]\n';

const VIP = '192.168.40.60';
const neigh = (state: string, mac?: string, dev?: string) =>
  JSON.stringify([{ dst: VIP, ...(dev ? { dev } : {}), ...(mac ? { lladdr: mac } : {}), state: [state] }]);
const ROUTE_HOMELAB = '[{"dst":"192.168.40.60","dev":"eth0","prefsrc":"192.168.40.5","flags":[],"uid":0,"cache":[]}]';

// ---- VM configs as PVE 9 returns them (GET /nodes/{node}/qemu/{vmid}/config); MACs in Proxmox's BC:24:11 range
const vmConfig = (name: string, net0: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  cores: 2,
  sockets: 1,
  memory: '4096',
  cpu: 'host',
  scsihw: 'virtio-scsi-single',
  scsi0: 'local-lvm:vm-161-disk-0,iothread=1,size=20G',
  ide2: 'local:iso/talos-metal-amd64.iso,media=cdrom,size=104M',
  boot: 'order=scsi0;ide2;net0',
  agent: 'enabled=1',
  ostype: 'l26',
  onboot: 1,
  net0,
  digest: '5f2a8e0c4b1d7a3e9f6c2b8d0e4a1c7f3b9d5e2a',
  ...extra,
});
const CONFIGS: Record<string, Record<string, unknown>> = {
  'pve/161': vmConfig('cp-node-1', 'virtio=BC:24:11:5E:2A:01,bridge=vmbr0,firewall=1'),
  'pve/162': vmConfig('cp-node-2', 'virtio=BC:24:11:5E:2A:02,bridge=vmbr0,firewall=1'),
  'pve/163': vmConfig('cp-node-3', 'virtio=BC:24:11:5E:2A:03,bridge=vmbr0,firewall=1', { net1: 'e1000=BC:24:11:5E:2B:03,bridge=vmbr1,link_down=1' }),
  'pve/164': vmConfig('worker-node-1', 'virtio=BC:24:11:5E:2A:04,bridge=vmbr0,tag=40'),
  'pve/165': vmConfig('worker-node-2', 'model=virtio,macaddr=BC:24:11:5E:2A:05,bridge=vmbr0'),
};
const NODES = [
  { name: 'cp-node-1', hypervisor: { node: 'pve', vmid: 161 } },
  { name: 'cp-node-2', hypervisor: { node: 'pve', vmid: 162 } },
  { name: 'cp-node-3', hypervisor: { node: 'pve', vmid: 163 } },
  { name: 'worker-node-1', hypervisor: { node: 'pve', vmid: 164 } },
  { name: 'worker-node-2', hypervisor: { node: 'pve', vmid: 165 } },
];

describe('iproute2 JSON', () => {
  test('a neighbour table with resolved and failed entries', () => {
    const entries = parseNeighbours(NEIGH_RECORDED_ALL);
    expect(entries).toHaveLength(6);
    expect(entries[2]).toEqual({ dst: '198.18.40.60', dev: 'cp-br0', lladdr: '02:00:c6:12:28:3d', state: ['REACHABLE'] });
    expect(entries[5]).toEqual({ dst: 'fd00::1', dev: 'eth0', lladdr: undefined, state: ['FAILED'] });
  });

  test('one address, with or without dev, with -s statistics, or no entry', () => {
    expect(parseNeighbours(NEIGH_RECORDED_ONE)).toEqual([{ dst: '198.18.40.60', dev: 'cp-br0', lladdr: '02:00:c6:12:28:3d', state: ['REACHABLE'] }]);
    expect(parseNeighbours(NEIGH_RECORDED_WITH_DEV)).toEqual([{ dst: '198.18.40.60', dev: undefined, lladdr: '02:00:c6:12:28:3d', state: ['REACHABLE'] }]);
    expect(parseNeighbours(NEIGH_RECORDED_STATS)[0].lladdr).toBe('02:00:c6:12:28:3d');
    expect(parseNeighbours(NEIGH_NONE)).toEqual([]);
    expect(parseNeighbours('')).toEqual([]);
  });

  test('flags such as "router": null and several states are tolerated', () => {
    const e = parseNeighbours(JSON.stringify([{ dst: VIP, dev: 'eth0', lladdr: 'BC:24:11:5E:2A:02', router: null, state: ['STALE', 'NOARP'] }]));
    expect(e).toEqual([{ dst: VIP, dev: 'eth0', lladdr: 'bc:24:11:5e:2a:02', state: ['STALE', 'NOARP'] }]);
  });

  test('not JSON, or not an array, is an error naming the command', () => {
    expect(() => parseNeighbours('Object "neigh" is unknown')).toThrow(/ip -j neigh show: not JSON/);
    expect(() => parseNeighbours('{"dst":"x"}')).toThrow(/expected a JSON array/);
  });

  test('route get: on-link, through a gateway, local', () => {
    expect(parseRouteGet(ROUTE_RECORDED_ONLINK)).toEqual({ dst: '198.18.40.60', dev: 'cp-br0', gateway: undefined, prefsrc: '198.18.40.1', type: undefined });
    expect(parseRouteGet(ROUTE_RECORDED_GATEWAY)).toMatchObject({ gateway: '192.0.2.1', dev: 'eth0' });
    expect(parseRouteGet(ROUTE_RECORDED_LOCAL)).toMatchObject({ type: 'local', dev: 'lo' });
    expect(parseRouteGet('[]')).toBeUndefined();
  });

  test('the entry for the VIP must be on the route\'s device and resolved', () => {
    const entries = [
      { dst: VIP, dev: 'wlan0', lladdr: 'aa:aa:aa:aa:aa:aa', state: ['STALE'] },
      { dst: VIP, dev: 'eth0', lladdr: 'bc:24:11:5e:2a:02', state: ['DELAY'] },
    ];
    expect(neighbourFor(entries, VIP, 'eth0')?.lladdr).toBe('bc:24:11:5e:2a:02');
    expect(neighbourFor(parseNeighbours(neigh('INCOMPLETE', undefined, 'eth0')), VIP, 'eth0')).toBeUndefined();
    expect(neighbourFor(parseNeighbours(neigh('FAILED', 'bc:24:11:5e:2a:02', 'eth0')), VIP, 'eth0')).toBeUndefined();
    expect(neighbourFor(parseNeighbours(NEIGH_RECORDED_WITH_DEV), '198.18.40.60', 'cp-br0')?.lladdr).toBe('02:00:c6:12:28:3d');
    expect(neighbourFor(parseNeighbours(NEIGH_RECORDED_ALL), '198.18.40.99')).toBeUndefined();
  });

  test('MACs are normalised to iproute2\'s lowercase form', () => {
    expect(normaliseMac('BC:24:11:5E:2A:01')).toBe('bc:24:11:5e:2a:01');
    expect(normaliseMac('bc-24-11-5e-2a-01')).toBeUndefined();
    expect(normaliseMac(undefined)).toBeUndefined();
  });
});

describe('PVE net[n] strings', () => {
  const netSchema = PveContract.load().schemaFor('GET', '/nodes/{node}/qemu/{vmid}/config')!.returns!.properties!['net[n]'];
  const samples = [
    'virtio=BC:24:11:5E:2A:01,bridge=vmbr0,firewall=1',
    'model=virtio,macaddr=BC:24:11:5E:2A:05,bridge=vmbr0',
    'e1000=BC:24:11:5E:2B:03,bridge=vmbr1,link_down=1',
    'virtio=BC:24:11:5E:2A:04,bridge=vmbr0,tag=40',
    'virtio,bridge=vmbr0',
  ];

  test.each(samples)('%s is valid for the contract\'s net[n] format', (value) => {
    expect(checkValue(netSchema, value)).toBeUndefined();
  });

  test('model-name key carries the MAC; model= and macaddr= spelled out; bare model; tag and link_down', () => {
    expect(parsePveNet('net0', samples[0])).toEqual({ key: 'net0', model: 'virtio', mac: 'bc:24:11:5e:2a:01', bridge: 'vmbr0', linkDown: false });
    expect(parsePveNet('net0', samples[1])).toEqual({ key: 'net0', model: 'virtio', mac: 'bc:24:11:5e:2a:05', bridge: 'vmbr0', linkDown: false });
    expect(parsePveNet('net1', samples[2])).toEqual({ key: 'net1', model: 'e1000', mac: 'bc:24:11:5e:2b:03', bridge: 'vmbr1', linkDown: true });
    expect(parsePveNet('net0', samples[3])).toMatchObject({ tag: 40 });
    expect(parsePveNet('net0', samples[4])).toEqual({ key: 'net0', model: 'virtio', mac: undefined, bridge: 'vmbr0', linkDown: false });
  });

  test('a VM config: every netN, in index order, nothing else', () => {
    const nics = vmNics({ ...CONFIGS['pve/163'], net10: 'virtio=BC:24:11:00:00:10,bridge=vmbr0', scsi0: 'local-lvm:x,size=1G' });
    expect(nics.map((n) => [n.key, n.mac])).toEqual([
      ['net0', 'bc:24:11:5e:2a:03'],
      ['net1', 'bc:24:11:5e:2b:03'],
      ['net10', 'bc:24:11:00:00:10'],
    ]);
  });

  test('the MAC index covers every NIC of every VM', () => {
    const index = macIndex(NODES.map((n) => ({ name: n.name, vm: `pve/${n.hypervisor.vmid}`, nics: vmNics(CONFIGS[`pve/${n.hypervisor.vmid}`]) })));
    expect(index.get('bc:24:11:5e:2a:02')).toBe('cp-node-2');
    expect(index.get('bc:24:11:5e:2b:03')).toBe('cp-node-3');
    expect(index.get('bc:24:11:5e:2a:05')).toBe('worker-node-2');
    expect(index.size).toBe(6);
  });

  test('two VMs with the same MAC: the holder could not be told apart, so a UserError naming both', () => {
    const same = vmNics({ net0: 'virtio=BC:24:11:5E:2A:01,bridge=vmbr0' });
    expect(() => macIndex([{ name: 'cp-node-1', vm: 'pve/161', nics: same }, { name: 'cp-node-2', vm: 'pve/162', nics: same }])).toThrow(
      /pve\/161 net0 and pve\/162 net0 share the MAC bc:24:11:5e:2a:01/,
    );
  });
});

// ---- the probe with injected runners

class FakeIp {
  readonly calls: string[][] = [];
  route = ROUTE_HOMELAB;
  neigh = neigh('REACHABLE', 'bc:24:11:5e:2a:02', undefined);

  readonly run: IpRunner = async (args) => {
    this.calls.push(args);
    const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
    if (args.includes('route')) return ok(this.route);
    if (args.includes('neigh')) return ok(this.neigh);
    return { exitCode: 255, stdout: '', stderr: `unexpected ip ${args.join(' ')}` };
  };
}

const httpError = (code: string, message = code) => Object.assign(new Error(message), { code });

function fakeHttps(outcome: () => HttpsResult | Error) {
  const calls: Array<{ url: string; ca?: string | Buffer; timeoutMs?: number; allowRemote?: boolean }> = [];
  const fn = async (url: string, opts: { ca?: string | Buffer; timeoutMs?: number; allowRemote?: boolean }) => {
    calls.push({ url, ...opts });
    const o = outcome();
    if (o instanceof Error) throw o;
    return o;
  };
  return { fn, calls };
}

function configsReader(configs: Record<string, Record<string, unknown>> = CONFIGS) {
  const calls: string[] = [];
  const read: VmConfigReader = async (node, vmid) => {
    calls.push(`${node}/${vmid}`);
    const c = configs[`${node}/${vmid}`];
    if (!c) throw new Error(`no VM ${node}/${vmid}`);
    return c;
  };
  return { read, calls };
}

function probe(over: { ip?: FakeIp; https?: ReturnType<typeof fakeHttps>; configs?: ReturnType<typeof configsReader>; reindexAfterMs?: number } = {}) {
  const ip = over.ip ?? new FakeIp();
  const https = over.https ?? fakeHttps(() => ({ status: 200, body: 'ok', latencyMs: 3 }));
  const configs = over.configs ?? configsReader();
  const p = new HomelabVipProbe({
    address: VIP,
    nodes: NODES,
    vmConfig: configs.read,
    ca: 'CA PEM',
    port: 6443,
    subnet: '192.168.40.0/24',
    allowRemote: true,
    ip: ip.run,
    https: https.fn,
    reindexAfterMs: over.reindexAfterMs,
  });
  return { p, ip, https, configs };
}

describe('HomelabVipProbe.holders', () => {
  test('the VM whose MAC the neighbour table shows, after one readyz through the VIP to refresh it', async () => {
    const { p, ip, https } = probe();
    expect(await p.holders()).toEqual(['cp-node-2']);
    expect(https.calls).toEqual([{ url: 'https://192.168.40.60:6443/readyz', ca: 'CA PEM', timeoutMs: 1000, allowRemote: true }]);
    expect(ip.calls).toEqual([
      ['-j', 'route', 'get', VIP],
      ['-j', 'neigh', 'show', VIP, 'dev', 'eth0'],
    ]);
  });

  test('VM configs are read once; the route is checked once', async () => {
    const { p, ip, configs } = probe();
    await p.holders();
    await p.holders();
    expect(configs.calls).toEqual(['pve/161', 'pve/162', 'pve/163', 'pve/164', 'pve/165']);
    expect(ip.calls.filter((c) => c.includes('route'))).toHaveLength(1);
  });

  test('the VIP does not answer (holder just lost power): nobody, whatever entry the table still has', async () => {
    const { p, ip } = probe({ https: fakeHttps(() => httpError('ETIMEDOUT', 'timeout after 1000 ms')) });
    expect(await p.holders()).toEqual([]);
    expect(ip.calls.some((c) => c.includes('neigh'))).toBe(false);
    const unreachable = probe({ https: fakeHttps(() => httpError('EHOSTUNREACH')) });
    expect(await unreachable.p.holders()).toEqual([]);
  });

  test('the VIP answers without a ready API server (refused, HTTP 500): the holder is still named', async () => {
    expect(await probe({ https: fakeHttps(() => httpError('ECONNREFUSED')) }).p.holders()).toEqual(['cp-node-2']);
    expect(await probe({ https: fakeHttps(() => ({ status: 500, body: '[-]etcd failed', latencyMs: 4 })) }).p.holders()).toEqual(['cp-node-2']);
    expect(await probe({ https: fakeHttps(() => httpError('ERR_TLS_CERT_ALTNAME_INVALID')) }).p.holders()).toEqual(['cp-node-2']);
  });

  test('a worker answering for the VIP (MetalLB handing it out) is named', async () => {
    const ip = new FakeIp();
    ip.neigh = neigh('REACHABLE', 'bc:24:11:5e:2a:05');
    expect(await probe({ ip }).p.holders()).toEqual(['worker-node-2']);
  });

  test('a MAC no VM has: one re-read of the configs (rate-limited), then "unknown"', async () => {
    const ip = new FakeIp();
    ip.neigh = neigh('STALE', '02:00:c6:12:28:3d', 'eth0');
    const { p, configs } = probe({ ip, reindexAfterMs: 60_000 });
    expect(await p.holders()).toEqual([unknownHolder('02:00:c6:12:28:3d')]);
    expect(configs.calls).toHaveLength(5); // the first index was fresh: no re-read yet
  });

  test('a VM whose NIC changed since the index was built is found after the re-read', async () => {
    const changed = { ...CONFIGS };
    const reader = configsReader(changed);
    const ip = new FakeIp();
    const { p } = probe({ ip, configs: reader, reindexAfterMs: 0 });
    expect(await p.holders()).toEqual(['cp-node-2']);
    changed['pve/163'] = vmConfig('cp-node-3', 'virtio=BC:24:11:5E:2A:33,bridge=vmbr0');
    ip.neigh = neigh('REACHABLE', 'bc:24:11:5e:2a:33');
    expect(await p.holders()).toEqual(['cp-node-3']);
    expect(reader.calls).toHaveLength(10);
  });

  test('no entry, or an unresolved one: nobody', async () => {
    for (const table of [NEIGH_NONE, neigh('INCOMPLETE'), neigh('FAILED')]) {
      const ip = new FakeIp();
      ip.neigh = table;
      expect(await probe({ ip }).p.holders()).toEqual([]);
    }
  });

  test('a VIP reached through a gateway is refused with the reason: the table would show the router', async () => {
    const ip = new FakeIp();
    ip.route = '[{"dst":"192.168.40.60","gateway":"10.0.0.1","dev":"eth0","prefsrc":"10.0.0.7","flags":[],"uid":0,"cache":[]}]';
    const { p, https } = probe({ ip });
    await expect(p.holders()).rejects.toThrow(UserError);
    await expect(p.holders()).rejects.toThrow(/through the gateway 10\.0\.0\.1.*machine on the cluster LAN 192\.168\.40\.0\/24/);
    expect(https.calls).toHaveLength(0);
  });

  test('the VIP as one of this machine\'s own addresses is refused too', async () => {
    const ip = new FakeIp();
    ip.route = '[{"type":"local","dst":"192.168.40.60","dev":"lo","prefsrc":"192.168.40.60","flags":[],"uid":0,"cache":["local"]}]';
    await expect(probe({ ip }).p.holders()).rejects.toThrow(/is an address of this machine/);
  });

  test('a Proxmox error while indexing is not swallowed', async () => {
    const { p } = probe({ configs: configsReader({}) });
    await expect(p.holders()).rejects.toThrow(/no VM pve\/161/);
  });

  test('the network guard refusing the VIP is thrown, not reported as "nobody"', async () => {
    const refused = probe({ https: fakeHttps(() => new RefusedError('network guard: refusing to contact 192.168.40.60')) });
    await expect(refused.p.holders()).rejects.toBeInstanceOf(RefusedError);
  });

  test('without iproute2: MissingPrerequisiteError', async () => {
    const p = new HomelabVipProbe({
      address: VIP,
      nodes: NODES,
      vmConfig: configsReader().read,
      allowRemote: true,
      ip: () => Promise.reject(new MissingPrerequisiteError('`ip` (iproute2) is not installed', 'apt-get install -y iproute2')),
      https: fakeHttps(() => ({ status: 200, body: 'ok', latencyMs: 1 })).fn,
    });
    await expect(p.holders()).rejects.toBeInstanceOf(MissingPrerequisiteError);
  });
});

describe('HomelabVipProbe.readyz through a real HTTPS server on 127.0.0.1', () => {
  let pki: TestPki;
  let server: Server;
  let port: number;
  let status = 200;

  beforeAll(async () => {
    pki = makeTestPki();
    server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      res.writeHead(req.url === '/readyz' ? status : 404).end(status === 200 ? 'ok' : '[-]etcd failed: reason withheld\nreadyz check failed');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    pki.remove();
  });

  const local = (ca: string | undefined) => new HomelabVipProbe({ address: '127.0.0.1', nodes: [], vmConfig: configsReader().read, ca, port });

  test('ok with the cluster CA', async () => {
    status = 200;
    expect(await local(pki.caPem).readyz(2000)).toMatchObject({ ok: true, status: 200 });
  });

  test('an unready API server: not ok, with its status', async () => {
    status = 500;
    const r = await local(pki.caPem).readyz(2000);
    expect(r).toMatchObject({ ok: false, status: 500 });
    status = 200;
  });

  test('a server the CA did not sign: not ok, with the TLS error', async () => {
    const r = await local(undefined).readyz(2000);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/self.signed|unable to (get|verify)/i);
  });

  test('homelab addresses are refused by the network guard unless the run allows remote targets', async () => {
    const p = new HomelabVipProbe({ address: VIP, nodes: [], vmConfig: configsReader().read });
    expect(await p.readyz(500)).toMatchObject({ ok: false, error: expect.stringMatching(/network guard: refusing to contact 192\.168\.40\.60/) });
  });
});

describe('GET /nodes/{node}/qemu/{vmid}/config against the PVE contract', () => {
  let double: PveConfigDouble;
  const clients: ProxmoxClient[] = [];
  const client = (token = ADMIN_TOKEN) => {
    const c = new ProxmoxClient({ url: double.url, tokenId: token.id, tokenSecret: token.secret, caFile: double.caFile, retryMinTimeoutMs: 10, requestTimeoutMs: 5000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    double = await PveConfigDouble.start({ configs: CONFIGS, tokens: [ADMIN_TOKEN, AUDIT_TOKEN, POWER_ONLY_TOKEN] });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await double.close();
  });

  test('the reader asks for the current config with VM.Audit, and PVE\'s answer conforms', async () => {
    const from = double.requests.length;
    const config = await proxmoxVmConfigReader(client(AUDIT_TOKEN))('pve', 162);
    expect(config.net0).toBe('virtio=BC:24:11:5E:2A:02,bridge=vmbr0,firewall=1');
    expect(double.requests.slice(from)).toEqual([
      { method: 'GET', path: '/nodes/pve/qemu/162/config', template: '/nodes/{node}/qemu/{vmid}/config', params: { current: '1' }, status: 200, tokenId: AUDIT_TOKEN.id, violation: undefined },
    ]);
    double.assertNoViolations();
  });

  test('a token without VM.Audit gets a PveAuthError naming the privilege', async () => {
    const err = await proxmoxVmConfigReader(client(POWER_ONLY_TOKEN))('pve', 161).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveAuthError);
    expect((err as Error).message).toMatch(/lacks VM\.Audit on \/vms\/161/);
    double.assertNoViolations();
  });

  test('the probe end to end: MACs from the double, the table from a fake ip, readyz faked', async () => {
    const ip = new FakeIp();
    ip.neigh = neigh('REACHABLE', 'bc:24:11:5e:2a:03', 'eth0');
    const p = new HomelabVipProbe({
      address: VIP,
      nodes: NODES,
      vmConfig: proxmoxVmConfigReader(client()),
      allowRemote: true,
      ip: ip.run,
      https: fakeHttps(() => ({ status: 200, body: 'ok', latencyMs: 2 })).fn,
    });
    expect(await p.holders()).toEqual(['cp-node-3']);
    expect(double.requests.filter((r) => r.tokenId === ADMIN_TOKEN.id).map((r) => r.path).sort()).toEqual(
      [161, 162, 163, 164, 165].map((id) => `/nodes/pve/qemu/${id}/config`),
    );
    double.assertNoViolations();
  });
});
