/**
 * The lab's own images: an OCI archive is deterministic and self-consistent (index -> manifest -> config and layer,
 * every digest matching its blob) and keeps symlinks and modes; the Debian-based images (nginx, redis) come out
 * byte-identical from the same .debs and hold the program with what it links, not the packages' docs; and, where
 * containerd, its shim and runc are built (`lab build`) and we are root, a real
 * containerd imports the images and runs the guestbook, which stores and reads its entries in a real redis, and the
 * nginx and redis images. Everything listens on 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { extract } from 'tar-stream';
import { isUpToDate } from '../../bootstrap/lab/build/go-build.ts';
import { COMPONENTS } from '../../bootstrap/lab/build/components.ts';
import { assembleDebianImage, buildDebianImage, fetchDebs, type BuiltDebianImage } from '../../bootstrap/lab/images/debian-image.ts';
import { buildLabImages, DEBIAN_IMAGES, type BuiltImage } from '../../bootstrap/lab/images/lab-images.ts';
import { CgroupTree } from '../../bootstrap/lab/worker/cgroup-tree.ts';
import { ociArchive, type ImageFile } from '../../bootstrap/lab/images/oci-archive.ts';
import { buildPaths } from '../../core/build-cache.ts';
import { hasTool } from '../../core/command.ts';
import { MissingPrerequisiteError } from '../../core/errors.ts';

interface TarFile {
  content: Buffer;
  mode: number;
  mtime?: Date;
  uid?: number;
  type?: string;
  linkname?: string | null;
}

async function untar(archive: Buffer): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const x = extract();
  const done = new Promise<void>((resolve, reject) => {
    x.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        files.set(header.name, { content: Buffer.concat(chunks), mode: header.mode ?? 0, mtime: header.mtime, uid: header.uid, type: header.type ?? undefined, linkname: header.linkname });
        next();
      });
      stream.resume();
    });
    x.on('finish', () => resolve());
    x.on('error', reject);
  });
  x.end(archive);
  await done;
  return files;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The one layer of an archive, unpacked, and the image config. */
async function layerOf(archive: Buffer): Promise<{ layer: Map<string, TarFile>; config: { config: Record<string, unknown> } }> {
  const tar = await untar(archive);
  const blob = (digest: string) => tar.get(`blobs/sha256/${digest.slice('sha256:'.length)}`)!.content;
  const index = JSON.parse(tar.get('index.json')!.content.toString());
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  return { layer: await untar(blob(manifest.layers[0].digest)), config: JSON.parse(blob(manifest.config.digest).toString()) };
}

