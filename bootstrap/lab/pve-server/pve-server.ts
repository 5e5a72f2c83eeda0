/**
 * A Proxmox-VE-API-shaped HTTPS server for VM power, on 127.0.0.1 only. It serves the subset paths the
 * client uses (version, cluster resources, qemu status/current|start|stop|shutdown|reboot|suspend|resume, task
 * status and log) over a VmPowerBackend, and judges every request against the PVE contract first: a path or method
 * outside the contract is answered 501, bad parameters 400, as PVE words them. Every exchange is reported to
 * `onExchange`, with the contract violation if there was one.
 *
 * Used by the lab (bootstrap/lab/pve-endpoint.ts) and by the project's test double (tests/proxmox).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PveClusterResource, PveVersion, PveVmStatus } from '../../../providers/proxmox/api-types.ts';
import { failedPermission, PveContract } from '../../../providers/proxmox/contract.ts';
import { parseTokenAuthorization } from '../../../providers/proxmox/token.ts';
import { parseUpid } from '../../../providers/proxmox/upid.ts';
import { TaskRegistry } from './tasks.ts';

export interface VmPowerBackend {
  list(): Array<{ vmid: number; name: string }>;
  /** paused: suspended by `suspend`, still holding its state (PVE answers status running, qmpstatus paused) */
  status(vmid: number): 'running' | 'paused' | 'stopped';
  start(vmid: number): Promise<void>;
  /** hard power-off; also of a paused VM */
  stop(vmid: number): Promise<void>;
  /** graceful; rejects when the guest is still up after timeoutS */
  shutdown(vmid: number, timeoutS: number): Promise<void>;
  /** pause a running VM where it stands (to RAM); nothing to do when it is paused already */
  suspend(vmid: number): Promise<void>;
  /** a paused VM runs on; nothing to do when it runs */
  resume(vmid: number): Promise<void>;
}

export interface PveServerToken {
  /** USER@REALM!TOKENID */
  id: string;
  secret: string;
  /** privileges the token holds on every ACL object; all when absent */
  privileges?: string[];
}

export type PveViolationKind =
  /** path or method not in the schema subset, or not under /api2/json */
  | 'not-in-contract'
  /** a parameter the schema does not declare, or of the wrong type, enum, pattern, range; or a required one missing */
  | 'invalid-params'
  /** no Authorization header, or not PVEAPIToken=USER@REALM!TOKENID=UUID */
  | 'bad-auth-header'
  /** write parameters not form-encoded in the body, or a body on a read */
  | 'bad-encoding'
  /** allowed by the contract but this server does not implement it */
  | 'not-served'
  /** this server answered something the contract's `returns` does not allow */
  | 'bad-response';

export interface PveViolation {
  kind: PveViolationKind;
  message: string;
  errors?: Record<string, string>;
}

export interface PveExchange {
  method: string;
  /** below /api2/json when it was under it, else the raw path */
  path: string;
  template?: string;
  params: Record<string, string | string[]>;
  /** HTTP status answered; 0 when the connection was dropped or left hanging on purpose */
  status: number;
  tokenId?: string;
  violation?: PveViolation;
}

export interface PveServerOptions {
  /** the PVE node name this server answers for */
  node: string;
  backend: VmPowerBackend;
  cert: string | Buffer;
  key: string | Buffer;
  /** 0 (default) picks a free port */
  port?: number;
  tokens: PveServerToken[];
  contract?: PveContract;
  version?: PveVersion;
  /** shutdown timeout when the request gives none (default 60 s) */
  defaultShutdownTimeoutS?: number;
  onExchange?: (exchange: PveExchange) => void;
  /**
   * For tests: called for a request that passed every check, before it is served. Return an HTTP status to
   * answer with instead, 'reset' to drop the connection, or 'hang' to never answer.
   */
  intercept?: (request: { method: string; path: string; template: string }) => number | 'reset' | 'hang' | undefined;
  /**
   * More routes of the contract subset (keyed "METHOD template", e.g. "POST /nodes/{node}/qemu"), served after
   * the same contract, auth and permission checks; a key that is also a power route replaces it. Used by test
   * doubles that simulate more than power (tests/bootstrap).
   */
  extraRoutes?: (server: { node: string; tasks: TaskRegistry }) => Record<string, PveRoute>;
}

export interface PveServer {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An error answer with PVE's status and wording. */
export class PveHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface PveRouteRequest {
  params: Record<string, string>;
  user: string;
}
export type PveRoute = (r: PveRouteRequest) => unknown;
type Route = PveRoute;

const MAX_BODY = 1 << 20;
const REASONS: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 595: 'Connection refused', 596: 'Broken pipe' };

