/**
 * A small Proxmox VE API client: API-token auth, the cluster CA pinned from a PEM file, form-encoded writes,
 * `{data}` unwrapping, per-request timeouts, retries of transient failures, and task (UPID) polling.
 * Only paths of the PVE schema subset (pve-api-subset.json) are used.
 *
 * Every destination passes the network guard first: loopback, the lab range while the lab is up, anything
 * else only with `allowRemote` (a CLI run against a real homelab profile).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { UserError } from '../../core/errors.ts';
import { assertDestination } from '../../core/safety/destinations.ts';
import { PveApiError, PveAuthError, PveTaskError, PveTaskTimeoutError, PveTimeoutError } from './api-errors.ts';
import type { PveClusterResource, PveTaskLogLine, PveTaskStatus, PveVersion, PveVmStatus } from './api-types.ts';
import { parseTokenId, tokenAuthorizationHeader } from './token.ts';
import { parseUpid } from './upid.ts';

export interface ProxmoxClientOptions {
  /** https://HOST:8006 (port 8006 when none is given), optionally ending in /api2/json */
  url: string;
  /** USER@REALM!TOKENID */
  tokenId: string;
  /** the token's UUID secret */
  tokenSecret: string;
  /** PEM of the CA to trust instead of the system store (PVE: /etc/pve/pve-root-ca.pem) */
  ca?: string | Buffer;
  /** a file holding that PEM; `ca` wins when both are given */
  caFile?: string;
  /** skip certificate verification: loudly warned about, never silent; excludes ca/caFile */
  insecure?: boolean;
  /** permit destinations outside loopback and the lab */
  allowRemote?: boolean;
  /** per request, including reading the answer (default 30 s) */
  requestTimeoutMs?: number;
  /** retries of transient failures (default 3) */
  retries?: number;
  /** first backoff delay (default 250 ms, doubling) */
  retryMinTimeoutMs?: number;
  /** task status polling interval (default 1 s) */
  taskPollMs?: number;
  /** where the insecure warning goes (default stderr) */
  warn?: (message: string) => void;
}

export type PveParamValue = string | number | boolean | undefined;
export type PveParams = Record<string, PveParamValue>;
export type PveMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot' | 'suspend' | 'resume';

/** Which privilege a 403 most likely means is missing, for the error message. */
export interface PrivilegeHint {
  privilege: string;
  object: string;
}

/** Node's codes for a certificate that does not verify. */
export const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const RETRIED_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Success as PVE means it (PVE::Tools::upid_status_is_error): OK, or OK with warnings. */
export function isTaskSuccess(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}

function encodeParams(params: PveParams | undefined): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    form.append(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return form.toString();
}

const seg = (s: string | number) => encodeURIComponent(String(s));

export class ProxmoxClient {
  readonly baseUrl: string;
  readonly tokenId: string;
  private readonly authorization: string;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryMinTimeoutMs: number;
  private readonly taskPollMs: number;

