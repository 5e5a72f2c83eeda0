/**
 * The lab's git server (bootstrap/lab/forge) on 127.0.0.1, no lab and no root: the stock git client clones and
 * pushes over smart HTTP, and every push reaches a local receiver that plays ArgoCD's /api/webhook (it checks
 * X-Hub-Signature-256 with the shared secret and answers 200, or 400 as ArgoCD does on a bad signature).
 */
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CommandResult } from '../../core/command.ts';
import type { DeliveryRecord } from '../../bootstrap/lab/forge/deliveries.ts';
import { initForgeRepository, SEED_COMMIT_MESSAGE } from '../../bootstrap/lab/forge/repository.ts';
import type { PushEvent } from '../../bootstrap/lab/forge/push-event.ts';
import { startGitServer, type GitServer } from '../../bootstrap/lab/forge/server.ts';
import { projectRoot, runCli } from '../support/cli.ts';

const PUBLIC_BASE = 'http://198.18.40.10'; // only written into payloads: nothing is sent there
const SECRET = 'a-shared-webhook-secret';

let root = '';
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clusterproof-forge-test-'));
  await mkdir(join(root, 'home'));
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

/** The git client's environment: no user or system config, no proxy, no terminal prompt. */
function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_') && !/_proxy$/i.test(k)) env[k] = v;
  return { ...env, HOME: join(root, 'home'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', NO_PROXY: '*', no_proxy: '*' };
}

const git = (cwd: string, ...args: string[]): Promise<CommandResult> =>
  run(['git', '-C', cwd, '-c', 'user.name=Test Pusher', '-c', 'user.email=pusher@example.test', ...args], { env: clientEnv(), timeoutMs: 20_000 });

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  raw: string;
  event: PushEvent;
  accepted: boolean;
}

