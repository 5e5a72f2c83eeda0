import { describe, expect, test } from 'vitest';
import { type FailureFacts, type FailureKind, classifyFailure } from '../../core/report/categories.ts';

const trace = (errorClass: string, message: string): string => `${errorClass}: ${message}\n    at suites/ha/etcd-quorum.test.ts:12:5`;

// [what, facts, kind]
const CASES: Array<[string, FailureFacts, FailureKind | undefined]> = [
  ['a passed test has no category', { status: 'passed' }, undefined],
  ['a skipped test has no category', { status: 'skipped', message: 'capability talos missing' }, undefined],
  ['an assertion failure', { status: 'failed', message: 'expected 2 to be 3' }, 'property-violation'],
  ['an SLO missed', { status: 'broken', message: 'SLO violated: "new leader" took 7.2 s, more than 5 s', trace: trace('SloViolation', 'SLO violated') }, 'property-violation'],
  [
    'a wait that never ended, last seeing a refused connection',
    {
      status: 'broken',
      message: '"readyz through the VIP" never happened: still not true 30.0 s after the fault (SLO 10 s); last error: connect ECONNREFUSED 198.18.40.60:6443',
      trace: trace('SloViolation', '"readyz through the VIP" never happened'),
    },
    'property-violation',
  ],
  ['an expectation that failed', { status: 'broken', message: 'etcd members healthy: failed after 10.0 s: 2/3 healthy', trace: trace('ExpectationError', 'x') }, 'property-violation'],
  ['a message saying so', { status: 'broken', message: 'expectation failed: replicas on 1 node' }, 'property-violation'],
  ['connection refused', { status: 'broken', message: 'connect ECONNREFUSED 198.18.40.61:2379', trace: trace('Error', 'connect ECONNREFUSED') }, 'infrastructure-flake'],
  ['timeout', { status: 'broken', message: 'connect ETIMEDOUT 192.168.40.60:6443' }, 'infrastructure-flake'],
  ['socket hang up', { status: 'broken', message: 'socket hang up' }, 'infrastructure-flake'],
  ['lab not up', { status: 'broken', message: 'the lab is not up (no /var/lib/clusterproof/lab/profile.yaml)' }, 'infrastructure-flake'],
  ['missing prerequisite', { status: 'broken', message: '`talosctl` is not installed', trace: trace('MissingPrerequisiteError', 'x') }, 'infrastructure-flake'],
  ['an assertion that printed a refused connection', { status: 'failed', message: "expected 'connect ECONNREFUSED' to be undefined" }, 'infrastructure-flake'],
  ['a bug', { status: 'broken', message: "Cannot read properties of undefined (reading 'nodes')", trace: trace('TypeError', 'x') }, 'harness-error'],
];

describe('classifyFailure', () => {
  test.each(CASES)('%s', (_what, facts, kind) => {
    expect(classifyFailure(facts)).toBe(kind);
  });
});
