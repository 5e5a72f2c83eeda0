/**
 * An OCI image archive written from files in memory, with no registry and no image tool: the layout
 * (`oci-layout`, `index.json`, `blobs/sha256/…`) that `ctr images import` reads, one uncompressed layer of regular
 * files, symlinks and directories with their modes. Every tar entry has a fixed mtime and owner (root) and the entries
 * are sorted by path bytes, so the same files always give the same digests (the images are cached by them).
 * The image name goes in both annotations containerd's importer reads (io.containerd.image.name and
 * org.opencontainers.image.ref.name).
 */
import { createHash } from 'node:crypto';
import { pack } from 'tar-stream';

export type ImageFile =
  | {
      /** path inside the image, without a leading slash */
      path: string;
      type?: 'file';
      content: Buffer;
      /** permission bits, including setuid/setgid/sticky */
      mode: number;
    }
  /** a symlink; `target` is stored as given (relative, or absolute inside the image) */
  | { path: string; type: 'symlink'; target: string }
  /** a directory with its mode (e.g. 1777 for tmp, or an empty one); a parent nobody names gets 0755 */
  | { path: string; type: 'directory'; mode: number };

export interface ImageConfig {
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  exposedPorts?: number[];
}

export interface OciArchive {
  /** the tar to give `ctr images import` */
  archive: Buffer;
  /** sha256 of the manifest: the image's identity once imported */
  manifestDigest: string;
  name: string;
}

const MTIME = new Date('2026-01-01T00:00:00Z');

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface TarEntry {
  name: string;
  content?: Buffer;
  mode: number;
  type: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const header = { name: e.name, mode: e.mode, mtime: MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root', type: e.type, ...(e.linkname ? { linkname: e.linkname } : {}) };
    await new Promise<void>((resolve, reject) => p.entry(header, e.type === 'file' ? e.content : undefined, (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Byte order, not localeCompare: the order must not depend on the machine's locale. A parent sorts before its children. */
const byPath = (a: TarEntry, b: TarEntry) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

/** The layer: every parent directory of every entry (0755 unless given), then the entries, sorted by path. */
function layerEntries(files: ImageFile[]): TarEntry[] {
  const dirs = new Map<string, number>();
  const entries: TarEntry[] = [];
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) dirs.set(d, 0o755);
    }
    if (f.type === 'directory') dirs.set(f.path, f.mode);
    else if (f.type === 'symlink') entries.push({ name: f.path, mode: 0o777, type: 'symlink', linkname: f.target });
    else entries.push({ name: f.path, content: f.content, mode: f.mode, type: 'file' });
  }
  const names = new Set(entries.map((e) => e.name));
  for (const d of dirs.keys()) if (names.has(d)) throw new Error(`image layer: ${d} is both a directory and a file or symlink`);
  if (names.size !== entries.length) throw new Error('image layer: a path is given twice');
  return [...[...dirs].map(([d, mode]) => ({ name: `${d}/`, mode, type: 'directory' as const })), ...entries].sort(byPath);
}

export async function ociArchive(name: string, files: ImageFile[], config: ImageConfig): Promise<OciArchive> {
  const layer = await tarOf(layerEntries(files));
  const imageConfig = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: MTIME.toISOString(),
      config: {
        Entrypoint: config.entrypoint,
        ...(config.cmd ? { Cmd: config.cmd } : {}),
        Env: config.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
        ...(config.user ? { User: config.user } : {}),
        ...(config.exposedPorts ? { ExposedPorts: Object.fromEntries(config.exposedPorts.map((p) => [`${p}/tcp`, {}])) } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      history: [{ created: MTIME.toISOString(), created_by: 'clusterproof lab build (bootstrap/lab/images)' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(imageConfig), size: imageConfig.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifest),
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1) },
        },
      ],
    }),
  );
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha256(b).slice('sha256:'.length)}`, content: b, mode: 0o644, type: 'file' as const });
  const archive = await tarOf([
    { name: 'blobs/', mode: 0o755, type: 'directory' },
    { name: 'blobs/sha256/', mode: 0o755, type: 'directory' },
    blob(layer),
    blob(imageConfig),
    blob(manifest),
    { name: 'oci-layout', content: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })), mode: 0o644, type: 'file' },
    { name: 'index.json', content: index, mode: 0o644, type: 'file' },
  ]);
  return { archive, manifestDigest: sha256(manifest), name };
}
