/**
 * TalosEtcdProbe on recorded talosctl outputs: each control-plane node asked on its own address, leader
 * detection, unreachable nodes as unhealthy members (never exceptions), the VIP refused, the network guard.
 */
import { describe, expect, test } from 'vitest';
import { MissingPrerequisiteError, RefusedError, UserError } from '../../core/errors.ts';
import { NO_LEADER } from '../../providers/talos/etcd-output.ts';
import { memberStatusFromRow, TalosEtcdProbe } from '../../providers/talos/etcd-probe.ts';
import type { TalosctlRunner } from '../../providers/talos/talosctl.ts';
import { etcdDown, ok, RecordedTalosctl, timedOut, unreachable } from './recorded.ts';

const NODES = [
  { name: 'cp-node-1', ip: '192.168.40.61' },
  { name: 'cp-node-2', ip: '192.168.40.62' },
  { name: 'cp-node-3', ip: '192.168.40.63' },
];
const CP1 = '3f8a2c1e9b4d7051';
const CP2 = '81c4e2d07a93b6f2';
const CP3 = 'c2d95b7e04a1f368';

const healthy = () => ({
  '192.168.40.61 etcd members': ok('members-cp1.txt'),
  '192.168.40.62 etcd members': ok('members-cp1.txt'),
  '192.168.40.63 etcd members': ok('members-cp1.txt'),
  '192.168.40.61 etcd status': ok('status-cp1-leader.txt'),
  '192.168.40.62 etcd status': ok('status-cp2-follower.txt'),
  '192.168.40.63 etcd status': ok('status-cp3-follower.txt'),
});

// the runner is recorded: no talosctl runs and no packet leaves; allowRemote only lets the guard accept the homelab addresses
const probeWith = (runner: TalosctlRunner, extra: Partial<ConstructorParameters<typeof TalosEtcdProbe>[0]> = {}) =>
  new TalosEtcdProbe({ talosconfig: '/home/me/.talos/config', nodes: NODES, vip: '192.168.40.60', runner, allowRemote: true, ...extra });

