/**
 * The lab PKI, generated into a temporary directory and checked with the openssl CLI (verify, SANs, subjects),
 * file modes, the kubeconfigs, idempotence, and one real mutual-TLS handshake on 127.0.0.1.
 */
import { createPrivateKey, createSign, createVerify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, tryRun } from '../../core/command.ts';
import { ensureLabPki, labPki, type CertFiles, type LabPkiPaths } from '../../bootstrap/lab/pki.ts';
import { controlPlaneNames, kubeNodeNames, labNode, labPlan } from '../../providers/lab/plan.ts';

let dir = '';
let pki: LabPkiPaths;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clusterproof-pki-test-'));
  pki = (await ensureLabPki(dir)).paths;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every leaf with the CA that must have signed it. */
function leavesWithCa(p: LabPkiPaths): [string, CertFiles, CertFiles][] {
  return [
    ['apiserver', p.apiserver, p.ca],
    ['apiserver-kubelet-client', p.apiserverKubeletClient, p.ca],
    ['front-proxy-client', p.frontProxyClient, p.frontProxyCa],
    ...controlPlaneNames.flatMap((n): [string, CertFiles, CertFiles][] => [
      [`etcd ${n} server`, p.etcd.server[n], p.etcd.ca],
      [`etcd ${n} peer`, p.etcd.peer[n], p.etcd.ca],
    ]),
    ['etcd apiserver client', p.etcd.apiserverClient, p.etcd.ca],
    ['etcd kube-vip client', p.etcd.kubeVipClient, p.etcd.ca],
    ['etcd harness client', p.etcd.harnessClient, p.etcd.ca],
    ['admin', p.clients.admin, p.ca],
    ['controller-manager', p.clients.controllerManager, p.ca],
    ['scheduler', p.clients.scheduler, p.ca],
    ...kubeNodeNames.map((n): [string, CertFiles, CertFiles] => [`node ${n}`, p.clients.nodes[n], p.ca]),
  ];
}

async function opensslVerify(caCert: string, cert: string): Promise<boolean> {
  const result = await tryRun(['openssl', 'verify', '-CAfile', caCert, cert]);
  return result.code === 0 && result.stdout.trim() === `${cert}: OK`;
}