/** ArgoCD's webhook endpoint as far as signatures go: HMAC-SHA256 of the raw body with the shared secret. */
async function startReceiver(secret: string): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      const accepted = given.length === expected.length && timingSafeEqual(given, expected);
      received.push({ at, headers: req.headers, raw: raw.toString('utf8'), event: JSON.parse(raw.toString('utf8')) as PushEvent, accepted });
      if (accepted) res.writeHead(200).end();
      else res.writeHead(400, { 'content-type': 'text/plain' }).end('Webhook processing failed: HMAC verification failed');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cleanups.push(() => new Promise((ok) => server.close(() => ok())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhook`, received };
}

interface Forge {
  dir: string;
  server: GitServer;
  deliveriesFile: string;
  cloneUrl: string;
  seed: string;
}

let forgeCount = 0;

/** The seed: what bootstrap writes into the gitops repository, in miniature. */
function seedFiles(tree: string): string[] {
  mkdirSync(join(tree, 'apps', 'nginx'), { recursive: true });
  writeFileSync(join(tree, 'README.md'), '# gitops\n');
  writeFileSync(join(tree, 'apps', 'nginx', 'deployment.yaml'), 'kind: Deployment\nspec:\n  replicas: 2\n');
  writeFileSync(join(tree, 'apps', 'nginx', 'service.yaml'), 'kind: Service\n');
  return ['README.md', 'apps'];
}

/** A fresh forge: its own repos dir with a seeded `gitops` repository, signing with `signingSecret`. */
async function startForge(webhookUrl: string | undefined, signingSecret = SECRET): Promise<Forge> {
  const dir = join(root, `forge-${++forgeCount}`);
  const reposDir = join(dir, 'repos');
  const secretFile = join(dir, 'signing-secret');
  await mkdir(dir, { recursive: true });
  await writeFile(secretFile, `${signingSecret}\n`); // with a trailing newline: the server trims it
  const { head } = await initForgeRepository({ reposDir, name: 'gitops', files: seedFiles });
  const deliveriesFile = join(dir, 'deliveries.jsonl');
  const server = await startGitServer({
    listenHost: '127.0.0.1',
    port: 0,
    reposDir,
    webhook: webhookUrl ? { url: webhookUrl, secretFile } : undefined,
    deliveriesFile,
    hookPort: 0,
    publicBaseUrl: PUBLIC_BASE,
    log: () => undefined,
  });
  cleanups.push(() => server.close());
  return { dir, server, deliveriesFile, cloneUrl: `${server.url}/gitops.git`, seed: head };
}

async function deliveries(forge: Forge, after?: string): Promise<DeliveryRecord[]> {
  const res = await fetch(`${forge.server.url}/-/deliveries${after ? `?after=${after}` : ''}`);
  expect(res.status).toBe(200);
  return (await res.json()) as DeliveryRecord[];
}

async function clone(forge: Forge, name: string): Promise<string> {
  const work = join(forge.dir, name);
  await run(['git', 'clone', '--quiet', forge.cloneUrl, work], { env: clientEnv(), timeoutMs: 20_000 });
  return work;
}

async function commitAll(work: string, message: string): Promise<string> {
  await git(work, 'add', '-A');
  await git(work, 'commit', '--quiet', '-m', message);
  return (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
}

/** `git push`, timed; resolves once git exits (after the hook, so after the webhook was answered). */
async function push(work: string, ...args: string[]): Promise<{ started: number; ms: number; stderr: string }> {
  const started = performance.now();
  const { stderr } = await git(work, 'push', ...args);
  return { started, ms: performance.now() - started, stderr };
}

describe('forge: smart HTTP and the GitHub push webhook', () => {
  it('serves a seeded repository: clone over HTTP, health and an empty delivery list', async () => {
    const forge = await startForge(undefined);
    expect(forge.server.repositories).toEqual(['gitops.git']);
    expect(await (await fetch(`${forge.server.url}/-/healthz`)).text()).toBe('ok\n');
    expect(await deliveries(forge)).toEqual([]);
    const work = await clone(forge, 'clone');
    expect((await git(work, 'log', '--format=%H %s')).stdout.trim()).toBe(`${forge.seed} ${SEED_COMMIT_MESSAGE}`);
    expect(await readFile(join(work, 'apps', 'nginx', 'service.yaml'), 'utf8')).toBe('kind: Service\n');
    const hook = await readFile(join(forge.dir, 'repos', 'gitops.git', 'hooks', 'post-receive'), 'utf8');
    expect(hook).toContain(`port: ${forge.server.hookPort}`);
    expect(hook.startsWith('#!/')).toBe(true);
    expect(hook).not.toMatch(/curl/);
  });

  it('a push reaches the receiver as a signed GitHub push event, and is listed in the deliveries', async () => {
    const receiver = await startReceiver(SECRET);
    const forge = await startForge(receiver.url);
    const work = await clone(forge, 'push');

    // one commit that adds a file, modifies one and removes one
    writeFileSync(join(work, 'apps', 'nginx', 'configmap.yaml'), 'kind: ConfigMap\n');
    writeFileSync(join(work, 'apps', 'nginx', 'deployment.yaml'), 'kind: Deployment\nspec:\n  replicas: 3\n');
    await unlink(join(work, 'apps', 'nginx', 'service.yaml'));
    const sha = await commitAll(work, 'nginx: 3 replicas, a configmap, no service');
    const pushed = await push(work, 'origin', 'main');

    expect(pushed.stderr).toContain(`remote: webhook delivered to ${receiver.url}: HTTP 200`);
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    const latencyMs = got!.at - pushed.started;
    console.log(`push -> webhook received: ${latencyMs.toFixed(0)} ms; git push total: ${pushed.ms.toFixed(0)} ms`);
    expect(got!.accepted).toBe(true);
    expect(got!.headers['x-github-event']).toBe('push');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toBe('GitHub-Hookshot/clusterproof');
    expect(got!.headers['x-hub-signature']).toBe(`sha1=${createHmac('sha1', SECRET).update(got!.raw).digest('hex')}`);

    const e = got!.event;
    expect(e).toMatchObject({ ref: 'refs/heads/main', before: forge.seed, after: sha, created: false, deleted: false, forced: false });
    expect(e.repository).toMatchObject({
      name: 'gitops',
      full_name: 'clusterproof/gitops',
      html_url: `${PUBLIC_BASE}/gitops`,
      clone_url: `${PUBLIC_BASE}/gitops.git`,
      default_branch: 'main',
      private: false,
      owner: { login: 'clusterproof', name: 'clusterproof' },
    });
    expect(typeof e.repository.id).toBe('number');
    expect(e.pusher.name).toBe('clusterproof');
    expect(e.sender.login).toBe('clusterproof');
    expect(e.commits).toHaveLength(1);
    const c = e.commits[0]!;
    expect(c).toMatchObject({
      id: sha,
      message: 'nginx: 3 replicas, a configmap, no service',
      url: `${PUBLIC_BASE}/gitops/commit/${sha}`,
      author: { name: 'Test Pusher', email: 'pusher@example.test' },
      committer: { name: 'Test Pusher', email: 'pusher@example.test' },
      added: ['apps/nginx/configmap.yaml'],
      modified: ['apps/nginx/deployment.yaml'],
      removed: ['apps/nginx/service.yaml'],
    });
    expect(c.tree_id).toBe((await git(work, 'rev-parse', 'HEAD^{tree}')).stdout.trim());
    expect(c.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$/);
    expect(e.head_commit).toEqual(c);

    const listed = await deliveries(forge, sha);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: got!.headers['x-github-delivery'], repo: 'gitops', ref: 'refs/heads/main', after: sha, status: 200, ok: true, url: receiver.url });
    expect(listed[0]!.skipped).toBeUndefined();

    // a second push of two commits: both listed oldest first, each with its own files
    writeFileSync(join(work, 'apps', 'nginx', 'service.yaml'), 'kind: Service\n');
    const first = await commitAll(work, 'nginx: the service is back');
    await git(work, 'rm', '--quiet', 'README.md');
    const second = await commitAll(work, 'drop the readme');
    await push(work, 'origin', 'main');
    expect(receiver.received).toHaveLength(2);
    const e2 = receiver.received[1]!.event;
    expect(e2).toMatchObject({ before: sha, after: second });
    expect(e2.commits.map((x) => [x.id, x.added, x.modified, x.removed])).toEqual([
      [first, ['apps/nginx/service.yaml'], [], []],
      [second, [], [], ['README.md']],
    ]);
    expect((await deliveries(forge)).map((d) => d.after)).toEqual([sha, second]);

    // a new branch: created, before is all zeros, the commits reachable from it
    const branch = await push(work, 'origin', 'main:refs/heads/feature');
    expect(branch.stderr).toContain('remote: webhook delivered');
    const e3 = receiver.received[2]!.event;
    expect(e3).toMatchObject({ ref: 'refs/heads/feature', before: '0'.repeat(40), after: second, created: true });
    expect(e3.commits.map((x) => x.id)).toEqual([forge.seed, sha, first, second]);
  });

  it('a wrong signing secret: the receiver answers 400, the delivery is recorded failed, the push still succeeds', async () => {
    const receiver = await startReceiver(SECRET);
    const forge = await startForge(receiver.url, 'not-the-shared-secret');
    const work = await clone(forge, 'wrong-secret');
    writeFileSync(join(work, 'README.md'), '# gitops, edited\n');
    const sha = await commitAll(work, 'edit the readme');
    const pushed = await push(work, 'origin', 'main');

    expect(pushed.stderr).toContain(`remote: webhook REJECTED by ${receiver.url}: HTTP 400 Webhook processing failed: HMAC verification failed`);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.accepted).toBe(false);
    expect((await git(work, 'ls-remote', 'origin', 'refs/heads/main')).stdout).toContain(sha);
    const [d] = await deliveries(forge, sha);
    expect(d).toMatchObject({ status: 400, ok: false, response: 'Webhook processing failed: HMAC verification failed' });
  });

  it('git push -o webhook=skip sends nothing and records the push as skipped', async () => {
    const receiver = await startReceiver(SECRET);
    const forge = await startForge(receiver.url);
    const work = await clone(forge, 'skip');
    writeFileSync(join(work, 'README.md'), '# gitops, quietly\n');
    const sha = await commitAll(work, 'a push the receiver must find by polling');
    const pushed = await push(work, '-o', 'webhook=skip', 'origin', 'main');

    expect(pushed.stderr).toContain('remote: webhook not sent for refs/heads/main: skipped: push option webhook=skip');
    expect(receiver.received).toHaveLength(0);
    expect((await git(work, 'ls-remote', 'origin', 'refs/heads/main')).stdout).toContain(sha);
    const [d] = await deliveries(forge, sha);
    expect(d).toMatchObject({ skipped: true, status: null, ok: false, after: sha, url: receiver.url });
  });

  it('without a webhook configured, a push is recorded as not sent', async () => {
    const forge = await startForge(undefined);
    const work = await clone(forge, 'no-webhook');
    writeFileSync(join(work, 'README.md'), '# gitops, unannounced\n');
    const sha = await commitAll(work, 'nobody listens');
    const pushed = await push(work, 'origin', 'main');
    expect(pushed.stderr).toContain('remote: webhook not sent for refs/heads/main: no webhook configured');
    expect(await deliveries(forge, sha)).toEqual([expect.objectContaining({ skipped: true, response: 'no webhook configured', url: null })]);
  });

  it('gunzips a gzip-encoded request body before git http-backend reads it', async () => {
    const forge = await startForge(undefined);
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const body = gzipSync(`${pkt(`want ${forge.seed} ofs-delta\n`)}0000${pkt('done\n')}`);
    const answer = await new Promise<{ status: number; body: Buffer; type: string }>((ok, fail) => {
      const req = request(
        `${forge.cloneUrl}/git-upload-pack`,
        { method: 'POST', headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: String(res.headers['content-type']) }));
        },
      );
      req.on('error', fail);
      req.end(body);
    });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/x-git-upload-pack-result');
    expect(answer.body.toString('latin1')).toContain('PACK');
  });

  it('answers 404 for a repository that does not exist', async () => {
    const forge = await startForge(undefined);
    const res = await fetch(`${forge.server.url}/nope.git/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(404);
  });
});

