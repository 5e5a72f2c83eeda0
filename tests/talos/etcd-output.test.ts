/**
 * Parsing what talosctl prints for `etcd status` and `etcd members`. The fixtures reproduce the output of
 * siderolabs/talos v1.11.6 cmd/talosctl/cmd/talos/etcd.go byte for byte (tests/talos/fixtures/README.md).
 */
import { describe, expect, test } from 'vitest';
import {
  describeTalosctlFailure,
  NO_LEADER,
  parseEtcdMembers,
  parseEtcdStatus,
  parseTextTable,
  TalosOutputError,
} from '../../providers/talos/etcd-output.ts';
import { etcdDown, fixture, timedOut, unreachable } from './recorded.ts';

const CP1 = '3f8a2c1e9b4d7051';
const CP2 = '81c4e2d07a93b6f2';
const CP3 = 'c2d95b7e04a1f368';

describe('the real talosctl v1.11.5 binary (recorded against a stand-in apid on 127.0.0.1)', () => {
  test('prints byte for byte what the replayed fixtures hold', () => {
    expect(fixture('recorded-v1.11.5-status-cp1-leader.out.txt')).toBe(fixture('status-cp1-leader.txt'));
    expect(fixture('recorded-v1.11.5-members.out.txt')).toBe(fixture('members-cp1.txt'));
  });

  test('its no-leader row parses', () => {
    expect(parseEtcdStatus(fixture('recorded-v1.11.5-status-cp2-no-leader.out.txt'))).toMatchObject([
      { node: '192.168.40.62', memberId: CP2, leaderId: NO_LEADER, raftIndex: 1284310, raftTerm: 11, errors: 'etcdserver: no leader' },
    ]);
  });

  test('some nodes failing: the rows of the others (exit 0), the failures in a warning', () => {
    expect(parseEtcdStatus(fixture('recorded-v1.11.5-status-three-partial.out.txt')).map((r) => r.node)).toEqual(['192.168.40.62']);
    const failure = describeTalosctlFailure(
      { exitCode: 0, stdout: '', stderr: fixture('recorded-v1.11.5-status-three-partial.err.txt'), timedOut: false },
      2500,
    );
    expect(failure).toBe(
      '192.168.40.61: rpc error: code = Unknown desc = failed to query etcd status: context deadline exceeded; ' +
        '192.168.40.63: rpc error: code = Unknown desc = failed to query etcd status: context deadline exceeded',
    );
  });

  test('nothing listening on the endpoint: exit 1 and the dial error', () => {
    expect(describeTalosctlFailure({ exitCode: 1, stdout: '', stderr: fixture('recorded-v1.11.5-status-refused.err.txt'), timedOut: false }, 2500)).toBe(
      'error getting status: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:50000: connect: connection refused"',
    );
  });
});

describe('talosctl etcd status (v1.11 format)', () => {
  test('the leader reports itself as LEADER, with raft index, term and sizes', () => {
    expect(parseEtcdStatus(fixture('status-cp1-leader.txt'))).toEqual([
      {
        node: '192.168.40.61',
        memberId: CP1,
        leaderId: CP1,
        raftIndex: 1283551,
        raftTerm: 7,
        raftAppliedIndex: 1283551,
        learner: false,
        dbSize: '21 MB',
        inUse: '6.2 MB (29.08%)',
        protocol: '3.6.4',
        storage: '3.6.0',
        errors: undefined,
      },
    ]);
  });

  test('a follower names the leader by member id', () => {
    const [row] = parseEtcdStatus(fixture('status-cp2-follower.txt'));
    expect(row).toMatchObject({ node: '192.168.40.62', memberId: CP2, leaderId: CP1, raftTerm: 7 });
  });

  test('several nodes in one call: one row each, in order', () => {
    const rows = parseEtcdStatus(fixture('status-three-nodes.txt'));
    expect(rows.map((r) => [r.node, r.memberId, r.leaderId, r.raftIndex])).toEqual([
      ['192.168.40.61', CP1, CP1, 1283551],
      ['192.168.40.62', CP2, CP1, 1283551],
      ['192.168.40.63', CP3, CP1, 1283550],
    ]);
  });

  test('quorum lost: no leader and the error etcd adds', () => {
    const [row] = parseEtcdStatus(fixture('status-cp2-no-leader.txt'));
    expect(row).toMatchObject({ leaderId: NO_LEADER, raftTerm: 11, errors: 'etcdserver: no leader' });
  });

  test('an alarm in ERRORS is kept whole, spaces included', () => {
    const [row] = parseEtcdStatus(fixture('status-cp1-alarm.txt'));
    expect(row.errors).toBe('memberID:4578520481141715025 alarm:NOSPACE');
    expect(row.dbSize).toBe('2.1 GB');
  });

  test('v1.8-v1.10 header without PROTOCOL and STORAGE', () => {
    const [row] = parseEtcdStatus(fixture('status-v1.10-cp1-leader.txt'));
    expect(row).toMatchObject({ node: '192.168.40.61', memberId: CP1, leaderId: CP1, raftIndex: 1283551, raftTerm: 7, errors: undefined });
    expect(row.protocol).toBeUndefined();
  });

  test('v1.12+: the same row, and a header alone when every node failed', () => {
    expect(parseEtcdStatus(fixture('status-v1.12-cp1-leader.txt'))).toEqual(parseEtcdStatus(fixture('status-cp1-leader.txt')));
    expect(parseEtcdStatus(fixture('status-v1.12-unreachable.stdout.txt'))).toEqual([]);
  });

  test('no output at all (v1.11 prints no header when no node answered) is no rows', () => {
    expect(parseEtcdStatus('')).toEqual([]);
    expect(parseEtcdStatus('\n')).toEqual([]);
  });

  test('without a NODE column (responses without metadata) the rows still parse', () => {
    const text = fixture('status-cp1-leader.txt')
      .split('\n')
      .map((l) => l.slice(16))
      .join('\n');
    expect(parseEtcdStatus(text)).toMatchObject([{ node: undefined, memberId: CP1, leaderId: CP1, raftIndex: 1283551 }]);
  });

  test('CRLF line ends are tolerated', () => {
    expect(parseEtcdStatus(fixture('status-three-nodes.txt').replace(/\n/g, '\r\n'))).toHaveLength(3);
  });

  test('output that is not an etcd status table is a TalosOutputError naming what was seen', () => {
    expect(() => parseEtcdStatus('error: unknown command "stauts" for "talosctl etcd"\n')).toThrow(TalosOutputError);
    expect(() => parseEtcdStatus('error: unknown command "stauts" for "talosctl etcd"\n')).toThrow(/no etcd status header.*unknown command/);
  });

  test('a malformed row is a TalosOutputError naming the column', () => {
    const broken = fixture('status-cp1-leader.txt').replace('1283551      7', 'lots         7');
    expect(() => parseEtcdStatus(broken)).toThrow(/RAFT INDEX is "lots"/);
  });
});

