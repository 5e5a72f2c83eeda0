/**
 * bootstrap's Proxmox steps against the contract double: every request is judged against the PVE 9 schema subset
 * (tests/bootstrap/pve-vm-double.ts); create, adopt, change only what differs, task failures, 401/403 and
 * destroy of tagged VMs only.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { isoVolid } from '../../bootstrap/config.ts';
import { desiredVm } from '../../bootstrap/proxmox/vm-config.ts';
import { ADMIN_TOKEN, PveVmDouble, READ_ONLY_TOKEN, VM_ONLY_TOKEN, type SimVm } from './pve-vm-double.ts';
import { depsFor, fixedSeed, proxmoxPlan, run, type RunLog } from './support.ts';

const doubles: PveVmDouble[] = [];
async function double(opts: Parameters<typeof PveVmDouble.start>[0] = {}) {
  const d = await PveVmDouble.start(opts);
  doubles.push(d);
  return d;
}
afterEach(async () => {
  for (const d of doubles.splice(0)) {
    try {
      d.assertNoViolations();
    } finally {
      await d.close();
    }
  }
});

const newLog = (): RunLog => ({ lines: [], questions: [] });
const loaded = fixedSeed();
const ISO = isoVolid((await import('../../bootstrap/config.ts')).bootstrapSettings(loaded.profile, loaded.dir));

/** An existing VM of the profile, as bootstrap itself would have created it. */
function existingVm(vmid: number, change: (vm: SimVm) => void = () => {}): SimVm {
  const names: Record<number, string> = { 161: 'cp-node-1', 162: 'cp-node-2', 163: 'cp-node-3', 164: 'worker-node-1', 165: 'worker-node-2' };
  const node = (loaded.profile.nodes.find((n) => n.name === names[vmid]))!;
  const res = node.resources!;
  const vm: SimVm = {
    vmid,
    name: names[vmid],
    status: 'running',
    tags: 'clusterproof',
    guestAddress: node.ip,
    config: {
      name: names[vmid], tags: 'clusterproof', ostype: 'l26', cpu: 'x86-64-v2-AES', sockets: 1, cores: res.cores, memory: String(res.memoryMiB),
      balloon: 0, scsihw: 'virtio-scsi-single', scsi0: `local-lvm:vm-${vmid}-disk-0,iothread=1,size=${res.diskGiB}G`,
      ide2: `${ISO},media=cdrom`, net0: 'virtio=BC:24:11:AA:BB:01,bridge=vmbr0', agent: 'enabled=1', boot: 'order=scsi0;ide2;net0',
      onboot: 1, digest: 'a'.repeat(40),
    },
  };
  change(vm);
  return vm;
}