export async function startPveServer(opts: PveServerOptions): Promise<PveServer> {
  const contract = opts.contract ?? PveContract.load();
  const tasks = new TaskRegistry(opts.node);
  const routes = { ...powerRoutes(opts, tasks), ...opts.extraRoutes?.({ node: opts.node, tasks }) };

  const server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ data: null }));
      process.stderr.write(`pve-server: ${(err as Error).stack ?? String(err)}\n`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://pve.invalid');
    const exchange: PveExchange = { method, path: url.pathname, params: {}, status: 0 };
    const answer = (status: number, message: string, data: unknown = null, errors?: Record<string, string>) => {
      exchange.status = status;
      res.writeHead(status, reasonPhrase(message), { 'content-type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify(errors ? { data, errors } : { data }));
      opts.onExchange?.(exchange);
    };
    const violate = (kind: PveViolationKind, status: number, message: string, errors?: Record<string, string>) => {
      exchange.violation = { kind, message, errors };
      answer(status, message, null, errors);
    };

    const body = await readBody(req);
    if (!url.pathname.startsWith('/api2/json/')) {
      return violate('not-in-contract', 501, `not in contract: only /api2/json/... is served, got ${url.pathname}`);
    }
    const path = url.pathname.slice('/api2/json'.length);
    exchange.path = path;

    const writes = method === 'POST' || method === 'PUT';
    exchange.params = collect(writes ? new URLSearchParams(body) : url.searchParams);
    if (writes && url.search !== '') {
      return violate('bad-encoding', 400, `${method} parameters belong in a form-encoded body, not in the query string`);
    }
    if (writes && body !== '' && !/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return violate('bad-encoding', 400, `${method} body must be application/x-www-form-urlencoded, got ${req.headers['content-type'] ?? 'no content-type'}`);
    }
    if (!writes && body !== '') return violate('bad-encoding', 400, `${method} takes its parameters in the query string, not a body`);

    const verdict = contract.check(method, path, exchange.params);
    exchange.template = verdict.template;
    if (!verdict.ok && verdict.status === 501) return violate('not-in-contract', 501, verdict.message);

    const auth = parseTokenAuthorization(req.headers.authorization);
    if (!auth.ok) return violate('bad-auth-header', 401, `No ticket (${auth.reason})`);
    const token = opts.tokens.find((t) => t.id === auth.token.id);
    if (!token || !sameSecret(token.secret, auth.secret)) return answer(401, 'authentication failure');
    exchange.tokenId = token.id;

    if (!verdict.ok) return violate('invalid-params', 400, verdict.message, verdict.errors);
    const params = { ...(exchange.params as Record<string, string>), ...verdict.pathParams };

    const denied = failedPermission(verdict.schema, params, (_object, privilege) => !token.privileges || token.privileges.includes(privilege));
    if (denied) return answer(403, `Permission check failed (${denied})`);

    const injected = opts.intercept?.({ method, path, template: verdict.template });
    if (injected === 'reset' || injected === 'hang') {
      opts.onExchange?.(exchange);
      if (injected === 'reset') req.socket.destroy();
      return;
    }
    if (injected !== undefined) return answer(injected, REASONS[injected] ?? 'simulated failure');

    const route = routes[`${method} ${verdict.template}`];
    if (!route) return violate('not-served', 501, `Method '${method} ${verdict.template}' is in the contract but not served here`);
    let data: unknown;
    try {
      data = await route({ params, user: token.id });
    } catch (err) {
      if (err instanceof PveHttpError) return answer(err.status, err.message, null, err.errors);
      return answer(500, (err as Error).message ?? String(err));
    }
    const problems = contract.checkReturns(method, verdict.template, data);
    if (problems.length > 0) exchange.violation = { kind: 'bad-response', message: problems.join('; ') };
    answer(200, 'OK', data);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function powerRoutes(opts: PveServerOptions, tasks: TaskRegistry): Record<string, Route> {
  const { node, backend } = opts;
  const version = opts.version ?? { version: '9.1.1', release: '9.1', repoid: 'c0ffee42' };
  const shutdownDefaultS = opts.defaultShutdownTimeoutS ?? 60;

  const onThisNode = (p: Record<string, string>) => {
    if (p.node !== node) {
      throw new PveHttpError(500, `hostname lookup '${p.node}' failed - failed to get address info for: ${p.node}: Name or service not known`);
    }
  };
  const vmOf = (p: Record<string, string>) => {
    onThisNode(p);
    const vmid = Number(p.vmid);
    const vm = backend.list().find((v) => v.vmid === vmid);
    if (!vm) throw new PveHttpError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  };
  // PVE's `status` is the QEMU process, which a paused VM keeps; the pause shows only in qmpstatus
  const processStatus = (vmid: number) => (backend.status(vmid) === 'stopped' ? 'stopped' : 'running');
  const vmResource = (v: { vmid: number; name: string }): PveClusterResource => ({
    id: `qemu/${v.vmid}`,
    type: 'qemu',
    vmid: v.vmid,
    name: v.name,
    node,
    status: processStatus(v.vmid),
    template: 0,
  });
  // qemu-server refuses these before starting a task, so they are API errors, not failed tasks
  const mustRun = (vmid: number) => {
    if (backend.status(vmid) === 'stopped') throw new PveHttpError(500, `VM ${vmid} not running`);
  };
  const qemu = '/nodes/{node}/qemu/{vmid}/status';
  const seconds = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));

  return {
    'GET /version': () => version,
    'GET /cluster/resources': ({ params }) => {
      const nodeEntry: PveClusterResource = { id: `node/${node}`, type: 'node', node, status: 'online' };
      const vms = backend.list().map(vmResource);
      if (params.type === undefined) return [nodeEntry, ...vms];
      return params.type === 'vm' ? vms : params.type === 'node' ? [nodeEntry] : [];
    },
    [`GET ${qemu}/current`]: ({ params }) => {
      const vm = vmOf(params);
      const qmpstatus = backend.status(vm.vmid);
      const current: PveVmStatus & { ha: { managed: 0 } } = { vmid: vm.vmid, name: vm.name, status: processStatus(vm.vmid), qmpstatus, ha: { managed: 0 } };
      return current;
    },
    [`POST ${qemu}/start`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      return tasks.start('qmstart', String(vmid), user, async () => {
        if (backend.status(vmid) !== 'stopped') throw new Error(`VM ${vmid} already running`);
        await backend.start(vmid);
      });
    },
    [`POST ${qemu}/stop`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      return tasks.start('qmstop', String(vmid), user, () => backend.stop(vmid));
    },
    [`POST ${qemu}/shutdown`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      const timeoutS = seconds(params.timeout, shutdownDefaultS);
      // a paused guest cannot see the ACPI event: PVE refuses, or stops it outright with forceStop
      if (backend.status(vmid) === 'paused') {
        if (params.forceStop !== '1') throw new PveHttpError(500, 'VM is paused - cannot shutdown');
        return tasks.start('qmshutdown', String(vmid), user, async (log) => {
          log('VM is paused - stop instead of shutdown');
          await backend.stop(vmid);
        });
      }
      return tasks.start('qmshutdown', String(vmid), user, async (log) => {
        if (backend.status(vmid) === 'stopped') return;
        try {
          await backend.shutdown(vmid, timeoutS);
        } catch (err) {
          if (params.forceStop !== '1') throw err;
          log((err as Error).message);
          log('VM still running - terminating now with SIGTERM');
          await backend.stop(vmid);
        }
      });
    },
    [`POST ${qemu}/reboot`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      const timeoutS = seconds(params.timeout, shutdownDefaultS);
      if (backend.status(vmid) === 'paused') throw new PveHttpError(500, 'VM is paused - cannot shutdown');
      return tasks.start('qmreboot', String(vmid), user, async () => {
        if (backend.status(vmid) !== 'running') throw new Error(`VM ${vmid} not running`);
        await backend.shutdown(vmid, timeoutS);
        await backend.start(vmid);
      });
    },
    // to RAM only: PVE names that task qmpause (qmsuspend is the hibernation to disk, which needs a state storage)
    [`POST ${qemu}/suspend`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      mustRun(vmid);
      if (params.todisk === '1') throw new PveHttpError(501, `suspend to disk (todisk) is not implemented by this server`);
      return tasks.start('qmpause', String(vmid), user, () => backend.suspend(vmid));
    },
    [`POST ${qemu}/resume`]: ({ params, user }) => {
      const { vmid } = vmOf(params);
      mustRun(vmid);
      return tasks.start('qmresume', String(vmid), user, () => backend.resume(vmid));
    },
    'GET /nodes/{node}/tasks/{upid}/status': ({ params }) => {
      onThisNode(params);
      return tasks.status(knownUpid(params.upid, tasks));
    },
    'GET /nodes/{node}/tasks/{upid}/log': ({ params }) => {
      onThisNode(params);
      return tasks.log(knownUpid(params.upid, tasks), seconds(params.start, 0), seconds(params.limit, 50));
    },
  };
}

function knownUpid(upid: string, tasks: TaskRegistry): string {
  if (!parseUpid(upid)) throw new PveHttpError(400, `unable to parse worker upid '${upid}'`);
  if (!tasks.status(upid)) throw new PveHttpError(500, `no such task '${upid}'`);
  return upid;
}

function collect(search: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of search) {
    const prev = out[key];
    out[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** PVE sends its message as the HTTP reason phrase, which must be one line of printable ASCII. */
function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 300) || 'error';
}
