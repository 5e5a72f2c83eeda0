/**
 * Every way a profile can be wrong gets its own precise message: the field path, the value as written and what
 * is expected. Each case starts from profiles/seed.yaml and changes one thing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { parseProfile, ProfileError } from '../../core/profile/load.ts';

const seedText = readFileSync(new URL('../../profiles/seed.yaml', import.meta.url), 'utf8');

/** The seed with the values at some paths replaced (null deletes); comments and layout are kept. */
function edit(changes: [path: (string | number)[], value: unknown][]): string {
  const doc = parseDocument(seedText);
  for (const [path, value] of changes) {
    if (value === null) doc.deleteIn(path);
    else doc.setIn(path, doc.createNode(value, { flow: typeof value === 'object' }));
  }
  return doc.toString();
}

/** The seed with one literal piece of text replaced; fails loudly if the text is not there. */
function replace(from: string, to: string): string {
  if (!seedText.includes(from)) throw new Error(`seed.yaml no longer contains ${JSON.stringify(from)}`);
  return seedText.replace(from, to);
}

function problemsOf(text: string): ProfileError {
  try {
    parseProfile(text, 'seed-variant.yaml');
  } catch (err) {
    if (err instanceof ProfileError) return err;
    throw err;
  }
  throw new Error('the profile was accepted');
}

const CAPABILITIES = 'talos, proxmox, cilium, metallb, argocd, vip, dataplane, etcd-direct, node-power, gitops-push, lab';

