/**
 * The lab's own images: an OCI archive is deterministic and self-consistent (index -> manifest -> config and layer,
 * every digest matching its blob); and, where containerd, its shim and runc are built (opt-in: `lab build --only
 * containerd,runc`) and we are root, a real containerd imports the images and runs the guestbook, which stores and
 * reads its entries in a real redis. Everything listens on 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { extract } from 'tar-stream';
import { isUpToDate } from '../../bootstrap/lab/build/go-build.ts';
import { COMPONENTS } from '../../bootstrap/lab/build/components.ts';
import { buildLabImages, type BuiltImage } from '../../bootstrap/lab/images/lab-images.ts';
import { ociArchive } from '../../bootstrap/lab/images/oci-archive.ts';
import { buildPaths } from '../../core/build-cache.ts';

async function untar(archive: Buffer): Promise<Map<string, { content: Buffer; mode: number; mtime?: Date; uid?: number }>> {
  const files = new Map<string, { content: Buffer; mode: number; mtime?: Date; uid?: number }>();
  const x = extract();
  const done = new Promise<void>((resolve, reject) => {
    x.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        files.set(header.name, { content: Buffer.concat(chunks), mode: header.mode ?? 0, mtime: header.mtime, uid: header.uid });
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
});

const runtime = ['containerd', 'runc'].map((n) => COMPONENTS.find((c) => c.name === n)!);
const notReady = process.getuid?.() !== 0 ? 'needs root (containerd)' : undefined;

describe('the images in a real containerd', async () => {
  const unbuilt: string[] = [];
  for (const c of runtime) if (!(await isUpToDate(c)).upToDate) unbuilt.push(c.name);
  const skip = notReady ?? (unbuilt.length ? `not built: ${unbuilt.join(', ')} (opt-in: node bin/clusterproof.mjs lab build --only ${unbuilt.join(',')})` : undefined);
  if (skip) {
    test.skip(`skipped: ${skip}`, () => undefined);
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'clusterproof-containerd-'));
  const sock = join(dir, 'containerd.sock');
  const PATH = `${buildPaths.binDir(runtime[0]!)}:${buildPaths.binDir(runtime[1]!)}:${process.env.PATH}`;
  const ctr = (...args: string[]) => spawnSync(join(buildPaths.binDir(runtime[0]!), 'ctr'), ['--address', sock, '--namespace', 'clusterproof-test', ...args], { encoding: 'utf8', env: { ...process.env, PATH }, timeout: 60_000 });
  let containerd: ChildProcess;
  let redis: ChildProcess;
  let images: BuiltImage[] = [];
  const redisPort = 16379 + (process.pid % 1000);
  const webPort = 13000 + (process.pid % 1000);

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

  /** Stop the task, containerd and redis; idempotent, so the last test and afterAll can both call it. */
  const stopAll = async () => {
    ctr('task', 'kill', '--signal', 'SIGKILL', 'guestbook');
    for (let i = 0; i < 50 && ctr('task', 'list').stdout.includes('guestbook'); i++) {
      ctr('task', 'delete', 'guestbook');
      await new Promise((r) => setTimeout(r, 100));
    }
    ctr('container', 'delete', 'guestbook');
    for (const p of [containerd, redis]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
    }
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
    const guestbook = images.find((i) => i.ref.startsWith('lab.local/guestbook'))!;
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

  test('stopping leaves no shim, container process or mount behind', async () => {
    await stopAll();
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = spawnSync('pgrep', ['-af', dir], { encoding: 'utf8' }).stdout.trim();
      if (!left) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left, 'processes still running from the test containerd').toBe('');
    expect(spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).stdout.split('\n').filter((m) => m.startsWith(dir))).toEqual([]);
  }, 30_000);
});