describe('clusterproof lab git-server', () => {
  it('serves in the foreground until SIGTERM, then exits 0', async () => {
    const reposDir = join(root, 'cli-repos');
    await initForgeRepository({ reposDir, name: 'gitops', files: seedFiles });
    const child = spawn(
      process.execPath,
      [join(projectRoot, 'bin/clusterproof.mjs'), 'lab', 'git-server', '--listen', '127.0.0.1:0', '--repos', reposDir,
        '--deliveries', join(root, 'cli-deliveries.jsonl'), '--hook-port', '0', '--public-url', PUBLIC_BASE],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(async () => void child.kill('SIGKILL'));
    let output = '';
    const url = await new Promise<string>((ok, fail) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /serving gitops\.git from .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m) ok(m[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => fail(new Error(`git-server exited ${code} before serving:\n${output}`)));
    });
    expect(await (await fetch(`${url}/-/healthz`)).text()).toBe('ok\n');
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a webhook URL without its secret file', async () => {
    const { code, output } = await runCli(['lab', 'git-server', '--listen', '127.0.0.1:0', '--repos', root, '--deliveries', join(root, 'x.jsonl'),
      '--hook-port', '0', '--public-url', PUBLIC_BASE, '--webhook-url', 'http://127.0.0.1:1/api/webhook']);
    expect(code).toBe(2);
    expect(output).toContain('--webhook-url and --webhook-secret-file go together');
  });
});