const mistakes: { mistake: string; text: () => string; message: string }[] = [
  {
    mistake: 'an octet above 255 in a node address',
    text: () => replace('ip: 192.168.40.63', 'ip: 192.168.40.300'),
    message: 'nodes[2].ip: got "192.168.40.300"; expected an IPv4 address such as 192.168.40.61',
  },
  {
    mistake: 'a misspelt required key',
    text: () => replace('  vip: 192.168.40.60', '  vipp: 192.168.40.60'),
    message:
      'network.vipp: unknown key "vipp"; did you mean "vip"? It is required and missing. ' +
      'Allowed keys here: subnet, gateway, vip, interface, podCIDR, serviceCIDR, clusterDomain, loadBalancerPools',
  },
  {
    mistake: 'a misspelt optional key with different case',
    text: () => replace('memoryMiB: 8192, diskGiB: 50 }\n  - name: worker-node-2', 'memoryMib: 8192, diskGiB: 50 }\n  - name: worker-node-2'),
    message:
      'nodes[3].resources.memoryMib: unknown key "memoryMib"; did you mean "memoryMiB"? It is required and missing. ' +
      'Allowed keys here: cores, memoryMiB, diskGiB',
  },
  {
    mistake: 'an unknown key far from any known one',
    text: () => edit([[['network', 'colour'], 'blue']]),
    message: 'network.colour: unknown key "colour". Allowed keys here: subnet, gateway, vip, interface, podCIDR, serviceCIDR, clusterDomain, loadBalancerPools',
  },
  {
    mistake: 'a target kind that is only a prefix of the real one',
    text: () => edit([[['target', 'kind'], 'talos']]),
    message: 'target.kind: got "talos"; expected one of talos-proxmox, lab, generic; did you mean "talos-proxmox"?',
  },
  {
    mistake: 'an unknown capability',
    text: () => replace('etcd-direct, node-power', 'etcd, node-power'),
    message: `target.capabilities[7]: got "etcd"; expected one of ${CAPABILITIES}; did you mean "etcd-direct"?`,
  },
  {
    mistake: 'an inline secret',
    text: () => replace('tokenSecret: { env: PROXMOX_TOKEN_SECRET }', 'tokenSecret: 5f0c7d1e-1b2a-4c3d-9e8f-a1b2c3d4e5f6'),
    message:
      'access.proxmox.tokenSecret: inline secrets are refused: use { env: VAR } or { file: PATH } ' +
      '(the value is not shown; if it is a file path, write { file: <that path> })',
  },
  {
    mistake: 'a file path written where a file reference is expected',
    text: () => replace('kubeconfig: { env: KUBECONFIG }', 'kubeconfig: ~/.kube/config'),
    message:
      'access.kubernetes.kubeconfig: inline secrets are refused: use { env: VAR } or { file: PATH } ' +
      '(the value is not shown; if it is a file path, write { file: <that path> })',
  },
  {
    mistake: 'a number where a secret reference belongs',
    text: () => replace('token: { env: ARGOCD_AUTH_TOKEN }', 'token: 123456'),
    message: 'access.argocd.token: inline secrets are refused: use { env: VAR } or { file: PATH } (the value is not shown)',
  },
  {
    mistake: 'a misspelt key inside a secret reference',
    text: () => replace('tokenSecret: { env: PROXMOX_TOKEN_SECRET }', 'tokenSecret: { envv: PROXMOX_TOKEN_SECRET }'),
    message: 'access.proxmox.tokenSecret.envv: unknown key "envv"; did you mean "env"? Allowed keys here: env, file',
  },
  {
    mistake: 'a single node where a list is expected',
    text: () => edit([[['nodes'], { name: 'cp-node-1', role: 'control-plane', ip: '192.168.40.61' }]]),
    message: 'nodes: got {"name":"cp-node-1","role":"control-plane","ip":"192.168.40.61"} (a mapping); expected a list — every node of the cluster',
  },
  {
    mistake: 'a secret reference with both env and file',
    text: () => edit([[['access', 'argocd', 'token'], { env: 'ARGOCD_AUTH_TOKEN', file: 'token.txt' }]]),
    message: 'access.argocd.token: got {"env":"ARGOCD_AUTH_TOKEN","file":"token.txt"}; a secret reference needs exactly one of { env: VAR } or { file: PATH }',
  },
  {
    mistake: 'an environment variable name with a dash',
    text: () => edit([[['access', 'proxmox', 'tokenId'], { env: 'proxmox-token' }]]),
    message: 'access.proxmox.tokenId.env: got "proxmox-token"; expected an environment variable name such as PROXMOX_TOKEN_SECRET',
  },
  {
    mistake: 'replicas written as a word',
    text: () => replace('replicas: 2', 'replicas: two'),
    message: 'apps[0].workload.replicas: got "two" (a string); expected a number — desired replica count',
  },
  {
    mistake: 'fractional replicas',
    text: () => replace('replicas: 2', 'replicas: 1.5'),
    message: 'apps[0].workload.replicas: got 1.5 (a number); expected a whole number — desired replica count',
  },
  {
    mistake: 'a negative SLO',
    text: () => replace('etcdLeaderElectionSeconds: 5', 'etcdLeaderElectionSeconds: -5'),
    message: 'slo.etcdLeaderElectionSeconds: got -5; expected a number of seconds greater than 0',
  },
  {
    mistake: 'an SLO with a unit',
    text: () => replace('vipFailoverHardSeconds: 75', 'vipFailoverHardSeconds: 75s'),
    message:
      'slo.vipFailoverHardSeconds: got "75s" (a string); expected a number of seconds greater than 0 — ' +
      'VIP holder powered off → /readyz answers through the VIP again',
  },
  {
    mistake: 'a prefix length above 32',
    text: () => replace('subnet: 192.168.40.0/24', 'subnet: 192.168.40.0/33'),
    message: 'network.subnet: got "192.168.40.0/33"; expected an IPv4 CIDR such as 192.168.40.0/24',
  },
  {
    mistake: 'a node name with capitals and a space',
    text: () => replace('name: cp-node-2', 'name: CP Node 2'),
    message:
      'nodes[1].name: got "CP Node 2"; expected a lowercase DNS label (a-z, 0-9 and -, starting and ending with a letter or digit)',
  },
  {
    mistake: 'an unknown node role',
    text: () => replace('role: worker\n    ip: 192.168.40.65', 'role: master\n    ip: 192.168.40.65'),
    message: 'nodes[4].role: got "master"; expected one of control-plane, worker',
  },
  {
    mistake: 'an API server that is not a URL',
    text: () => replace('server: https://192.168.40.60:6443', 'server: 192.168.40.60:6443'),
    message: 'access.kubernetes.server: got "192.168.40.60:6443"; expected an absolute URL such as https://192.168.40.60:6443',
  },
  {
    mistake: 'an unknown anti-affinity mode',
    text: () => replace('antiAffinity: required', 'antiAffinity: hard'),
    message: 'apps[0].workload.antiAffinity: got "hard"; expected one of required, preferred, none',
  },
  {
    mistake: 'a VM id below the Proxmox minimum',
    text: () => replace('vmid: 161', 'vmid: 61'),
    message: 'nodes[0].hypervisor.vmid: got 61; expected a number >= 100',
  },
  {
    mistake: 'the wrong apiVersion',
    text: () => replace('apiVersion: clusterproof/v1', 'apiVersion: clusterproof/v2'),
    message: 'apiVersion: got "clusterproof/v2"; expected exactly "clusterproof/v1"',
  },
  {
    mistake: 'a missing section',
    text: () => edit([[['slo'], null]]),
    message: 'slo: is missing; expected a mapping — service-level objectives: durations the suites assert, in seconds unless named otherwise',
  },
  {
    mistake: 'a key left without a value',
    text: () => replace('  vip: 192.168.40.60', '  vip:'),
    message:
      'network.vip: is empty; expected an IPv4 address such as 192.168.40.61 — ' +
      'the shared Kubernetes API address held by one control-plane node',
  },
  {
    mistake: 'an empty node list',
    text: () => edit([[['nodes'], []]]),
    message: 'nodes: got []; expected at least 1 item',
  },
  {
    mistake: 'a boolean written as a word YAML 1.2 keeps as a string',
    text: () => replace('allowDestructive: false', 'allowDestructive: no'),
    message: 'safety.allowDestructive: got "no" (a string); expected true or false — power faults allowed without --destructive (lab only)',
  },
];

