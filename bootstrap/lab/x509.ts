/**
 * Keys and X.509 certificates for the lab PKI: ECDSA P-256 keys from node:crypto, certificates signed by the
 * openssl CLI, checks with node:crypto's X509Certificate. Files are written atomically (temp + rename), keys 0600.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/command.ts';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface CertSubject {
  cn: string;
  o?: string[];
}

export interface CertSpec {
  subject: CertSubject;
  usage: ('server' | 'client')[];
  dnsNames?: string[];
  ips?: string[];
  days: number;
}

/** A leaf is reissued when it has less than this left. */
const leafRenewBeforeDays = 30;
/** A CA is kept while it outlives any leaf it could still sign. */
const caKeepWhileDaysLeft = 400;
const day = 24 * 60 * 60 * 1000;

export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function newEcKeyPem(): Promise<{ privatePem: string; publicPem: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ec',
      { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } },
      (error, publicPem, privatePem) => (error ? reject(error) : resolve({ privatePem, publicPem })),
    );
  });
}

function subjectArg(subject: CertSubject): string {
  const escape = (value: string) => value.replace(/[\\/+]/g, (c) => `\\${c}`);
  return [...(subject.o ?? []).map((o) => `/O=${escape(o)}`), `/CN=${escape(subject.cn)}`].join('');
}

function opensslConfig(spec: CertSpec | 'ca'): string {
  const lines = ['[req]', 'distinguished_name = dn', '[dn]', '[ext]'];
  if (spec === 'ca') {
    lines.push('basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature', 'subjectKeyIdentifier = hash');
    return lines.join('\n') + '\n';
  }
  const eku = spec.usage.map((u) => (u === 'server' ? 'serverAuth' : 'clientAuth')).join(', ');
  lines.push(
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    `extendedKeyUsage = ${eku}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
  );
  const sans = [...(spec.dnsNames ?? []).map((d, i) => `DNS.${i + 1} = ${d}`), ...(spec.ips ?? []).map((ip, i) => `IP.${i + 1} = ${ip}`)];
  if (sans.length > 0) lines.push('subjectAltName = @alt', '[alt]', ...sans);
  return lines.join('\n') + '\n';
}

function serialArg(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return `0x${bytes.toString('hex')}`;
}

/** Generates a key and a certificate (self-signed when `ca` is undefined), replacing both files. */
async function createCert(files: CertFiles, subject: CertSubject, spec: CertSpec | 'ca', days: number, ca?: CertFiles): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'clusterproof-pki-'));
  try {
    const configPath = join(work, 'openssl.cnf');
    const keyPath = join(work, 'key.pem');
    const certPath = join(work, 'cert.pem');
    await writeFile(configPath, opensslConfig(spec));
    await writeFile(keyPath, (await newEcKeyPem()).privatePem, { mode: 0o600 });
    const signer = ca ? ['-CA', ca.cert, '-CAkey', ca.key] : ['-x509'];
    await run([
      'openssl', 'req', '-new', ...signer, '-key', keyPath, '-subj', subjectArg(subject), '-config', configPath,
      '-extensions', 'ext', '-days', String(days), '-sha256', '-set_serial', serialArg(), '-out', certPath,
    ]);
    await writeFileAtomic(files.key, await readFile(keyPath, 'utf8'), 0o600);
    await writeFileAtomic(files.cert, await readFile(certPath, 'utf8'), 0o644);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function createCa(files: CertFiles, cn: string, days: number): Promise<void> {
  return createCert(files, { cn }, 'ca', days);
}

export function issueCert(files: CertFiles, ca: CertFiles, spec: CertSpec): Promise<void> {
  return createCert(files, spec.subject, spec, spec.days, ca);
}

async function loadPair(files: CertFiles): Promise<{ cert: X509Certificate; keyPem: string } | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(files.cert), readOptional(files.key)]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? { cert, keyPem } : undefined;
  } catch {
    return undefined;
  }
}

function daysLeft(cert: X509Certificate): number {
  return (new Date(cert.validTo).getTime() - Date.now()) / day;
}

/** The CA pair exists, the key matches, it is a CA, and it will outlive the leaves it signs. */
export async function caIsUsable(files: CertFiles): Promise<boolean> {
  const pair = await loadPair(files);
  return pair !== undefined && pair.cert.ca && daysLeft(pair.cert) > caKeepWhileDaysLeft;
}

const ekuOid = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Why the existing leaf cannot be reused (missing, key mismatch, not signed by `ca`, expiring, or issued for a
 * different subject, SANs or usage), or undefined when it can.
 */
export async function leafProblem(files: CertFiles, ca: CertFiles, spec: CertSpec): Promise<string | undefined> {
  const pair = await loadPair(files);
  if (!pair) return 'missing or key does not match';
  const caPem = await readOptional(ca.cert);
  if (!caPem) return 'no CA';
  const caCert = new X509Certificate(caPem);
  const { cert } = pair;
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return 'not signed by the current CA';
  if (daysLeft(cert) < leafRenewBeforeDays) return 'expiring';
  const subject = [...(spec.subject.o ?? []).map((o) => `O=${o}`), `CN=${spec.subject.cn}`];
  if (!sameSet(cert.subject.split('\n'), subject)) return `subject is ${cert.subject.replace(/\n/g, ', ')}`;
  const sans = [...(spec.dnsNames ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP Address:${ip}`)];
  const actualSans = cert.subjectAltName ? cert.subjectAltName.split(', ') : [];
  if (!sameSet(actualSans, sans)) return 'SANs differ';
  if (!sameSet(cert.keyUsage ?? [], spec.usage.map((u) => ekuOid[u]))) return 'extended key usage differs';
  return undefined;
}

/** A signing key pair without a certificate (the service-account keys): reused while the public key matches. */
export async function ensureKeyPair(files: { key: string; pub: string }): Promise<'reused' | 'created'> {
  const [keyPem, pubPem] = await Promise.all([readOptional(files.key), readOptional(files.pub)]);
  if (keyPem && pubPem) {
    try {
      const derived = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' });
      if (derived === createPublicKey(pubPem).export({ type: 'spki', format: 'pem' })) return 'reused';
    } catch {
      // unreadable: replace below
    }
  }
  const { privatePem, publicPem } = await newEcKeyPem();
  await writeFileAtomic(files.key, privatePem, 0o600);
  await writeFileAtomic(files.pub, publicPem, 0o644);
  return 'created';
}
