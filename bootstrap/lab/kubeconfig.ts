/**
 * Kubeconfig files with the CA and the client certificate embedded, so each file works on its own (and must be
 * kept private: mode 0600).
 */
import { chmod, readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { writeFileAtomic, type CertFiles } from './x509.ts';

export interface KubeconfigSpec {
  path: string;
  server: string;
  caCert: string;
  client: CertFiles;
  user: string;
  clusterName: string;
}

export async function renderKubeconfig(spec: KubeconfigSpec): Promise<string> {
  const b64 = async (path: string) => (await readFile(path)).toString('base64');
  const context = `${spec.user}@${spec.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.clusterName, cluster: { server: spec.server, 'certificate-authority-data': await b64(spec.caCert) } }],
    users: [
      {
        name: spec.user,
        user: { 'client-certificate-data': await b64(spec.client.cert), 'client-key-data': await b64(spec.client.key) },
      },
    ],
    contexts: [{ name: context, context: { cluster: spec.clusterName, user: spec.user } }],
    'current-context': context,
    preferences: {},
  });
}

/** Writes the kubeconfig unless the file already has exactly this content; returns whether it wrote. */
export async function writeKubeconfig(spec: KubeconfigSpec): Promise<boolean> {
  const content = await renderKubeconfig(spec);
  const existing = await readFile(spec.path, 'utf8').catch(() => undefined);
  if (existing === content) {
    await chmod(spec.path, 0o600);
    return false;
  }
  await writeFileAtomic(spec.path, content, 0o600);
  return true;
}