  constructor(opts: ProxmoxClientOptions) {
    const url = parseApiUrl(opts.url);
    // the guard runs before anything else: no socket is ever opened to a refused address
    assertDestination(url.hostname, { allowRemote: opts.allowRemote });
    if (!parseTokenId(opts.tokenId)) {
      throw new UserError(`access.proxmox.tokenId: "${opts.tokenId}" is not an API token id; expected USER@REALM!TOKENID, e.g. root@pam!clusterproof`);
    }
    const secret = opts.tokenSecret.trim();
    if (secret === '' || /\s/.test(secret)) throw new UserError('access.proxmox.tokenSecret: the token secret is empty or contains whitespace');
    if (opts.insecure && (opts.ca || opts.caFile)) {
      throw new UserError('access.proxmox: give either caFile (pin the cluster CA) or insecure, not both');
    }

    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port;
    this.basePath = url.path;
    this.baseUrl = `https://${url.hostname}:${url.port}${url.path}`;
    this.tokenId = opts.tokenId;
    this.authorization = tokenAuthorizationHeader(opts.tokenId, secret);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.retryMinTimeoutMs = opts.retryMinTimeoutMs ?? 250;
    this.taskPollMs = opts.taskPollMs ?? 1000;

    if (opts.insecure) {
      const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
      warn(
        `WARNING: TLS certificate verification is DISABLED for the Proxmox API at ${this.baseUrl} (insecure). ` +
          `Anyone on the network path can impersonate Proxmox and capture the API token ${this.tokenId}. ` +
          `Pin the cluster CA instead: access.proxmox.caFile (copy /etc/pve/pve-root-ca.pem from a PVE node).`,
      );
    }
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: opts.insecure ? undefined : (opts.ca ?? (opts.caFile ? readCaFile(opts.caFile) : undefined)),
      rejectUnauthorized: !opts.insecure,
    });
  }

  /** Close idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** GET /version */
  version(): Promise<PveVersion> {
    return this.call('GET', '/version');
  }

  /** GET /cluster/resources?type=... */
  clusterResources(filter: { type?: 'vm' | 'storage' | 'node' | 'sdn' } = {}): Promise<PveClusterResource[]> {
    return this.call('GET', '/cluster/resources', { type: filter.type });
  }

  /** GET /nodes/{node}/qemu/{vmid}/status/current */
  vmStatus(node: string, vmid: number): Promise<PveVmStatus> {
    return this.call('GET', `${vmPath(node, vmid)}/status/current`, undefined, { privilege: 'VM.Audit', object: `/vms/${vmid}` });
  }

  /** POST .../status/start; resolves with the task's UPID */
  vmStart(node: string, vmid: number, opts: { timeoutS?: number } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'start', { timeout: opts.timeoutS });
  }

  /** POST .../status/stop: hard power-off, "akin to pulling the power plug" */
  vmStop(node: string, vmid: number, opts: { timeoutS?: number; skiplock?: boolean; overruleShutdown?: boolean } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'stop', {
      timeout: opts.timeoutS,
      skiplock: opts.skiplock,
      'overrule-shutdown': opts.overruleShutdown,
    });
  }

  /** POST .../status/shutdown: ACPI power button; forceStop stops the VM if it is still up after the timeout */
  vmShutdown(node: string, vmid: number, opts: { timeoutS?: number; forceStop?: boolean } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'shutdown', { timeout: opts.timeoutS, forceStop: opts.forceStop });
  }

  /** POST .../status/reboot: shutdown, then start */
  vmReboot(node: string, vmid: number, opts: { timeoutS?: number } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'reboot', { timeout: opts.timeoutS });
  }

  /**
   * POST .../status/suspend: pause the VM where it stands (to RAM; its QEMU process keeps running). `todisk`
   * hibernates instead, its state on `statestorage` (which PVE accepts only with todisk).
   */
  vmSuspend(node: string, vmid: number, opts: { skiplock?: boolean; todisk?: boolean; statestorage?: string } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'suspend', { skiplock: opts.skiplock, todisk: opts.todisk, statestorage: opts.statestorage });
  }

  /** POST .../status/resume: a paused (or hibernated) VM runs on */
  vmResume(node: string, vmid: number, opts: { skiplock?: boolean; nocheck?: boolean } = {}): Promise<string> {
    return this.powerTask(node, vmid, 'resume', { skiplock: opts.skiplock, nocheck: opts.nocheck });
  }

  /** GET /nodes/{node}/tasks/{upid}/status */
  taskStatus(node: string, upid: string): Promise<PveTaskStatus> {
    return this.call('GET', `/nodes/${seg(node)}/tasks/${seg(upid)}/status`);
  }

  /** GET /nodes/{node}/tasks/{upid}/log */
  taskLog(node: string, upid: string, opts: { start?: number; limit?: number } = {}): Promise<PveTaskLogLine[]> {
    return this.call('GET', `/nodes/${seg(node)}/tasks/${seg(upid)}/log`, { start: opts.start, limit: opts.limit });
  }

  /**
   * Poll a task until it has stopped. Resolves with its final status when it succeeded; throws PveTaskError
   * (exit status and the end of the task log) when it failed, PveTaskTimeoutError when it outlived timeoutMs.
   */
  async waitTask(node: string, upid: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<PveTaskStatus> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const pollMs = opts.pollMs ?? this.taskPollMs;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const status = await this.taskStatus(node, upid);
      if (status.status === 'stopped') {
        if (isTaskSuccess(status.exitstatus)) return status;
        const log = await this.taskLog(node, upid, { limit: 500 }).then(
          (lines) => lines.slice(-10).map((l) => l.t),
          () => [],
        );
        throw new PveTaskError(upid, status, log);
      }
      if (performance.now() + pollMs > deadline) throw new PveTaskTimeoutError(upid, timeoutMs, status);
      await sleep(pollMs);
    }
  }

  /** One API call below /api2/json, retried while the failure is transient; resolves with `data`. */
  call<T>(method: PveMethod, path: string, params?: PveParams, hint?: PrivilegeHint): Promise<T> {
    return pRetry(() => this.once<T>(method, path, params, hint), {
      retries: this.retries,
      minTimeout: this.retryMinTimeoutMs,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => isTransient(error, method),
    });
  }

  private async powerTask(node: string, vmid: number, action: PowerAction, params: PveParams): Promise<string> {
    const path = `${vmPath(node, vmid)}/status/${action}`;
    const upid = await this.call<unknown>('POST', path, params, { privilege: 'VM.PowerMgmt', object: `/vms/${vmid}` });
    if (typeof upid !== 'string' || !parseUpid(upid)) {
      throw new PveApiError({ method: 'POST', path, status: 200, statusMessage: `expected a task UPID, got ${JSON.stringify(upid)}` });
    }
    return upid;
  }

  private once<T>(method: PveMethod, path: string, params: PveParams | undefined, hint: PrivilegeHint | undefined): Promise<T> {
    const encoded = encodeParams(params);
    const hasBody = method === 'POST' || method === 'PUT';
    const fullPath = `${this.basePath}${path}${!hasBody && encoded ? `?${encoded}` : ''}`;
    const headers: Record<string, string | number> = { authorization: this.authorization, accept: 'application/json' };
    if (hasBody) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(encoded);
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { host: this.host, port: this.port, path: fullPath, method, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            let body: { data?: unknown; errors?: Record<string, string>; message?: string } | undefined;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              body = undefined;
            }
            if (status >= 200 && status < 300 && body && 'data' in body) return resolve(body.data as T);
            const failure = {
              method,
              path,
              status,
              statusMessage: (res.statusMessage || body?.message || (body ? '' : 'answer is not JSON')).trim(),
              errors: body?.errors ?? undefined,
            };
            if (status === 401 || status === 403) return reject(new PveAuthError(failure, this.tokenId, hint));
            reject(new PveApiError(failure));
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new PveTimeoutError(method, path, this.timeoutMs)), this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code && TLS_VERIFY_CODES.has(err.code)) {
          reject(
            new UserError(
              `TLS verification of ${this.baseUrl} failed (${err.code}: ${err.message}): pin the Proxmox cluster CA with ` +
                `access.proxmox.caFile (a copy of /etc/pve/pve-root-ca.pem from a PVE node)`,
            ),
          );
          return;
        }
        reject(err);
      });
      req.end(hasBody ? encoded : undefined);
    });
  }
}