async function sansOf(cert: string): Promise<string[]> {
  const { stdout } = await run(['openssl', 'x509', '-in', cert, '-noout', '-ext', 'subjectAltName']);
  return stdout
    .split('\n')
    .slice(1)
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function subjectOf(cert: string): Promise<string> {
  const { stdout } = await run(['openssl', 'x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253']);
  return stdout.trim().replace(/^subject=/, '');
}

async function extendedKeyUsage(cert: string): Promise<string> {
  return (await run(['openssl', 'x509', '-in', cert, '-noout', '-ext', 'extendedKeyUsage'])).stdout;
}

async function fileMode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('lab PKI', () => {
  test('every certificate verifies against its own CA (and not against another)', async () => {
    for (const [name, leaf, ca] of leavesWithCa(pki)) {
      expect(await opensslVerify(ca.cert, leaf.cert), `${name} against its CA`).toBe(true);
    }
    expect(await opensslVerify(pki.ca.cert, pki.etcd.peer.cp1.cert)).toBe(false);
    expect(await opensslVerify(pki.etcd.ca.cert, pki.apiserver.cert)).toBe(false);
    expect(await opensslVerify(pki.ca.cert, pki.frontProxyClient.cert)).toBe(false);
  });

  test('the apiserver certificate names the VIP, every control-plane IP, loopback and the kubernetes service', async () => {
    const sans = await sansOf(pki.apiserver.cert);
    const expected = [
      `IP Address:${labPlan.vip}`,
      ...controlPlaneNames.map((n) => `IP Address:${labNode(n).ip}`),
      'IP Address:127.0.0.1',
      'IP Address:198.18.128.1',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'DNS:localhost',
    ];
    expect([...sans].sort()).toEqual([...expected].sort());
    expect(await extendedKeyUsage(pki.apiserver.cert)).toContain('TLS Web Server Authentication');
  });

  test('etcd member certificates name their node, serve and act as clients', async () => {
    for (const n of controlPlaneNames) {
      for (const files of [pki.etcd.server[n], pki.etcd.peer[n]]) {
        expect([...(await sansOf(files.cert))].sort()).toEqual([`DNS:${n}`, 'DNS:localhost', `IP Address:${labNode(n).ip}`, 'IP Address:127.0.0.1'].sort());
        const eku = await extendedKeyUsage(files.cert);
        expect(eku).toContain('TLS Web Server Authentication');
        expect(eku).toContain('TLS Web Client Authentication');
      }
    }
  });

  test('client certificates carry the identities Kubernetes authorizes', async () => {
    expect(await subjectOf(pki.clients.admin.cert)).toBe('CN=kubernetes-admin,O=system:masters');
    expect(await subjectOf(pki.clients.controllerManager.cert)).toBe('CN=system:kube-controller-manager');
    expect(await subjectOf(pki.clients.scheduler.cert)).toBe('CN=system:kube-scheduler');
    for (const n of kubeNodeNames) expect(await subjectOf(pki.clients.nodes[n].cert)).toBe(`CN=system:node:${n},O=system:nodes`);
    for (const files of [pki.clients.admin, pki.etcd.apiserverClient, pki.etcd.kubeVipClient, pki.etcd.harnessClient, pki.frontProxyClient]) {
      const eku = await extendedKeyUsage(files.cert);
      expect(eku).toContain('TLS Web Client Authentication');
      expect(eku).not.toContain('Server');
    }
  });

  test('private keys and kubeconfigs are 0600', async () => {
    const privateFiles = [
      ...[pki.ca, pki.etcd.ca, pki.frontProxyCa].map((f) => f.key),
      ...leavesWithCa(pki).map(([, leaf]) => leaf.key),
      pki.serviceAccount.key,
      pki.kubeconfigs.admin,
      ...Object.values(pki.kubeconfigs.controllerManager),
      ...Object.values(pki.kubeconfigs.scheduler),
      ...Object.values(pki.kubeconfigs.kwok),
    ];
    for (const path of privateFiles) expect(await fileMode(path), path).toBe(0o600);
  });

  test('the service-account key pair signs and verifies', async () => {
    const signer = createSign('SHA256').update('token');
    const signature = signer.sign(createPrivateKey(await readFile(pki.serviceAccount.key, 'utf8')));
    expect(createVerify('SHA256').update('token').verify(await readFile(pki.serviceAccount.pub, 'utf8'), signature)).toBe(true);
  });

  test('kubeconfigs point the admin and kwok at the VIP and each component at its own node', async () => {
    const load = async (path: string) => {
      const doc = parse(await readFile(path, 'utf8'));
      const cert = new X509Certificate(Buffer.from(doc.users[0].user['client-certificate-data'], 'base64'));
      const key = createPrivateKey(Buffer.from(doc.users[0].user['client-key-data'], 'base64'));
      const ca = new X509Certificate(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64'));
      expect(cert.checkPrivateKey(key)).toBe(true);
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
      expect(doc['current-context']).toBe(doc.contexts[0].name);
      return { server: doc.clusters[0].cluster.server as string, subject: cert.subject };
    };
    const vip = `https://${labPlan.vip}:6443`;
    expect(await load(pki.kubeconfigs.admin)).toEqual({ server: vip, subject: 'O=system:masters\nCN=kubernetes-admin' });
    for (const n of controlPlaneNames) {
      const own = `https://${labNode(n).ip}:6443`;
      expect(await load(pki.kubeconfigs.controllerManager[n])).toEqual({ server: own, subject: 'CN=system:kube-controller-manager' });
      expect(await load(pki.kubeconfigs.scheduler[n])).toEqual({ server: own, subject: 'CN=system:kube-scheduler' });
    }
    for (const n of kubeNodeNames) {
      expect(await load(pki.kubeconfigs.kwok[n])).toEqual({ server: vip, subject: `O=system:nodes\nCN=system:node:${n}` });
    }
  });

  test('a client with the admin certificate and a server with the apiserver certificate complete mutual TLS', async () => {
    const read = (path: string) => readFile(path);
    const server = createServer(
      { cert: await read(pki.apiserver.cert), key: await read(pki.apiserver.key), ca: await read(pki.ca.cert), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        res.end(String(peer.subject?.CN));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const ca = await read(pki.ca.cert);
      const cert = await read(pki.clients.admin.cert);
      const key = await read(pki.clients.admin.key);
      const fetchCn = (servername?: string) =>
        new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/', servername, ca, cert, key, agent: false }, (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve(body));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await fetchCn()).toBe('kubernetes-admin'); // IP SAN 127.0.0.1
      expect(await fetchCn('kubernetes.default.svc')).toBe('kubernetes-admin');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a rerun reuses everything: no CA rotates, no file is rewritten', async () => {
    const caBefore = await readFile(pki.ca.cert, 'utf8');
    const mtimes = async () =>
      Promise.all([pki.ca.cert, pki.etcd.ca.cert, pki.apiserver.cert, pki.kubeconfigs.admin, pki.serviceAccount.key].map(async (p) => (await stat(p)).mtimeMs));
    const before = await mtimes();
    const again = await ensureLabPki(dir);
    expect(again.issued).toEqual([]);
    expect(again.paths).toEqual(labPki(dir));
    expect(await readFile(pki.ca.cert, 'utf8')).toBe(caBefore);
    expect(await mtimes()).toEqual(before);
  });

  test('a missing leaf is reissued alone, under the same CA', async () => {
    const caBefore = await readFile(pki.etcd.ca.cert, 'utf8');
    await unlink(pki.etcd.peer.cp2.key);
    const again = await ensureLabPki(dir);
    expect(again.issued).toEqual(['etcd/cp2-peer (missing or key does not match)']);
    expect(await readFile(pki.etcd.ca.cert, 'utf8')).toBe(caBefore);
    expect(await opensslVerify(pki.etcd.ca.cert, pki.etcd.peer.cp2.cert)).toBe(true);
  });

  test('a broken CA is replaced and only the certificates it signed are reissued', async () => {
    const clusterCaBefore = await readFile(pki.ca.cert, 'utf8');
    await writeFile(pki.frontProxyCa.key, 'not a key\n');
    const again = await ensureLabPki(dir);
    expect(again.issued.map((i) => i.split(' ')[0])).toEqual(['front-proxy-ca', 'front-proxy-client']);
    expect(await readFile(pki.ca.cert, 'utf8')).toBe(clusterCaBefore);
    expect(await opensslVerify(pki.frontProxyCa.cert, pki.frontProxyClient.cert)).toBe(true);
  });
});
