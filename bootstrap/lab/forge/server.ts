/**
 * The lab's git server ("forge"), standing in for GitHub in the gitops suite: smart HTTP clone, fetch and push of
 * the bare repositories under reposDir (through `git http-backend`), and a GitHub-format signed `push` webhook
 * after every push, reported by each repository's post-receive hook to a loopback-only callback.
 *
 *   public listener   /<name>.git/...      git smart HTTP
 *                     GET /-/deliveries    recent deliveries, oldest first (?after=<sha> keeps that push's)
 *                     GET /-/healthz       200 ok
 *   127.0.0.1:hookPort  POST /post-receive  the hook's report; answers with the lines the pusher sees
 *
 * Runs inside the forge namespace: `clusterproof lab git-server --listen 198.18.40.10:80 ...`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import { serveGitHttpBackend } from './cgi.ts';
import { readDeliveries } from './deliveries.ts';
import { FORGE_ACCOUNT } from './git.ts';
import { HOOK_CALLBACK_PATH, type PostReceiveReport } from './hook-script.ts';
import { handlePostReceive, type WebhookTarget } from './post-receive.ts';
import { prepareServedRepositories } from './repository.ts';

export interface GitServerOptions {
  listenHost: string;
  /** 0 picks a free port */
  port: number;
  reposDir: string;
  webhook: WebhookTarget | undefined;
  deliveriesFile: string;
  /** loopback port for the hook callback; 0 picks a free port */
  hookPort: number;
  /** the base URL clients use, e.g. http://198.18.40.10: html_url and clone_url are built on it */
  publicBaseUrl: string;
  log?: (msg: string) => void;
}

export interface GitServer {
  /** http://<host>:<port> actually listened on */
  url: string;
  port: number;
  hookPort: number;
  /** the repositories served (names with .git), each with its hook installed */
  repositories: string[];
  close(): Promise<void>;
}

const MAX_REPORT_BYTES = 1024 * 1024;

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((ok) => {
    if (!server.listening) return ok();
    server.close(() => ok());
    server.closeAllConnections();
  });
}

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) req.destroy(new Error(`body over ${limit} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const log = opts.log ?? ((m: string) => console.log(`${new Date().toISOString()} git-server: ${m}`));
  const reposDir = resolve(opts.reposDir);
  const ctx = { reposDir, publicBaseUrl: opts.publicBaseUrl, webhook: opts.webhook, deliveriesFile: opts.deliveriesFile, log };

  const hookServer = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== HOOK_CALLBACK_PATH) return text(res, 404, 'not found\n');
    readBody(req, MAX_REPORT_BYTES)
      .then((body) => handlePostReceive(ctx, JSON.parse(body) as PostReceiveReport))
      .then((lines) => text(res, 200, lines))
      .catch((err: Error) => {
        log(`post-receive report: ${err.message}`);
        if (!res.headersSent) text(res, 500, err.message);
      });
  });

  const publicServer = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://forge.invalid');
    } catch {
      return text(res, 400, 'malformed URL\n');
    }
    if (url.pathname === '/-/healthz') return text(res, 200, 'ok\n');
    if (url.pathname === '/-/deliveries') {
      if (req.method !== 'GET') return text(res, 405, 'method not allowed\n');
      readDeliveries(opts.deliveriesFile, { after: url.searchParams.get('after') ?? undefined })
        .then((records) => text(res, 200, JSON.stringify(records), 'application/json'))
        .catch((err: Error) => text(res, 500, `${err.message}\n`));
      return;
    }
    serveGitHttpBackend(req, res, { projectRoot: reposDir, remoteUser: FORGE_ACCOUNT, log });
  });

  const hookPort = await listen(hookServer, '127.0.0.1', opts.hookPort);
  let port: number;
  try {
    port = await listen(publicServer, opts.listenHost, opts.port);
  } catch (err) {
    await closeServer(hookServer);
    throw err;
  }
  let repositories: string[];
  try {
    // the hooks name the callback's actual port, so they are written once it listens
    repositories = await prepareServedRepositories(reposDir, hookPort);
  } catch (err) {
    await Promise.all([closeServer(hookServer), closeServer(publicServer)]);
    throw err;
  }
  const host = opts.listenHost.includes(':') ? `[${opts.listenHost}]` : opts.listenHost;
  log(
    `serving ${repositories.join(', ') || 'no repositories'} from ${reposDir} on http://${host}:${port} ` +
      `(hook callback 127.0.0.1:${hookPort}; webhook ${opts.webhook ? opts.webhook.url : 'none'})`,
  );
  return {
    url: `http://${host}:${port}`,
    port,
    hookPort,
    repositories,
    close: async () => {
      await Promise.all([closeServer(publicServer), closeServer(hookServer)]);
    },
  };
}

/** `host:port` or `[v6]:port` as the CLI takes it. */
export function parseListenAddress(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UserError(`--listen ${listen}: expected host:port, e.g. 198.18.40.10:80`);
  return { host: (m[1] ?? m[2])!, port };
}