/** 5xx (PVE's 595/596 included) and dropped connections are retried; a timed-out write is not repeated. */
function isTransient(err: unknown, method: PveMethod): boolean {
  if (err instanceof PveApiError) return err.status >= 500;
  if (err instanceof PveTimeoutError) return method === 'GET';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && RETRIED_NETWORK_CODES.has(code);
}

function vmPath(node: string, vmid: number): string {
  if (!Number.isInteger(vmid)) throw new UserError(`Proxmox vmid must be an integer, got ${vmid}`);
  return `/nodes/${seg(node)}/qemu/${vmid}`;
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`access.proxmox.caFile: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UserError(`access.proxmox.caFile: ${file} holds no PEM certificate (expected a copy of /etc/pve/pve-root-ca.pem)`);
  }
  return pem;
}

function parseApiUrl(raw: string): { hostname: string; port: number; path: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`access.proxmox.url: "${raw}" is not a URL; expected https://HOST:8006`);
  }
  if (url.protocol !== 'https:') throw new UserError(`access.proxmox.url: "${raw}" must use https (Proxmox serves its API on https://HOST:8006)`);
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/api2/json') {
    throw new UserError(`access.proxmox.url: "${raw}" has path ${url.pathname}; expected https://HOST:8006 or https://HOST:8006/api2/json`);
  }
  // URL drops a default :443, so look at what was written
  const explicitPort = /^https:\/\/(\[[^\]]+\]|[^/:]+):(\d+)/i.exec(raw)?.[2];
  return { hostname: url.hostname, port: explicitPort ? Number(explicitPort) : 8006, path: '/api2/json' };
}
