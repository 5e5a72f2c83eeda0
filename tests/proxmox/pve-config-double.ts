/**
 * A contract-checked test double for GET /nodes/{node}/qemu/{vmid}/config, which the shared PVE double
 * (bootstrap/lab/pve-server/pve-server.ts, power routes only) does not serve. Same rules as that
 * double: HTTPS on 127.0.0.1 with a throwaway CA the client pins, every request judged against the PVE 9
 * schema subset first (path, method, parameter names and types), token auth and the method's permission check
 * evaluated as PVE would, and the answer checked against the method's `returns`, including each indexed
 * property (net0, scsi0, ...) against its `x[n]` format. Every exchange is recorded with its violation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkValue, failedPermission, PveContract } from '../../providers/proxmox/contract.ts';
import type { PveServerToken } from '../../bootstrap/lab/pve-server/pve-server.ts';
import { parseTokenAuthorization } from '../../providers/proxmox/token.ts';
import { makeTestPki, type TestPki } from './test-pki.ts';

const CONFIG = '/nodes/{node}/qemu/{vmid}/config';

export interface ConfigExchange {
  method: string;
  path: string;
  template?: string;
  params: Record<string, string>;
  status: number;
  tokenId?: string;
  violation?: string;
}

export class PveConfigDouble {
  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    private readonly pki: TestPki,
    readonly url: string,
    /** "node/vmid" -> the VM config PVE would return; change it to simulate a config edit */
    readonly configs: Map<string, Record<string, unknown>>,
    /** every exchange, in order */
    readonly requests: ConfigExchange[],
  ) {}

  static async start(opts: { configs: Record<string, Record<string, unknown>>; tokens: PveServerToken[] }): Promise<PveConfigDouble> {
    const contract = PveContract.load();
    const pki = makeTestPki();
    const configs = new Map(Object.entries(opts.configs));
    const requests: ConfigExchange[] = [];

    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const method = (req.method ?? 'GET').toUpperCase();
      const url = new URL(req.url ?? '/', 'https://pve.invalid');
      const path = url.pathname.replace(/^\/api2\/json/, '');
      const params = Object.fromEntries(url.searchParams);
      const exchange: ConfigExchange = { method, path, params, status: 0 };
      const answer = (status: number, message: string, data: unknown = null, violation?: string) => {
        exchange.status = status;
        exchange.violation = violation;
        requests.push(exchange);
        res.writeHead(status, message.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 300), { 'content-type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify({ data }));
      };
      if (!url.pathname.startsWith('/api2/json/')) return answer(501, 'not under /api2/json', null, 'not-in-contract');
      if (url.searchParams.size !== Object.keys(params).length) return answer(400, 'parameter given more than once', null, 'invalid-params');
      const verdict = contract.check(method, path, params);
      exchange.template = verdict.template;
      if (!verdict.ok && verdict.status === 501) return answer(501, verdict.message, null, `not-in-contract: ${verdict.message}`);

      const auth = parseTokenAuthorization(req.headers.authorization);
      if (!auth.ok) return answer(401, `No ticket (${auth.reason})`, null, 'bad-auth-header');
      const token = opts.tokens.find((t) => t.id === auth.token.id && t.secret === auth.secret);
      if (!token) return answer(401, 'authentication failure');
      exchange.tokenId = token.id;

      if (!verdict.ok) return answer(400, verdict.message, null, `invalid-params: ${JSON.stringify(verdict.errors)}`);
      const all = { ...params, ...verdict.pathParams };
      const denied = failedPermission(verdict.schema, all, (_o, privilege) => !token.privileges || token.privileges.includes(privilege));
      if (denied) return answer(403, `Permission check failed (${denied})`);
      if (`${method} ${verdict.template}` !== `GET ${CONFIG}`) return answer(501, `${method} ${verdict.template} is in the contract but not served here`, null, 'not-served');

      const data = configs.get(`${all.node}/${all.vmid}`);
      if (!data) return answer(500, `Configuration file 'nodes/${all.node}/qemu-server/${all.vmid}.conf' does not exist`);
      const problems = [...contract.checkReturns(method, verdict.template, data), ...indexedProblems(contract, data)];
      answer(200, 'OK', data, problems.length ? `bad-response: ${problems.join('; ')}` : undefined);
    };

    const server = createServer({ cert: pki.certPem, key: pki.keyPem }, handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new PveConfigDouble(server, pki, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, configs, requests);
  }

  get caFile(): string {
    return this.pki.caFile;
  }

  get caPem(): string {
    return this.pki.caPem;
  }

  get violations(): ConfigExchange[] {
    return this.requests.filter((r) => r.violation);
  }

  assertNoViolations(): void {
    const v = this.violations;
    if (v.length) throw new Error(`requests the PVE contract does not allow:\n${v.map((r) => `  ${r.method} ${r.path} ${JSON.stringify(r.params)} -> ${r.status} ${r.violation}`).join('\n')}`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.pki.remove();
  }
}

/** Indexed properties (net0, scsi1, ...) of a returned config against their `x[n]` schema, which checkReturns skips. */
function indexedProblems(contract: PveContract, data: Record<string, unknown>): string[] {
  const props = contract.schemaFor('GET', CONFIG)?.returns?.properties ?? {};
  return Object.entries(data).flatMap(([key, value]) => {
    const m = /^([a-z]+)(\d+)$/.exec(key);
    const schema = m ? props[`${m[1]}[n]`] : undefined;
    if (!schema) return [];
    if (typeof value !== 'string') return [`${key}: expected a string`];
    const problem = checkValue(schema, value);
    return problem ? [`${key}: ${problem}`] : [];
  });
}
