/** The placement helpers the anti-affinity suite judges with: co-location wording, schedulable domains, selectors. */
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { coLocated, domainsOf, schedulableNodes, selectorString, unschedulableMessage } from '../../fixtures/workloads.ts';

const HOST = 'kubernetes.io/hostname';
const ready = [{ type: 'Ready', status: 'True' }];

function node(name: string, extra: { taints?: k8s.V1Taint[]; ready?: boolean; zone?: string; unschedulable?: boolean } = {}): k8s.V1Node {
  return {
    metadata: { name, labels: { [HOST]: name, ...(extra.zone ? { 'topology.kubernetes.io/zone': extra.zone } : {}) } },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
    status: { conditions: extra.ready === false ? [{ type: 'Ready', status: 'Unknown' }] : ready },
  };
}

const pod = (name: string, nodeName?: string): k8s.V1Pod => ({ metadata: { name }, spec: { containers: [], nodeName } });

describe('coLocated', () => {
  const nodes = [node('w1', { zone: 'a' }), node('w2', { zone: 'a' }), node('w3', { zone: 'b' })];

  test('names the pods that share a node, with that node', () => {
    expect(coLocated([pod('nginx-a', 'w1'), pod('nginx-b', 'w2'), pod('nginx-c', 'w1')], nodes, HOST)).toEqual([
      'nginx-a on w1, nginx-c on w1 share kubernetes.io/hostname=w1',
    ]);
  });

  test('groups by the topology key, and ignores unscheduled pods', () => {
    expect(coLocated([pod('a', 'w1'), pod('b', 'w2'), pod('c', 'w3'), pod('d')], nodes, 'topology.kubernetes.io/zone')).toEqual([
      'a on w1, b on w2 share topology.kubernetes.io/zone=a',
    ]);
    expect(coLocated([pod('a', 'w1'), pod('b', 'w2'), pod('d')], nodes, HOST)).toEqual([]);
  });
});

describe('schedulableNodes', () => {
  const cp = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
  const nodes = [node('cp1', { taints: [cp] }), node('w1'), node('w2', { ready: false }), node('w3', { unschedulable: true }), node('w4', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })];

  test('keeps Ready, uncordoned nodes whose hard taints the template tolerates', () => {
    expect(schedulableNodes(nodes, { containers: [] }, HOST).map((n) => n.metadata!.name)).toEqual(['w1', 'w4']);
    const tolerant = { containers: [], tolerations: [{ key: cp.key, operator: 'Exists', effect: 'NoSchedule' }] };
    expect(schedulableNodes(nodes, tolerant, HOST).map((n) => n.metadata!.name)).toEqual(['cp1', 'w1', 'w4']);
  });

  test('counts domains, not nodes, for a coarser topology key', () => {
    const zoned = [node('w1', { zone: 'a' }), node('w2', { zone: 'a' }), node('w3', { zone: 'b' })];
    expect([...domainsOf(schedulableNodes(zoned, { containers: [] }, 'topology.kubernetes.io/zone'), 'topology.kubernetes.io/zone')]).toEqual(['a', 'b']);
  });
});

test('selectorString renders matchLabels and matchExpressions as a label selector', () => {
  expect(
    selectorString({
      matchLabels: { app: 'nginx' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web', 'edge'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    }),
  ).toBe('app=nginx,tier in (web,edge),!canary');
});

test('unschedulableMessage reads the scheduler verdict only for an unbound pod', () => {
  const message = "0/5 nodes are available: 1 node(s) didn't match pod anti-affinity rules";
  const pending: k8s.V1Pod = { ...pod('p'), status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] } };
  expect(unschedulableMessage(pending)).toBe(message);
  expect(unschedulableMessage({ ...pending, spec: { containers: [], nodeName: 'w1' } })).toBeUndefined();
});
