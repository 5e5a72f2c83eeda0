/**
 * The certificates an upgrade relies on, read where the clients read them: the kubeconfig's client certificate, the
 * API server's serving certificate as a TLS handshake through the profile's address sees it, and the talosconfig's
 * client certificate where there is one.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { parse } from 'yaml';
import { assertDestination } from '../../core/safety/destinations.ts';
import type { CertificateFacts } from '../../core/preflight/certificates.ts';
import type { KubeAccess } from '../kube.ts';

const facts = (what: string, pem: string | Buffer): CertificateFacts => {
  const c = new X509Certificate(pem);
  return { what, subject: c.subject.replace(/\n/g, ', '), notAfter: new Date(c.validTo) };
};

export function kubeconfigCertificates(kube: KubeAccess): CertificateFacts[] {
  const user = kube.config.getCurrentUser();
  if (!user) return [];
  const pem = user.certData ? Buffer.from(user.certData, 'base64') : user.certFile ? readFileSync(user.certFile) : undefined;
  return pem ? [facts(`kubeconfig client certificate (user ${user.name})`, pem)] : [];
}

export function talosconfigCertificates(talosconfigPath: string): CertificateFacts[] {
  const cfg = parse(readFileSync(talosconfigPath, 'utf8')) as { context?: string; contexts?: Record<string, { crt?: string }> };
  return Object.entries(cfg.contexts ?? {})
    .filter(([, c]) => c.crt)
    .map(([name, c]) => facts(`talosconfig client certificate (context ${name})`, Buffer.from(c.crt!, 'base64')));
}

export function servingCertificate(server: string, ca: string | undefined, opts: { allowRemote?: boolean } = {}): Promise<CertificateFacts> {
  const url = new URL(server);
  assertDestination(url.hostname, opts);
  const port = Number(url.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, ca, servername: /^[\d.]+$/.test(url.hostname) ? undefined : url.hostname, timeout: 5000 }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (!peer) return reject(new Error(`${url.host} sent no certificate`));
      resolve({ what: `API server serving certificate (${url.host})`, subject: peer.subject.replace(/\n/g, ', '), notAfter: new Date(peer.validTo) });
    });
    socket.on('timeout', () => socket.destroy(new Error(`TLS handshake with ${url.host} timed out`)));
    socket.on('error', reject);
  });
}