describe('one precise message per profile mistake', () => {
  test.each(mistakes)('$mistake', ({ text, message }) => {
    const err = problemsOf(text());
    expect(err.kind).toBe('invalid');
    expect(err.exitCode).toBe(2);
    expect(err.problems.map((p) => p.message)).toEqual([message]);
    expect(err.message).toContain(message);
  });

  test('the mistakes are all different', () => {
    expect(new Set(mistakes.map((m) => m.message)).size).toBe(mistakes.length);
  });
});

describe('reporting', () => {
  test('every problem is reported, in file order, each with its line and column', () => {
    const text = replace('ip: 192.168.40.63', 'ip: 192.168.40.300').replace('replicas: 2', 'replicas: two').replace('kind: talos-proxmox', 'kind: talos');
    const err = problemsOf(text);
    expect(err.problems.map((p) => p.path)).toEqual(['target.kind', 'nodes[2].ip', 'apps[0].workload.replicas']);
    const lines = text.split('\n');
    for (const p of err.problems) {
      const line = lines[p.line! - 1];
      const written = p.path === 'target.kind' ? 'talos' : p.path === 'nodes[2].ip' ? '192.168.40.300' : 'two';
      expect(line.slice(p.column! - 1)).toMatch(new RegExp(`^${written.replace(/\./g, '\\.')}`));
    }
    expect(err.message).toMatch(/^profile seed-variant\.yaml is invalid \(3 problems\):/);
    expect(err.message).toContain(`at seed-variant.yaml:${err.problems[1].line}:${err.problems[1].column}`);
  });

  test('an unknown key points at the key itself', () => {
    const text = replace('  vip: 192.168.40.60', '  vipp: 192.168.40.60');
    const [p] = problemsOf(text).problems;
    const lineNo = text.split('\n').findIndex((l) => l.startsWith('  vipp:')) + 1;
    expect({ line: p.line, column: p.column }).toEqual({ line: lineNo, column: 3 });
  });

  test('an inline secret never appears in the message', () => {
    const secret = '5f0c7d1e-1b2a-4c3d-9e8f-a1b2c3d4e5f6';
    const err = problemsOf(replace('tokenSecret: { env: PROXMOX_TOKEN_SECRET }', `tokenSecret: ${secret}`));
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.problems)).not.toContain(secret);
  });
});
