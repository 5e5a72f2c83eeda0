/**
 * An etcd snapshot taken from one member (etcdctl snapshot save against its own client URL, never the VIP) and
 * verified offline (etcdutl snapshot status: hash, revision, keys), its sha256 recorded. On Talos the snapshot
 * comes through the Talos API instead (talosctl etcd snapshot).
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/command.ts';
import type { SnapshotFacts } from '../../core/preflight/etcd-health.ts';
import type { TlsFiles } from '../https-json.ts';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const snapshotName = (at = new Date()) => `etcd-${at.toISOString().replace(/[:.]/g, '-')}.db`;

/** etcdutl snapshot status -w json: {"hash":…,"revision":…,"totalKey":…,"totalSize":…} */
export async function verifySnapshot(etcdutl: string, path: string): Promise<SnapshotFacts['status']> {
  const { stdout } = await run([etcdutl, 'snapshot', 'status', path, '-w', 'json'], { timeoutMs: 60_000 });
  const s = JSON.parse(stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
  return { hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize };
}

export async function snapshotThroughMember(
  tools: { etcdctl: string; etcdutl?: string },
  member: { node: string; endpoint: string },
  tls: TlsFiles,
  dir: string,
): Promise<SnapshotFacts> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, snapshotName());
  const takenFrom = `${member.node} (${member.endpoint})`;
  try {
    await run(
      [tools.etcdctl, 'snapshot', 'save', path, `--endpoints=${member.endpoint}`, `--cacert=${tls.caFile}`, `--cert=${tls.certFile}`, `--key=${tls.keyFile}`, '--command-timeout=60s'],
      { timeoutMs: 90_000 },
    );
  } catch (err) {
    return { path, sha256: '', bytes: 0, takenFrom, error: (err as Error).message };
  }
  const facts: SnapshotFacts = { path, sha256: await sha256File(path), bytes: statSync(path).size, takenFrom };
  if (tools.etcdutl) {
    try {
      facts.status = await verifySnapshot(tools.etcdutl, path);
    } catch (err) {
      facts.error = `etcdutl snapshot status ${path}: ${(err as Error).message}`;
    }
  }
  return facts;
}

export async function snapshotThroughTalos(
  talosctl: string,
  talosconfig: string,
  node: { name: string; address: string },
  dir: string,
  etcdutl?: string,
): Promise<SnapshotFacts> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, snapshotName());
  const takenFrom = `${node.name} (Talos API ${node.address})`;
  try {
    await run([talosctl, '--talosconfig', talosconfig, '-n', node.address, 'etcd', 'snapshot', path], { timeoutMs: 120_000 });
  } catch (err) {
    return { path, sha256: '', bytes: 0, takenFrom, error: (err as Error).message };
  }
  const facts: SnapshotFacts = { path, sha256: await sha256File(path), bytes: statSync(path).size, takenFrom };
  if (etcdutl) facts.status = await verifySnapshot(etcdutl, path).catch(() => undefined);
  return facts;
}