describe('TalosEtcdProbe', () => {
  test('asks every control-plane node on its own address, never through the VIP', async () => {
    const runner = new RecordedTalosctl(healthy());
    await probeWith(runner, { timeoutMs: 1234 }).members();
    const status = runner.calls.filter((c) => c.args.at(-1) === 'status');
    expect(status.map((c) => c.args)).toEqual(
      NODES.map((n) => ['--talosconfig', '/home/me/.talos/config', '--nodes', n.ip, '--endpoints', n.ip, 'etcd', 'status']),
    );
    expect(runner.calls.every((c) => c.timeoutMs === 1234)).toBe(true);
    expect(runner.calls.some((c) => c.args.includes('192.168.40.60'))).toBe(false);
  });

  test('3/3 healthy: names from the profile, ids, leader, raft index and term, client URL from the member list', async () => {
    const members = await probeWith(new RecordedTalosctl(healthy())).members();
    expect(members).toEqual([
      { name: 'cp-node-1', endpoint: 'https://192.168.40.61:2379', id: CP1, healthy: true, isLeader: true, raftIndex: 1283551, raftTerm: 7, error: undefined },
      { name: 'cp-node-2', endpoint: 'https://192.168.40.62:2379', id: CP2, healthy: true, isLeader: false, raftIndex: 1283551, raftTerm: 7, error: undefined },
      { name: 'cp-node-3', endpoint: 'https://192.168.40.63:2379', id: CP3, healthy: true, isLeader: false, raftIndex: 1283550, raftTerm: 7, error: undefined },
    ]);
  });

  test('leader(): the node whose member reports itself leader', async () => {
    expect(await probeWith(new RecordedTalosctl(healthy())).leader()).toBe('cp-node-1');
  });

  test('the leader powered off: unhealthy with talosctl\'s error (not an exception), its id kept from the member list, a new leader found', async () => {
    const runner = new RecordedTalosctl({
      ...healthy(),
      '192.168.40.61 etcd status': unreachable(),
      '192.168.40.61 etcd members': unreachable(),
      '192.168.40.62 etcd status': ok('status-cp2-new-leader.txt'),
      '192.168.40.63 etcd status': ok('status-cp3-after-election.txt'),
    });
    const probe = probeWith(runner);
    const members = await probe.members();
    expect(members[0]).toEqual({
      name: 'cp-node-1',
      endpoint: 'https://192.168.40.61:2379',
      id: CP1,
      healthy: false,
      isLeader: false,
      error:
        'error getting status: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 192.168.40.61:50000: connect: no route to host"',
    });
    expect(members.filter((m) => m.healthy).map((m) => [m.name, m.isLeader, m.raftTerm])).toEqual([
      ['cp-node-2', true, 8],
      ['cp-node-3', false, 8],
    ]);
    expect(await probe.leader()).toBe('cp-node-2');
  });

  test('a node whose apid answers but whose etcd does not is unhealthy with that error', async () => {
    const members = await probeWith(new RecordedTalosctl({ ...healthy(), '192.168.40.62 etcd status': etcdDown() })).members();
    expect(members[1]).toMatchObject({
      name: 'cp-node-2',
      id: CP2,
      healthy: false,
      error: '192.168.40.62: rpc error: code = Unknown desc = failed to query etcd status: context deadline exceeded',
    });
  });

  test('a node that outlives the timeout is unhealthy, saying so', async () => {
    const members = await probeWith(new RecordedTalosctl({ ...healthy(), '192.168.40.63 etcd status': timedOut() }), { timeoutMs: 800 }).members();
    expect(members[2]).toMatchObject({ name: 'cp-node-3', healthy: false, isLeader: false, error: 'talosctl got no answer within 800 ms' });
  });

  test('quorum lost: the surviving member answers but knows no leader, so it is unhealthy and nobody leads', async () => {
    const probe = probeWith(
      new RecordedTalosctl({
        '192.168.40.62 etcd members': ok('members-cp1.txt'),
        '192.168.40.62 etcd status': ok('status-cp2-no-leader.txt'),
      }),
    );
    const members = await probe.members();
    expect(members.map((m) => [m.name, m.healthy])).toEqual([
      ['cp-node-1', false],
      ['cp-node-2', false],
      ['cp-node-3', false],
    ]);
    expect(members[1]).toMatchObject({ id: CP2, isLeader: false, raftTerm: 11, error: 'etcdserver: no leader' });
    expect(await probe.leader()).toBeUndefined();
  });

  test('no node answers at all: three unhealthy members with their errors, no leader, no exception', async () => {
    const probe = probeWith(new RecordedTalosctl({}));
    const members = await probe.members();
    expect(members.map((m) => [m.name, m.healthy, m.id, m.endpoint])).toEqual(NODES.map((n) => [n.name, false, '', `https://${n.ip}:2379`]));
    expect(members.every((m) => m.error?.startsWith('error getting status:'))).toBe(true);
    expect(await probe.leader()).toBeUndefined();
  });

  test('an alarm makes the member unhealthy even though it leads', async () => {
    const members = await probeWith(new RecordedTalosctl({ ...healthy(), '192.168.40.61 etcd status': ok('status-cp1-alarm.txt') })).members();
    expect(members[0]).toMatchObject({ healthy: false, isLeader: true, error: 'memberID:4578520481141715025 alarm:NOSPACE' });
    // leader() only names a healthy leader
    expect(await probeWith(new RecordedTalosctl({ ...healthy(), '192.168.40.61 etcd status': ok('status-cp1-alarm.txt') })).leader()).toBeUndefined();
  });

  test('unrecognised output makes that member unhealthy with a message naming the format problem', async () => {
    const members = await probeWith(
      new RecordedTalosctl({ ...healthy(), '192.168.40.63 etcd status': { exitCode: 0, stdout: 'something else entirely\n', stderr: '', timedOut: false } }),
    ).members();
    expect(members[2]).toMatchObject({ healthy: false, error: expect.stringMatching(/^unrecognised talosctl etcd status output \(no etcd status header/) });
  });

  test('leader() answers as soon as the leader does, without waiting for a node that hangs', async () => {
    let release!: () => void;
    const hanging = new Promise<void>((r) => (release = r));
    const runner = new RecordedTalosctl({
      ...healthy(),
      '192.168.40.61 etcd status': async () => {
        await hanging;
        return timedOut();
      },
      '192.168.40.62 etcd status': ok('status-cp2-new-leader.txt'),
    });
    expect(await probeWith(runner).leader()).toBe('cp-node-2');
    release();
  });

  test('the member list is read on the first call only (again at most every 30 s, when an unknown id shows up)', async () => {
    const runner = new RecordedTalosctl(healthy());
    const probe = probeWith(runner);
    await probe.members();
    await probe.members();
    expect(runner.asked.filter((a) => a.endsWith('etcd members'))).toHaveLength(3); // first call: every node in parallel
  });

  test('a missing talosctl is a MissingPrerequisiteError, not three unhealthy members', async () => {
    const missing: TalosctlRunner = {
      run: () => Promise.reject(new MissingPrerequisiteError('`talosctl` is not available', 'install it')),
    };
    await expect(probeWith(missing).members()).rejects.toBeInstanceOf(MissingPrerequisiteError);
    await expect(probeWith(missing).leader()).rejects.toBeInstanceOf(MissingPrerequisiteError);
  });

  test('the VIP as a node address is refused when the probe is built', () => {
    expect(() => probeWith(new RecordedTalosctl({}), { nodes: [{ name: 'cp-node-1', ip: '192.168.40.60' }] })).toThrow(UserError);
    expect(() => probeWith(new RecordedTalosctl({}), { nodes: [{ name: 'cp-node-1', ip: '192.168.40.60' }] })).toThrow(/never through the VIP/);
  });

  test('without allowRemote the network guard refuses homelab addresses before talosctl runs', async () => {
    const runner = new RecordedTalosctl(healthy());
    await expect(probeWith(runner, { allowRemote: false }).members()).rejects.toBeInstanceOf(RefusedError);
    expect(runner.calls).toHaveLength(0);
  });
});

describe('memberStatusFromRow', () => {
  const row = { memberId: CP2, leaderId: CP1, raftIndex: 10, raftTerm: 2, learner: false };

  test('a voting follower with a leader is healthy', () => {
    expect(memberStatusFromRow('cp-node-2', row)).toMatchObject({ healthy: true, isLeader: false, error: undefined });
  });

  test('no leader without an error text is still unhealthy', () => {
    expect(memberStatusFromRow('cp-node-2', { ...row, leaderId: NO_LEADER })).toMatchObject({ healthy: false, error: 'no leader' });
  });

  test('a learner is not counted healthy', () => {
    expect(memberStatusFromRow('cp-node-2', { ...row, learner: true })).toMatchObject({ healthy: false, error: 'learner (not a voting member yet)' });
  });
});
