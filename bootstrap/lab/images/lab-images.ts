/**
 * The lab's own images, built here with no registry, as OCI archives (oci-archive.ts) that a worker's containerd
 * imports: programs of ours (the pause sandbox, the guestbook) compiled with `go build` from bootstrap/lab/images, each
 * packed alone, cached by the hash of the sources in <cache>/images/<name>-<hash>/{<program>,image.tar,image.json};
 * and nginx and redis made from Debian's packages (debian-image.ts), cached by the hash of the .debs and our files.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../../../core/build-cache.ts';
import { UserError } from '../../../core/errors.ts';
import { run } from '../build/exec.ts';
import { findGo } from '../build/go-build.ts';
import { buildDebianImage, requireDebianTools, type DebianImage } from './debian-image.ts';
import { ociArchive, type ImageConfig } from './oci-archive.ts';

const SOURCES = dirname(fileURLToPath(import.meta.url));

export interface LabImage {
  /** the reference pods use, e.g. lab.local/guestbook:0.2.0 */
  ref: string;
  /** the Go package under bootstrap/lab/images */
  program: string;
  config: ImageConfig;
}

export const LAB_IMAGES: readonly LabImage[] = [
  { ref: 'lab.local/pause:3.10.1', program: 'pause', config: { entrypoint: ['/pause'] } },
  { ref: 'lab.local/guestbook:0.2.0', program: 'guestbook', config: { entrypoint: ['/guestbook'], exposedPorts: [3000], user: '65534:65534' } },
];

/** Images of Debian programs; their own files (configuration, passwd) are under debian/<name>/. */
export const DEBIAN_IMAGES: readonly DebianImage[] = [
  {
    ref: 'lab.local/nginx:1.22.1',
    name: 'nginx',
    // since bookworm nginx-light is nginx plus the echo module; the module is kept (load_module works), not loaded
    packages: ['nginx-light'],
    versionOf: 'nginx',
    keep: ['usr/sbin/nginx', 'usr/lib/nginx/modules', 'etc/nginx/mime.types'],
    // the master (root) creates the temp dirs under /var/lib/nginx for the worker; logs go to stderr/stdout
    dirs: [
      { path: 'var/lib/nginx', mode: 0o755 },
      { path: 'var/log/nginx', mode: 0o755 },
      { path: 'run', mode: 0o755 },
      { path: 'tmp', mode: 0o1777 },
    ],
    config: { entrypoint: ['/usr/sbin/nginx', '-e', 'stderr'], exposedPorts: [80] },
  },
  {
    ref: 'lab.local/redis:7.0.15',
    name: 'redis',
    // the server is redis-check-rdb, which serves when called redis-server: the link Debian's redis-server package
    // ships (that package adds only init scripts and config, and pulls init-system-helpers and usrmerge)
    packages: ['redis-tools'],
    versionOf: 'redis-tools',
    keep: ['usr/bin/redis-check-rdb', 'usr/bin/redis-cli'],
    links: [{ path: 'usr/bin/redis-server', target: 'redis-check-rdb' }],
    dirs: [{ path: 'tmp', mode: 0o1777 }],
    config: { entrypoint: ['/usr/bin/redis-server', '/etc/redis/redis.conf'], user: '999:999', exposedPorts: [6379] },
  },
  {
    // the probe pod of conformance/data-plane (the profile's target.probeImage): busybox's sh, nslookup and nc
    ref: 'lab.local/busybox:1.35.0',
    name: 'busybox',
    packages: ['busybox-static'],
    versionOf: 'busybox-static',
    keep: ['bin/busybox'],
    links: ['sh', 'nslookup', 'nc', 'sleep', 'cat', 'timeout'].map((applet) => ({ path: `bin/${applet}`, target: 'busybox' })),
    dirs: [{ path: 'tmp', mode: 0o1777 }],
    config: { entrypoint: ['/bin/sleep', '3600'], user: '65534:65534' },
  },
];

export interface BuiltImage {
  ref: string;
  archive: string;
  manifestDigest: string;
  cached: boolean;
}

/** Hash of everything that goes into a program's binary: go.mod and the program's sources. */
async function sourceHash(program: string): Promise<string> {
  const h = createHash('sha256').update(await readFile(join(SOURCES, 'go.mod')));
  for (const f of (await readdir(join(SOURCES, program))).filter((n) => n.endsWith('.go')).sort()) {
    h.update(f).update(await readFile(join(SOURCES, program, f)));
  }
  return h.digest('hex').slice(0, 16);
}

export async function buildLabImage(image: LabImage, onLine: (line: string) => void = () => undefined): Promise<BuiltImage> {
  const dir = join(cacheDir(), 'images', `${image.program}-${await sourceHash(image.program)}`);
  const archive = join(dir, 'image.tar');
  const meta = join(dir, 'image.json');
  if (existsSync(meta)) {
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { ref: string; manifestDigest: string };
    if (saved.ref === image.ref && existsSync(archive)) return { ref: image.ref, archive, manifestDigest: saved.manifestDigest, cached: true };
  }
  await mkdir(dir, { recursive: true });
  const go = await findGo();
  const binary = join(dir, image.program);
  onLine(`go build ${image.program}`);
  const built = await run(go.go, ['build', '-trimpath', '-ldflags', '-s -w', '-o', binary, `./${image.program}`], {
    cwd: SOURCES,
    env: { ...go.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
  });
  if (built.code !== 0) throw new UserError(`building the ${image.program} image's binary failed:\n${built.output.trim()}`);
  const oci = await ociArchive(image.ref, [{ path: image.program, content: await readFile(binary), mode: 0o755 }], image.config);
  await writeFile(archive, oci.archive);
  await writeFile(meta, JSON.stringify({ ref: image.ref, manifestDigest: oci.manifestDigest }, null, 2));
  return { ref: image.ref, archive, manifestDigest: oci.manifestDigest, cached: false };
}

export async function buildLabImages(onLine?: (line: string) => void): Promise<BuiltImage[]> {
  requireDebianTools();
  const out: BuiltImage[] = [];
  for (const image of LAB_IMAGES) out.push(await buildLabImage(image, onLine));
  for (const image of DEBIAN_IMAGES) {
    const { ref, archive, manifestDigest, cached } = await buildDebianImage(image, onLine);
    out.push({ ref, archive, manifestDigest, cached });
  }
  return out;
}
