/**
 * The lab's VIP holder, with Talos' semantics (machined's network operator, vip.go): an etcd election on the
 * node's own etcd member, a session lease of 60 s, the winner adds the address and announces it with
 * gratuitous ARP; it gives the address up when it sees another leader, when its session expires, or on
 * graceful shutdown (resign), so a graceful failover is almost instant and a power loss takes up to the lease.
 *
 * Why not kube-vip: the Go module proxy refuses github.com/kube-vip/kube-vip (403 "not available", every
 * version), so it cannot be built here. The election is etcd's own server-side election service
 * (v3election, the same recipe as clientv3/concurrency that Talos uses), reached through etcd's JSON gateway.
 *
 * Runs inside the node's network namespace: `clusterproof lab vip-agent --node cp1 ...`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { httpsRequest, type TlsFiles } from '../../providers/https-json.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');

export interface VipAgentOptions {
  node: string;
  vip: string;
  prefixLength: number;
  iface: string;
  etcdUrl: string;
  tls: TlsFiles;
  leaseSeconds: number;
  electionKey: string;
  log?: (msg: string) => void;
}

export class VipAgent {
  private leaseId?: string;
  private leaderKey?: unknown;
  private holding = false;
  private stopping = false;
  private lastKeepAlive = 0;

  constructor(private readonly o: VipAgentOptions) {}

  private log(msg: string) {
    (this.o.log ?? ((m: string) => console.log(`${new Date().toISOString()} vip-agent ${this.o.node}: ${m}`)))(msg);
  }

  private async etcd<T>(path: string, body: unknown, timeoutMs = 5000): Promise<T> {
    const res = await httpsRequest(`${this.o.etcdUrl}${path}`, { ...this.o.tls, method: 'POST', body: JSON.stringify(body), timeoutMs });
    // streaming gateway calls answer one JSON object per line; the first one is what we need
    const first = res.body.split('\n').find((l) => l.trim()) ?? '{}';
    const parsed = JSON.parse(first) as { result?: T; error?: { message?: string }; message?: string } & T;
    if (res.status !== 200 || parsed.error) throw new Error(`${path}: HTTP ${res.status} ${parsed.error?.message ?? parsed.message ?? first}`);
    return (parsed.result ?? parsed) as T;
  }

  /** Address changes run one at a time, so a shutdown can never interleave with an add still in flight. */
  private addressOps: Promise<unknown> = Promise.resolve();

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.addressOps.then(op, op);
    this.addressOps = next.catch(() => undefined);
    return next;
  }

  private async addAddress(): Promise<void> {
    const added = await this.serial(async () => {
      if (this.stopping) return false;
      await run('ip', ['addr', 'replace', `${this.o.vip}/${this.o.prefixLength}`, 'dev', this.o.iface]);
      // holding from the moment the address is on the interface, so a shutdown during the announcement removes it
      this.holding = true;
      return true;
    });
    if (!added) return;
    this.log(`holding ${this.o.vip}`);
    // gratuitous ARP so the LAN's neighbour caches follow the move at once
    await run('arping', ['-U', '-c', '2', '-w', '2', '-I', this.o.iface, this.o.vip]).catch((err: Error) =>
      this.log(`gratuitous ARP for ${this.o.vip} failed: ${err.message.split('\n')[0]}`),
    );
  }

  private async removeAddress(why: string, evenIfNotHolding = false): Promise<void> {
    await this.serial(async () => {
      if (!this.holding && !evenIfNotHolding) return;
      await run('ip', ['addr', 'del', `${this.o.vip}/${this.o.prefixLength}`, 'dev', this.o.iface]).catch(() => undefined);
      this.holding = false;
      this.log(`released ${this.o.vip}: ${why}`);
    });
  }

  private async keepAlive(): Promise<boolean> {
    try {
      const r = await this.etcd<{ TTL?: string }>('/v3/lease/keepalive', { ID: this.leaseId }, 3000);
      if (!r.TTL || Number(r.TTL) <= 0) return false;
      this.lastKeepAlive = Date.now();
      return true;
    } catch {
      return Date.now() - this.lastKeepAlive < this.o.leaseSeconds * 1000;
    }
  }

  private async stillLeader(): Promise<boolean> {
    const r = await this.etcd<{ kv?: { value?: string } }>('/v3/election/leader', { name: b64(this.o.electionKey) }, 3000);
    return r.kv?.value === b64(this.o.node);
  }

  /** One term: grant a session, campaign (blocks while another node holds it), hold until the term ends. */
  private async term(): Promise<void> {
    const grant = await this.etcd<{ ID: string }>('/v3/lease/grant', { TTL: this.o.leaseSeconds });
    this.leaseId = grant.ID;
    this.lastKeepAlive = Date.now();
    const keeper = setInterval(() => void this.keepAlive(), (this.o.leaseSeconds * 1000) / 3);
    try {
      this.log(`campaigning for ${this.o.vip} (session ${this.leaseId}, TTL ${this.o.leaseSeconds} s)`);
      const won = await this.etcd<{ leader: unknown }>(
        '/v3/election/campaign',
        { name: b64(this.o.electionKey), lease: this.leaseId, value: b64(this.o.node) },
        this.o.leaseSeconds * 1000 * 10,
      );
      if (this.stopping) return;
      this.leaderKey = won.leader;
      await this.addAddress();
      while (!this.stopping) {
        await sleep(1000);
        if (Date.now() - this.lastKeepAlive > this.o.leaseSeconds * 1000) {
          await this.removeAddress('session expired');
          return;
        }
        const leader = await this.stillLeader().catch(() => true); // our etcd unreachable: keep until the session says otherwise
        if (!leader) {
          await this.removeAddress('another node is leader');
          return;
        }
      }
    } finally {
      clearInterval(keeper);
    }
  }

  async run(): Promise<void> {
    await this.removeStale();
    while (!this.stopping) {
      try {
        await this.term();
      } catch (err) {
        await this.removeAddress(`error: ${(err as Error).message}`);
        if (!this.stopping) await sleep(2000);
      }
    }
  }

  /** A restarted agent must not keep an address a previous incarnation left on the interface. */
  private async removeStale(): Promise<void> {
    this.holding = true;
    await this.removeAddress('start-up cleanup');
  }

  /**
   * Graceful shutdown: drop the address first, then resign so another node takes over at once (in the other
   * order the next leader could announce the VIP while this node still answers for it), then revoke the session.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    // unconditionally: a campaign may have just been won and the address added by the loop still running
    await this.removeAddress('shutdown', true);
    if (this.leaderKey) await this.etcd('/v3/election/resign', { leader: this.leaderKey }, 2000).catch(() => undefined);
    if (this.leaseId) await this.etcd('/v3/lease/revoke', { ID: this.leaseId }, 2000).catch(() => undefined);
  }
}
