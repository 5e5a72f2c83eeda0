/**
 * Git's smart HTTP protocol through Debian's `git http-backend`, run as a CGI program for each request: the request
 * becomes CGI variables and stdin (gunzipped first when git sent it gzip-encoded), the program's output is a CGI
 * header block (Status:, Content-Type, ...) and the body, streamed back as it comes.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import { gitEnv } from './git.ts';

export interface GitBackendOptions {
  /** the directory holding the bare repositories (GIT_PROJECT_ROOT) */
  projectRoot: string;
  /** REMOTE_USER: receive-pack refuses anonymous pushes unless http.receivepack is set; the forge sets both */
  remoteUser: string;
  log: (msg: string) => void;
}

/** A CGI header block's status (the `Status:` line, 200 without one) and the other headers, in order. */
export function parseCgiHeaders(head: string): { status: number; headers: Array<[string, string]> } {
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/** bound on what is held in memory of the backend's header block and stderr */
const MAX_BUFFERED = 64 * 1024;

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

export function serveGitHttpBackend(req: IncomingMessage, res: ServerResponse, o: GitBackendOptions): void {
  const url = new URL(req.url ?? '/', 'http://forge.invalid');
  let pathInfo: string;
  try {
    pathInfo = decodeURIComponent(url.pathname);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed path\n');
    return;
  }
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  const gzipped = encoding === 'gzip' || encoding === 'x-gzip';
  const protocol = req.headers['git-protocol'];
  const env = gitEnv({
    GIT_PROJECT_ROOT: o.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: pathInfo,
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    REMOTE_USER: o.remoteUser,
    ...(typeof protocol === 'string' ? { GIT_PROTOCOL: protocol, HTTP_GIT_PROTOCOL: protocol } : {}),
  });
  // the length of what git http-backend reads: unknown once gunzipped (it then reads to EOF), like a chunked request
  if (!gzipped && req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let failed = false;
  const fail = (status: number, why: string) => {
    if (failed) return;
    failed = true;
    o.log(`${req.method} ${req.url}: ${why}`);
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' }).end(`${why}\n`);
    else res.destroy();
  };
  child.on('error', (err) => fail(500, `git http-backend: ${err.message}`));
  child.stdin.on('error', () => undefined); // the backend may answer (an error) without reading the whole body

  const input = gzipped ? req.pipe(createGunzip()) : req;
  input.on('error', (err) => {
    child.kill();
    fail(400, `bad request body: ${err.message}`);
  });
  input.pipe(child.stdin);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    if (stderr.length < MAX_BUFFERED) stderr += c;
  });

  let head: Buffer | undefined = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    let body = chunk;
    if (head) {
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (!end) {
        if (head.length > MAX_BUFFERED) {
          child.kill();
          fail(502, 'git http-backend sent no end to its CGI headers');
        }
        return;
      }
      const { status, headers } = parseCgiHeaders(head.subarray(0, end.at).toString('latin1'));
      body = head.subarray(end.at + end.length);
      head = undefined;
      res.statusCode = status;
      for (const [name, value] of headers) res.appendHeader(name, value);
    }
    if (body.length && !res.write(body)) {
      child.stdout.pause();
      res.once('drain', () => child.stdout.resume());
    }
  });
  child.on('close', (code, signal) => {
    if (stderr.trim()) o.log(`git http-backend ${req.method} ${url.pathname}: ${stderr.trim()}`);
    if (failed) return;
    if (head) fail(502, `git http-backend exited ${code ?? signal} without a response`);
    else res.end();
  });
  res.on('close', () => {
    if (child.exitCode === null && !res.writableFinished) child.kill();
  });
}