describe('talosctl etcd members', () => {
  test('every member with hostname, peer and client URLs', () => {
    expect(parseEtcdMembers(fixture('members-cp1.txt'))).toEqual([
      { node: '192.168.40.61', id: CP1, hostname: 'talos-cp-7hq', peerUrls: ['https://192.168.40.61:2380'], clientUrls: ['https://192.168.40.61:2379'], learner: false },
      { node: '192.168.40.61', id: CP2, hostname: 'talos-cp-m2x', peerUrls: ['https://192.168.40.62:2380'], clientUrls: ['https://192.168.40.62:2379'], learner: false },
      { node: '192.168.40.61', id: CP3, hostname: 'talos-cp-zr4', peerUrls: ['https://192.168.40.63:2380'], clientUrls: ['https://192.168.40.63:2379'], learner: false },
    ]);
  });

  test('a learner that has not started has an empty CLIENT URLS cell', () => {
    const rows = parseEtcdMembers(fixture('members-cp2-learner.txt'));
    expect(rows[2]).toEqual({ node: '192.168.40.62', id: CP3, hostname: 'talos-cp-zr4', peerUrls: ['https://192.168.40.63:2380'], clientUrls: [], learner: true });
  });
});

describe('the tabwriter table reader', () => {
  test('cuts at the header offsets, so multi-word headers and cells stay whole', () => {
    const table = parseTextTable(fixture('status-cp1-leader.txt'), ['MEMBER']);
    expect(table?.columns).toEqual([
      'NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER', 'PROTOCOL', 'STORAGE', 'ERRORS',
    ]);
    expect(table?.rows[0]['IN USE']).toBe('6.2 MB (29.08%)');
  });

  test('lines before the header are skipped', () => {
    const table = parseTextTable(`some banner\n${fixture('members-cp1.txt')}`, ['ID', 'HOSTNAME']);
    expect(table?.rows).toHaveLength(3);
  });
});

describe('why talosctl gave no row', () => {
  test('unreachable node (v1.11, exit 1): the error line', () => {
    expect(describeTalosctlFailure(unreachable(), 2500)).toBe(
      'error getting status: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 192.168.40.61:50000: connect: no route to host"',
    );
  });

  test('etcd down behind a live apid (v1.11, exit 1 with a multierror): the node and its error', () => {
    expect(describeTalosctlFailure(etcdDown(), 2500)).toBe(
      '192.168.40.62: rpc error: code = Unknown desc = failed to query etcd status: context deadline exceeded',
    );
  });

  test('v1.12+ per-node error', () => {
    const r = { exitCode: 1, stdout: fixture('status-v1.12-unreachable.stdout.txt'), stderr: fixture('status-v1.12-unreachable.stderr.txt'), timedOut: false };
    expect(describeTalosctlFailure(r, 2500)).toMatch(/^error from node 192\.168\.40\.61: rpc error: code = Unavailable/);
  });

  test('timeout', () => {
    expect(describeTalosctlFailure(timedOut(), 2500)).toBe('talosctl got no answer within 2500 ms');
  });

  test('cobra usage after a blank line is left out; a version-skew warning is not the error', () => {
    const r = {
      exitCode: 1,
      stdout: '',
      stderr: 'WARNING: 192.168.40.61: server version 1.10.7 is older than client version 1.11.6\nunknown flag: --nodez\n\nUsage:\n  talosctl etcd status [flags]\n',
      timedOut: false,
    };
    expect(describeTalosctlFailure(r, 2500)).toBe('unknown flag: --nodez');
  });

  test('nothing on stderr: the exit code', () => {
    expect(describeTalosctlFailure({ exitCode: 2, stdout: '', stderr: '', timedOut: false }, 2500)).toBe('talosctl exited with code 2');
    expect(describeTalosctlFailure({ exitCode: 0, stdout: '', stderr: '', timedOut: false }, 2500)).toBe('talosctl printed no etcd status for this node');
  });
});