describe('bootstrap on Proxmox: a fresh cluster', () => {
  test('downloads the ISO, creates every VM as the profile says, starts them and finds their maintenance addresses', async () => {
    const pve = await double();
    const log = newLog();
    const state = await run(proxmoxPlan(loaded), depsFor(pve, log));

    expect(pve.isos.has(ISO)).toBe(true);
    const download = pve.requests.find((r) => r.template === '/nodes/{node}/storage/{storage}/download-url')!;
    expect(download.params).toEqual({
      url: 'https://factory.talos.dev/image/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515/v1.11.5/metal-amd64.iso',
      filename: 'talos-v1.11.5-ce4c980550dd-metal-amd64.iso',
      content: 'iso',
    });

    const creates = pve.requests.filter((r) => r.method === 'POST' && r.template === '/nodes/{node}/qemu');
    expect(creates.map((r) => r.params.vmid)).toEqual(['161', '162', '163', '164', '165']);
    expect(creates[0].params).toEqual({
      vmid: '161', name: 'cp-node-1', tags: 'clusterproof', ostype: 'l26', cpu: 'x86-64-v2-AES', sockets: '1', cores: '2', memory: '4096',
      balloon: '0', scsihw: 'virtio-scsi-single', scsi0: 'local-lvm:20,iothread=1', ide2: `${ISO},media=cdrom`, net0: 'virtio,bridge=vmbr0',
      agent: 'enabled=1', boot: 'order=scsi0;ide2;net0', onboot: '1',
    });
    expect(creates[3].params).toMatchObject({ cores: '4', memory: '8192', scsi0: 'local-lvm:50,iothread=1' });
    // every create was preceded by the nextid check of its id, and every task was polled to its end
    expect(pve.requests.filter((r) => r.template === '/cluster/nextid').map((r) => r.params.vmid)).toEqual(['161', '162', '163', '164', '165']);
    expect(pve.calls.filter((c) => c === 'GET /nodes/{node}/tasks/{upid}/status').length).toBeGreaterThanOrEqual(11);

    expect([...pve.vms.values()].map((v) => [v.vmid, v.name, v.status, v.tags])).toEqual([
      [161, 'cp-node-1', 'running', 'clusterproof'],
      [162, 'cp-node-2', 'running', 'clusterproof'],
      [163, 'cp-node-3', 'running', 'clusterproof'],
      [164, 'worker-node-1', 'running', 'clusterproof'],
      [165, 'worker-node-2', 'running', 'clusterproof'],
    ]);
    expect(Object.fromEntries(state.addresses)).toEqual({
      'cp-node-1': '192.168.40.161', 'cp-node-2': '192.168.40.162', 'cp-node-3': '192.168.40.163',
      'worker-node-1': '192.168.40.164', 'worker-node-2': '192.168.40.165',
    });
    expect(state.outcomes.map((o) => o.action)).toEqual(['created', 'created', 'created', 'created', 'created']);
    expect(log.lines.some((l) => l.includes('Talos API at 192.168.40.161 (maintenance mode, DHCP)'))).toBe(true);
  });

  test('a rerun changes nothing: it only reads', async () => {
    const pve = await double();
    await run(proxmoxPlan(loaded), depsFor(pve, newLog()));
    const before = pve.writes.length;
    const log = newLog();
    const state = await run(proxmoxPlan(loaded), depsFor(pve, log));
    expect(pve.writes.length).toBe(before);
    expect(state.outcomes.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(log.lines).toContain('    pve: local:iso/talos-v1.11.5-ce4c980550dd-metal-amd64.iso is already there');
    expect(log.lines.filter((l) => l.endsWith('already running'))).toHaveLength(5);
  });
});

describe('bootstrap on Proxmox: adopting VMs that exist', () => {
  test('adopts a VM by id, name and tag and changes only the keys that differ, keeping the MAC, other tags and a larger disk alone', async () => {
    const vm161 = existingVm(161, (vm) => {
      vm.tags = 'prod;clusterproof';
      Object.assign(vm.config, { tags: 'prod;clusterproof', memory: '2048', net0: 'virtio=BC:24:11:AA:BB:01,bridge=vmbr1,firewall=1', description: 'mine' });
    });
    const vm162 = existingVm(162, (vm) => Object.assign(vm.config, { scsi0: 'local-lvm:vm-162-disk-0,iothread=1,size=10G', cpu: 'kvm64' }));
    const vm163 = existingVm(163, (vm) => Object.assign(vm.config, { scsi0: 'local-lvm:vm-163-disk-0,iothread=1,size=64G' }));
    const pve = await double({ vms: [vm161, vm162, vm163, existingVm(164), existingVm(165)], isos: [ISO] });
    const log = newLog();
    const state = await run(proxmoxPlan(loaded), depsFor(pve, log));

    const configWrites = pve.requests.filter((r) => r.method === 'POST' && r.template === '/nodes/{node}/qemu/{vmid}/config');
    expect(configWrites.map((r) => r.path)).toEqual(['/nodes/pve/qemu/161/config', '/nodes/pve/qemu/162/config']);
    expect(configWrites[0].params).toEqual({ memory: '4096', net0: 'virtio=BC:24:11:AA:BB:01,bridge=vmbr0,firewall=1', digest: 'a'.repeat(40) });
    expect(configWrites[1].params).toEqual({ cpu: 'x86-64-v2-AES', digest: 'a'.repeat(40) });
    const resizes = pve.requests.filter((r) => r.template === '/nodes/{node}/qemu/{vmid}/resize');
    expect(resizes.map((r) => [r.path, r.params])).toEqual([['/nodes/pve/qemu/162/resize', { disk: 'scsi0', size: '20G' }]]);
    expect(pve.vms.get(162)!.config.scsi0).toBe('local-lvm:vm-162-disk-0,iothread=1,size=20G');
    expect(pve.vms.get(161)!.config).toMatchObject({ tags: 'prod;clusterproof', description: 'mine', memory: '4096' });

    // nothing created, downloaded or started: they exist, the ISO is there, they run
    expect(pve.calls).not.toContain('POST /nodes/{node}/qemu');
    expect(pve.calls).not.toContain('POST /nodes/{node}/storage/{storage}/download-url');
    expect(pve.calls).not.toContain('POST /nodes/{node}/qemu/{vmid}/status/start');
    expect(state.outcomes.map((o) => o.action)).toEqual(['updated', 'updated', 'unchanged', 'unchanged', 'unchanged']);
    expect(log.lines.some((l) => l.includes('scsi0 is 64G, larger than the profile\'s 20 GiB: disks are never shrunk'))).toBe(true);
    expect(log.lines.some((l) => l.includes('memory take effect at the VM\'s next power cycle'))).toBe(true);
    // the nodes run Talos already: their own addresses, not maintenance ones
    expect(state.addresses.get('cp-node-1')).toBe('192.168.40.61');
  });

  test('a VM id held by a VM without the tag stops the run before any change', async () => {
    const foreign = existingVm(163, (vm) => {
      vm.name = 'nas';
      vm.tags = undefined;
    });
    const pve = await double({ vms: [foreign] });
    const err = await run(proxmoxPlan(loaded), depsFor(pve, newLog())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/step 1\/9 \(proxmox\/access\).*VM 163 exists as "nas" with tags \[\], not "cp-node-3" tagged clusterproof: it is not a VM clusterproof manages/s);
    expect(pve.writes).toEqual([]);
  });

  test('the node found under another VM id is reported with the fix', async () => {
    const moved = existingVm(161, (vm) => (vm.vmid = 261));
    const pve = await double({ vms: [moved] });
    await expect(run(proxmoxPlan(loaded), depsFor(pve, newLog()))).rejects.toThrow(/cp-node-1 \(tagged clusterproof\) exists as VM 261 on pve, but the profile says VM 161: set nodes\[\]\.hypervisor\.vmid to 261/);
    expect(pve.writes).toEqual([]);
  });

  test('an id taken by a VM the token cannot see is caught by nextid before creating', async () => {
    const pve = await double({ vms: [{ ...existingVm(161), name: 'secret', tags: undefined, hidden: true }], isos: [ISO] });
    const err = await run(proxmoxPlan(loaded), depsFor(pve, newLog())).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/VM id 161 for cp-node-1 is taken .*VM 161 already exists.* by a VM this token cannot see/);
    expect(pve.calls).not.toContain('POST /nodes/{node}/qemu');
  });
});