describe('OCI archives', () => {
  const files = [{ path: 'usr/bin/hello', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 }];

  test('the same files give the same digests; other content gives others', async () => {
    const a = await ociArchive('lab.local/hello:1', files, { entrypoint: ['/usr/bin/hello'] });
    const b = await ociArchive('lab.local/hello:1', files, { entrypoint: ['/usr/bin/hello'] });
    const c = await ociArchive('lab.local/hello:1', [{ ...files[0]!, content: Buffer.from('other') }], { entrypoint: ['/usr/bin/hello'] });
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.archive.equals(a.archive)).toBe(true);
    expect(c.manifestDigest).not.toBe(a.manifestDigest);
  });

  test('index -> manifest -> config and layer: every reference names a blob with that digest and size', async () => {
    const { archive, manifestDigest } = await ociArchive('lab.local/hello:1', files, { entrypoint: ['/usr/bin/hello'], exposedPorts: [3000] });
    const tar = await untar(archive);
    const blob = (digest: string) => {
      const entry = tar.get(`blobs/sha256/${digest.slice('sha256:'.length)}`);
      if (!entry) throw new Error(`no blob ${digest}`);
      expect(sha(entry.content)).toBe(digest);
      return entry.content;
    };
    expect(JSON.parse(tar.get('oci-layout')!.content.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(tar.get('index.json')!.content.toString());
    expect(index.manifests[0]).toMatchObject({ digest: manifestDigest, annotations: { 'io.containerd.image.name': 'lab.local/hello:1', 'org.opencontainers.image.ref.name': '1' } });
    const manifest = JSON.parse(blob(manifestDigest).toString());
    expect(index.manifests[0].size).toBe(blob(manifestDigest).length);
    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/usr/bin/hello'], ExposedPorts: { '3000/tcp': {} } } });
    const layer = blob(manifest.layers[0].digest);
    expect(config.rootfs.diff_ids).toEqual([sha(layer)]);
    const inLayer = await untar(layer);
    expect([...inLayer.keys()]).toEqual(['usr/', 'usr/bin/', 'usr/bin/hello']);
    expect(inLayer.get('usr/bin/hello')).toMatchObject({ mode: 0o755, uid: 0, content: files[0]!.content });
  });

  test('symlinks, directory modes and setuid bits round-trip; the order of the input does not matter', async () => {
    const tree: ImageFile[] = [
      { path: 'usr/bin/hello', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
      { path: 'usr/bin/su', content: Buffer.from('x'), mode: 0o4755 },
      { path: 'usr/bin/hi', type: 'symlink', target: 'hello' },
      { path: 'lib64/ld-linux-x86-64.so.2', type: 'symlink', target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
      { path: 'usr/share/doc/libgcc-s1', type: 'symlink', target: 'gcc-12-base' },
      { path: 'tmp', type: 'directory', mode: 0o1777 },
      { path: 'var/lib/empty', type: 'directory', mode: 0o700 },
    ];
    const a = await ociArchive('lab.local/tree:1', tree, { entrypoint: ['/usr/bin/hi'] });
    const b = await ociArchive('lab.local/tree:1', [...tree].reverse(), { entrypoint: ['/usr/bin/hi'] });
    expect(b.archive.equals(a.archive)).toBe(true);
    const { layer } = await layerOf(a.archive);
    expect([...layer.keys()]).toEqual([
      'lib64/',
      'lib64/ld-linux-x86-64.so.2',
      'tmp/',
      'usr/',
      'usr/bin/',
      'usr/bin/hello',
      'usr/bin/hi',
      'usr/bin/su',
      'usr/share/',
      'usr/share/doc/',
      'usr/share/doc/libgcc-s1',
      'var/',
      'var/lib/',
      'var/lib/empty/',
    ]);
    expect(layer.get('usr/bin/hi')).toMatchObject({ type: 'symlink', linkname: 'hello', content: Buffer.alloc(0) });
    expect(layer.get('lib64/ld-linux-x86-64.so.2')).toMatchObject({ type: 'symlink', linkname: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' });
    expect(layer.get('usr/bin/su')).toMatchObject({ type: 'file', mode: 0o4755 });
    expect(layer.get('tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(layer.get('var/lib/empty/')).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(layer.get('var/')).toMatchObject({ type: 'directory', mode: 0o755, uid: 0 });
  });

  test('a path that is both a directory and a file is refused', async () => {
    const clash: ImageFile[] = [
      { path: 'lib', type: 'symlink', target: 'usr/lib' },
      { path: 'lib/libc.so.6', content: Buffer.from('x'), mode: 0o644 },
    ];
    await expect(ociArchive('lab.local/clash:1', clash, { entrypoint: ['/x'] })).rejects.toThrow(/lib is both a directory and a file or symlink/);
  });
});

const aptMissing = ['apt-get', 'apt-cache', 'dpkg-deb'].filter((t) => !hasTool(t));

describe.skipIf(aptMissing.length > 0)(`images made from Debian packages${aptMissing.length ? ` (skipped: no ${aptMissing.join(', ')})` : ''}`, () => {
  const built = new Map<string, BuiltDebianImage>();
  beforeAll(async () => {
    for (const image of DEBIAN_IMAGES) built.set(image.name, await buildDebianImage(image));
  }, 300_000);

  test('built twice from the cached .debs, each image is byte-identical, and the cached build has that digest', async () => {
    for (const image of DEBIAN_IMAGES) {
      const { debs, manifestDigest, archive } = built.get(image.name)!;
      await fetchDebs(debs, () => undefined);
      const a = await assembleDebianImage(image, debs);
      const b = await assembleDebianImage(image, debs);
      expect(b.manifestDigest, image.ref).toBe(a.manifestDigest);
      expect(b.archive.equals(a.archive), image.ref).toBe(true);
      expect(manifestDigest, `${image.ref}: cached build`).toBe(a.manifestDigest);
      expect(readFileSync(archive).equals(a.archive)).toBe(true);
    }
  }, 120_000);

  test('nginx: the binary, its loader and libraries (with their soname links), our config; no docs or man pages', async () => {
    const { layer, config } = await layerOf(readFileSync(built.get('nginx')!.archive));
    expect(layer.get('usr/sbin/nginx')).toMatchObject({ type: 'file', mode: 0o755, uid: 0 });
    expect(layer.get('lib64/ld-linux-x86-64.so.2')).toMatchObject({ type: 'symlink', linkname: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' });
    expect(layer.get('lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')?.type).toBe('file');
    expect(layer.get('usr/lib/x86_64-linux-gnu/libpcre2-8.so.0')?.type).toBe('symlink');
    for (const lib of ['libc.so.6', 'libcrypt.so.1', 'libz.so.1', 'libgcc_s.so.1']) expect(layer.has(`lib/x86_64-linux-gnu/${lib}`), lib).toBe(true);
    for (const lib of ['libssl.so.3', 'libcrypto.so.3']) expect(layer.has(`usr/lib/x86_64-linux-gnu/${lib}`), lib).toBe(true);
    expect(layer.get('etc/nginx/nginx.conf')!.content.toString()).toBe(readFileSync('bootstrap/lab/images/debian/nginx/etc/nginx/nginx.conf', 'utf8'));
    expect(layer.get('etc/passwd')!.content.toString()).toMatch(/^www-data:x:33:33:/m);
    expect(layer.get('tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(layer.has('var/lib/nginx/') && layer.has('var/log/nginx/') && layer.has('etc/nginx/mime.types')).toBe(true);
    expect(layer.has('usr/share/doc/nginx/copyright')).toBe(true);
    const clutter = [...layer.keys()].filter((p) => /^usr\/share\/(man|locale|info)\/|changelog|^usr\/bin\/(dpkg|tar)|^bin\/|^etc\/init\.d|systemd\/system/.test(p));
    expect(clutter).toEqual([]);
    expect(config.config).toMatchObject({ Entrypoint: ['/usr/sbin/nginx', '-e', 'stderr'], ExposedPorts: { '80/tcp': {} } });
  });

  test('redis: redis-server is the link to redis-check-rdb, with jemalloc; the image runs as uid 999', async () => {
    const { layer, config } = await layerOf(readFileSync(built.get('redis')!.archive));
    expect(layer.get('usr/bin/redis-server')).toMatchObject({ type: 'symlink', linkname: 'redis-check-rdb' });
    expect(layer.get('usr/bin/redis-check-rdb')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(layer.has('usr/lib/x86_64-linux-gnu/libjemalloc.so.2')).toBe(true);
    expect(layer.get('etc/passwd')!.content.toString()).toMatch(/^redis:x:999:999:/m);
    expect(config.config).toMatchObject({ Entrypoint: ['/usr/bin/redis-server', '/etc/redis/redis.conf'], User: '999:999' });
  });

  test('a missing dpkg-deb is named, with the apt command that installs it, before anything is built', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'clusterproof-path-'));
    for (const t of ['apt-get', 'apt-cache']) symlinkSync(`/usr/bin/${t}`, join(bin, t));
    const path = process.env.PATH;
    const lines: string[] = [];
    process.env.PATH = bin;
    try {
      const err = await buildLabImages((l) => lines.push(l)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingPrerequisiteError);
      expect((err as Error).message).toMatch(/`dpkg-deb` is not installed[\s\S]*fix: apt-get install -y dpkg$/);
      expect(lines).toEqual([]);
    } finally {
      process.env.PATH = path;
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

/** One RESP exchange per command on one connection; the replies as raw lines. */
async function redisSay(port: number, commands: string[][]): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  const replies: string[] = [];
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (d) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\r\n')) >= 0) {
        replies.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 2);
      }
      if (replies.length === commands.length) resolve();
    });
    sock.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
  }).finally(() => sock.destroy());
  return replies;
}

/** The uids a task's processes run as, from /proc. */
function uidsOf(pids: number[]): number[] {
  return pids.map((pid) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]));
}

const runtime = ['containerd', 'runc'].map((n) => COMPONENTS.find((c) => c.name === n)!);
const notReady = process.getuid?.() !== 0 ? 'needs root (containerd)' : undefined;

describe('the images in a real containerd', async () => {
  const unbuilt: string[] = [];
  for (const c of runtime) if (!(await isUpToDate(c)).upToDate) unbuilt.push(c.name);
  const skip =
    notReady ??
    (unbuilt.length ? `not built: ${unbuilt.join(', ')} (node bin/clusterproof.mjs lab build)` : undefined) ??
    (aptMissing.length ? `no ${aptMissing.join(', ')} to make the nginx and redis images` : undefined);
  if (skip) {
    test.skip(`skipped: ${skip}`, () => undefined);
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'clusterproof-containerd-'));
  const sock = join(dir, 'containerd.sock');
  const PATH = `${buildPaths.binDir(runtime[0]!)}:${buildPaths.binDir(runtime[1]!)}:${process.env.PATH}`;
  const namespaceCgroup = new CgroupTree('/clusterproof-test');
  const ctr = (...args: string[]) => spawnSync(join(buildPaths.binDir(runtime[0]!), 'ctr'), ['--address', sock, '--namespace', 'clusterproof-test', ...args], { encoding: 'utf8', env: { ...process.env, PATH }, timeout: 60_000 });
  let containerd: ChildProcess;
  let redis: ChildProcess;
  let images: BuiltImage[] = [];
  const redisPort = 16379 + (process.pid % 1000);
  const webPort = 13000 + (process.pid % 1000);
  const nginxPort = 14000 + (process.pid % 1000);
  const redisImagePort = 15000 + (process.pid % 1000);
  const containers = ['guestbook', 'nginx', 'redis'];
  /** every process the test's containers ran, checked gone at the end */
  const containerPids = new Set<number>();
  const taskPids = (id: string) => {
    const pids = ctr('task', 'ps', id).stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    for (const p of pids) containerPids.add(p);
    return pids;
  };
  const imageOf = (name: string) => images.find((i) => i.ref.startsWith(`lab.local/${name}:`))!;

  beforeAll(async () => {
    images = await buildLabImages();
    writeFileSync(
      join(dir, 'config.toml'),
      `version = 3\nroot = "${dir}/root"\nstate = "${dir}/state"\n` +
        `disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"]\n` +
        `[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n`,
    );
    containerd = spawn(join(buildPaths.binDir(runtime[0]!), 'containerd'), ['--config', join(dir, 'config.toml')], { env: { ...process.env, PATH }, stdio: 'ignore' });
    // Debian's redis-tools ships the server as redis-check-rdb, which serves when invoked as redis-server
    symlinkSync('/usr/bin/redis-check-rdb', join(dir, 'redis-server'));
    redis = spawn(join(dir, 'redis-server'), ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && ctr('version').status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  }, 180_000);

  /** Stop the tasks, containerd and redis; idempotent, so the last test and afterAll can both call it. */
  const stopAll = async () => {
    // with containerd gone every ctr call would wait out its 10 s dial timeout
    const running = (p: ChildProcess | undefined) => p !== undefined && p.exitCode === null && p.signalCode === null;
    for (const id of running(containerd) ? containers : []) {
      ctr('task', 'kill', '--signal', 'SIGKILL', id);
      for (let i = 0; i < 50 && new RegExp(`^${id}\\s`, 'm').test(ctr('task', 'list').stdout); i++) {
        ctr('task', 'delete', id);
        await new Promise((r) => setTimeout(r, 100));
      }
      ctr('container', 'delete', id);
    }
    for (const p of [containerd, redis]) {
      if (running(p)) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
    }
    // runc puts each container in /<namespace>/<id>; deleting the container removes only <id>
    if (namespaceCgroup.pids().length === 0) namespaceCgroup.remove();
  };
  afterAll(async () => {
    await stopAll();
    spawnSync('sh', ['-c', `for m in $(findmnt -rn -o TARGET | grep '^${dir}' | sort -r); do umount -l "$m"; done`]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('containerd imports every lab image under its name and digest', () => {
    for (const image of images) {
      const imported = ctr('images', 'import', image.archive);
      expect(imported.status, imported.stderr).toBe(0);
    }
    const listed = ctr('images', 'list').stdout;
    for (const image of images) expect(listed).toMatch(new RegExp(`^${image.ref.replace(/[.:/]/g, '\\$&')}\\s.*${image.manifestDigest}`, 'm'));
  });

  test('the guestbook runs under runc and keeps its entries in redis', async () => {
    const guestbook = imageOf('guestbook');
    const started = ctr('run', '-d', '--net-host', '--env', `LISTEN=127.0.0.1:${webPort}`, '--env', `REDIS_ADDR=127.0.0.1:${redisPort}`, guestbook.ref, 'guestbook');
    expect(started.status, started.stderr).toBe(0);
    const url = (p: string) => `http://127.0.0.1:${webPort}${p}`;
    let health: Response | undefined;
    for (let i = 0; i < 50 && !health?.ok; i++) {
      health = await fetch(url('/healthz')).catch(() => undefined);
      if (!health?.ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(health?.status).toBe(200);
    const pushed = await fetch(url('/rpush/guestbook/hello%20lab'));
    expect(await pushed.json()).toEqual(['hello lab']);
    expect(pushed.headers.get('x-served-by')).toBeTruthy();
    expect(await (await fetch(url('/lrange/guestbook'))).json()).toEqual(['hello lab']);
    expect(await (await fetch(url('/'))).text()).toContain('<li>hello lab</li>');
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetch(url('/healthz'))).status).toBe(503);
  }, 60_000);

  test('nginx runs under runc: master as root, worker as www-data, /healthz 200 and our page', async () => {
    // the image listens on :80; this test's nginx shares the host's network, so it gets a loopback port instead
    writeFileSync(join(dir, 'listen.conf'), `listen 127.0.0.1:${nginxPort};\n`);
    const mount = `type=bind,src=${join(dir, 'listen.conf')},dst=/etc/nginx/listen.conf,options=rbind:ro`;
    const started = ctr('run', '-d', '--net-host', '--mount', mount, imageOf('nginx').ref, 'nginx');
    expect(started.status, started.stderr).toBe(0);
    const url = (p: string) => `http://127.0.0.1:${nginxPort}${p}`;
    let health: Response | undefined;
    for (let i = 0; i < 50 && !health?.ok; i++) {
      health = await fetch(url('/healthz')).catch(() => undefined);
      if (!health?.ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(health?.status).toBe(200);
    expect(await health!.text()).toBe('ok\n');
    const page = await fetch(url('/'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>lab.local/nginx</h1>');
    expect((await fetch(url('/nothing-here'))).status).toBe(404);
    expect(uidsOf(taskPids('nginx')).sort((a, b) => a - b)).toEqual([0, 33]);
  }, 60_000);

  test('redis runs under runc as uid 999 and answers PING once the client has its password', async () => {
    const password = `lab-${process.pid}`;
    const args = ['/usr/bin/redis-server', '/etc/redis/redis.conf', '--bind', '127.0.0.1', '--port', String(redisImagePort), '--requirepass', password];
    const started = ctr('run', '-d', '--net-host', imageOf('redis').ref, 'redis', ...args);
    expect(started.status, started.stderr).toBe(0);
    let replies: string[] = [];
    for (let i = 0; i < 50 && !replies.length; i++) {
      replies = await redisSay(redisImagePort, [['PING'], ['AUTH', password], ['PING'], ['SET', 'k', 'v'], ['EXISTS', 'k']]).catch(() => []);
      if (!replies.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(replies).toEqual([expect.stringMatching(/^-NOAUTH/), '+OK', '+PONG', '+OK', ':1']);
    expect((await redisSay(redisImagePort, [['AUTH', 'wrong']]))[0]).toMatch(/^-WRONGPASS/);
    expect(uidsOf(taskPids('redis'))).toEqual([999]);
  }, 60_000);

  test('stopping leaves no shim, container process or mount behind', async () => {
    await stopAll();
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = spawnSync('pgrep', ['-af', dir], { encoding: 'utf8' }).stdout.trim();
      if (!left) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left, 'processes still running from the test containerd').toBe('');
    expect(containerPids.size).toBeGreaterThan(0);
    expect([...containerPids].filter((pid) => existsSync(`/proc/${pid}`)), 'container processes still running').toEqual([]);
    expect(spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).stdout.split('\n').filter((m) => m.startsWith(dir))).toEqual([]);
    expect(namespaceCgroup.dirs().filter((d) => existsSync(d)), 'cgroup directories of the test namespace').toEqual([]);
  }, 30_000);
});