describe('initForgeRepository', () => {
  it('is idempotent: a second call creates nothing and returns the same head', async () => {
    const reposDir = join(root, 'init-twice');
    const first = await initForgeRepository({ reposDir, name: 'gitops', files: seedFiles, author: { name: 'Seeder', email: 'seed@example.test' } });
    let called = false;
    const second = await initForgeRepository({
      reposDir,
      name: 'gitops',
      files: () => {
        called = true;
      },
    });
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false, head: first.head, path: first.path });
    expect(called).toBe(false);
    const gitDir = join(reposDir, 'gitops.git');
    const bare = (...args: string[]) => run(['git', `--git-dir=${gitDir}`, ...args], { env: clientEnv() }).then((r) => r.stdout.trim());
    expect(await bare('symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(await bare('config', 'http.receivepack')).toBe('true');
    expect(await bare('config', 'receive.advertisePushOptions')).toBe('true');
    expect(await bare('log', '--format=%an <%ae>|%s', 'main')).toBe(`Seeder <seed@example.test>|${SEED_COMMIT_MESSAGE}`);
    expect((await bare('ls-tree', '-r', '--name-only', 'main')).split('\n')).toEqual(['README.md', 'apps/nginx/deployment.yaml', 'apps/nginx/service.yaml']);
  });
});