describe('bootstrap on Proxmox: failures', () => {
  test('a failed create task surfaces its exit status and stops the run at that step', async () => {
    const pve = await double({ isos: [ISO] });
    const reason = "unable to create VM 163 - storage 'local-lvm' does not exist";
    const plan = proxmoxPlan(loaded);
    // cp-node-1 and cp-node-2 are created; the create task of cp-node-3 fails
    const steps = plan.steps.map((s) =>
      s.id === 'proxmox/vm/cp-node-3' ? { ...s, execute: (ctx: Parameters<typeof s.execute>[0]) => (pve.failNextTask('qmcreate', reason), s.execute(ctx)) } : s,
    );
    const err = await run({ ...plan, steps }, depsFor(pve, newLog())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).toContain('bootstrap stopped at step 5/9 (proxmox/vm/cp-node-3)');
    expect(message).toContain(`Proxmox task qmcreate 163 on pve failed: ${reason}`);
    expect(message).toContain(`TASK ERROR: ${reason}`);
    expect(message).toContain('run the same command again');
    expect(pve.requests.filter((r) => r.method === 'POST' && r.template === '/nodes/{node}/qemu')).toHaveLength(3);
    expect([...pve.vms.keys()]).toEqual([161, 162]);
    // the steps after it did not run
    expect(pve.calls).not.toContain('POST /nodes/{node}/qemu/{vmid}/status/start');
  });

  test('a task that never ends times out with the task named, left running', async () => {
    const pve = await double({ isos: [ISO] });
    pve.failNextTask('qmcreate', 'hang');
    const deps = depsFor(pve, newLog(), { timing: { taskTimeoutMs: 200, pollMs: 5, agentPollMs: 5 } });
    await expect(run(proxmoxPlan(loaded), deps)).rejects.toThrow(/proxmox\/vm\/cp-node-1.*Proxmox task qmcreate 161 on pve still running after 200 ms/s);
  });

  test('401: a wrong token secret is named with what to check, never the secret', async () => {
    const pve = await double();
    const wrong = '00000000-0000-4000-8000-000000000000';
    const err = await run(proxmoxPlan(loaded), depsFor(pve, newLog(), { client: { tokenSecret: wrong } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).toContain(`step 1/9 (proxmox/access): Proxmox rejected API token ${ADMIN_TOKEN.id} on GET /version (401 authentication failure)`);
    expect(message).not.toContain(wrong);
    expect(pve.writes).toEqual([]);
  });

  test('403: a read-only token is refused the VM create, with the privilege it lacks', async () => {
    const pve = await double({ isos: [ISO] });
    const deps = depsFor(pve, newLog(), { client: { tokenId: READ_ONLY_TOKEN.id, tokenSecret: READ_ONLY_TOKEN.secret } });
    const err = await run(proxmoxPlan(loaded), deps).catch((e: unknown) => e);
    const message = (err as Error).message;
    expect(message).toContain(`(proxmox/vm/cp-node-1): Proxmox API token ${READ_ONLY_TOKEN.id} was denied POST /nodes/pve/qemu (403 Permission check failed (/vms/161, VM.Allocate))`);
    expect(message).toContain('likely lacks VM.Allocate');
    expect(pve.vms.size).toBe(0);
  });

  test('403: a token without storage rights is refused the ISO download, as the schema\'s permission check says', async () => {
    const pve = await double();
    const deps = depsFor(pve, newLog(), { client: { tokenId: VM_ONLY_TOKEN.id, tokenSecret: VM_ONLY_TOKEN.secret } });
    await expect(run(proxmoxPlan(loaded), deps)).rejects.toThrow(
      /proxmox\/iso.*denied POST \/nodes\/pve\/storage\/local\/download-url \(403 Permission check failed \(\/storage\/local, Datastore\.AllocateTemplate\)\)/s,
    );
  });

  test('the profile\'s VM parameters are accepted by the PVE schema as they are sent', () => {
    // the double checks them on the wire; this pins the values themselves
    const settings = proxmoxPlan(loaded).settings;
    expect(desiredVm(settings.nodes[0], settings)).toMatchObject({ cpu: 'x86-64-v2-AES', agent: 'enabled=1', boot: 'order=scsi0;ide2;net0', balloon: 0 });
  });
});

describe('bootstrap --destroy', () => {
  const vms = () => [
    existingVm(161),
    existingVm(162, (vm) => (vm.status = 'stopped')),
    existingVm(163, (vm) => {
      vm.tags = 'prod';
      vm.config.tags = 'prod';
    }),
    { ...existingVm(164), vmid: 999, name: 'other-cluster-node' },
    { vmid: 200, name: 'nas', status: 'running' as const, config: { name: 'nas' } },
  ];

  test('removes only the profile\'s VMs that carry the tag, after confirmation, stopping running ones first', async () => {
    const pve = await double({ vms: vms() });
    const log = newLog();
    await run(proxmoxPlan(loaded, { destroy: true }), depsFor(pve, log));
    expect(log.questions).toHaveLength(1);
    expect(log.questions[0]).toContain('Destroy these 2 VM(s) and their disks?');
    expect(log.questions[0]).toContain('VM 161 cp-node-1 on pve (running)');
    expect(log.questions[0]).toContain('VM 162 cp-node-2 on pve (stopped)');
    expect(pve.writes.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.params)}`)).toEqual([
      'POST /nodes/pve/qemu/161/status/stop {}',
      'DELETE /nodes/pve/qemu/161 {"purge":"1","destroy-unreferenced-disks":"1"}',
      'DELETE /nodes/pve/qemu/162 {"purge":"1","destroy-unreferenced-disks":"1"}',
    ]);
    expect([...pve.vms.keys()].sort()).toEqual([163, 164, 165, 200, 999].filter((id) => pve.vms.has(id)).sort());
    expect(pve.vms.has(163) && pve.vms.has(200) && pve.vms.has(999)).toBe(true);
    expect(log.lines).toContain('    skip: cp-node-3: VM 163 ("cp-node-3") does not carry the tag clusterproof: left alone');
    expect(log.lines).toContain('    skip: VM 999 ("other-cluster-node") carries clusterproof but is not in this profile: left alone');
  });

  test('declining the confirmation destroys nothing', async () => {
    const pve = await double({ vms: vms() });
    const err = await run(proxmoxPlan(loaded, { destroy: true }), depsFor(pve, newLog(), { confirm: async () => false })).catch((e: unknown) => e);
    expect((err as Error).message).toContain('destroy cancelled: nothing was changed');
    expect(pve.writes).toEqual([]);
  });

  test('a failed delete surfaces the task exit status', async () => {
    const pve = await double({ vms: [existingVm(161, (vm) => (vm.status = 'stopped'))] });
    pve.failNextTask('qmdestroy', "can't lock file '/var/lock/qemu-server/lock-161.conf' - got timeout");
    await expect(run(proxmoxPlan(loaded, { destroy: true }), depsFor(pve, newLog()))).rejects.toThrow(
      /proxmox\/destroy.*Proxmox task qmdestroy 161 on pve failed: can't lock file/s,
    );
  });
});
