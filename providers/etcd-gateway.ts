/**
 * EtcdProbe talking to each member directly through etcd's JSON gateway (/v3/...) with client
 * certificates: the member's own view, never the VIP. Used where the runner can reach etcd's client port
 * (the lab, generic kubeadm clusters); Talos targets go through the Talos API instead.
 */
import type { EtcdMemberStatus, EtcdProbe } from './interfaces.ts';
import { httpsRequest, type TlsFiles } from './https-json.ts';

interface Endpoint {
  node: string;
  url: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** etcd's StatusResponse through the gateway (int64 fields arrive as strings). */
export interface MaintenanceStatus {
  header: { member_id: string };
  version?: string;
  dbSize?: string;
  dbSizeInUse?: string;
  dbSizeQuota?: string;
  leader?: string;
  errors?: string[];
}

export class EtcdGatewayProbe implements EtcdProbe {
  constructor(
    private readonly endpoints: Endpoint[],
    private readonly tls: TlsFiles,
    /** short: a powered-off member never answers, and this bounds the resolution of every leader measurement */
    private readonly statusTimeoutMs = 700,
  ) {}

  private async call<T>(endpoint: Endpoint, path: string, body: unknown, timeoutMs = 2000): Promise<T> {
    const res = await httpsRequest(`${endpoint.url}${path}`, { ...this.tls, method: 'POST', body: JSON.stringify(body), timeoutMs });
    const parsed = JSON.parse(res.body || '{}') as T & { error?: string; message?: string };
    if (res.status !== 200) throw new Error(`etcd ${endpoint.node} ${path}: HTTP ${res.status} ${parsed.message ?? parsed.error ?? res.body}`);
    return parsed;
  }

  async members(): Promise<EtcdMemberStatus[]> {
    return Promise.all(
      this.endpoints.map(async (ep): Promise<EtcdMemberStatus> => {
        try {
          const s = await this.call<{ header: { member_id: string; raft_term: string }; leader: string; raftIndex: string; raftTerm: string; errors?: string[] }>(
            ep,
            '/v3/maintenance/status',
            {},
            this.statusTimeoutMs,
          );
          const healthy = !(s.errors && s.errors.length) && s.leader !== undefined && s.leader !== '0';
          return {
            name: ep.node,
            endpoint: ep.url,
            id: s.header.member_id,
            healthy,
            isLeader: s.leader === s.header.member_id,
            raftIndex: Number(s.raftIndex),
            raftTerm: Number(s.raftTerm),
            error: s.errors?.join('; '),
          };
        } catch (err) {
          return { name: ep.node, endpoint: ep.url, id: '', healthy: false, isLeader: false, error: (err as Error).message };
        }
      }),
    );
  }

  /** Each member's own maintenance status (sizes, quota, leader, version), for a preflight. */
  async maintenanceStatus(): Promise<Array<{ name: string; endpoint: string; status?: MaintenanceStatus; error?: string }>> {
    return Promise.all(
      this.endpoints.map(async (ep) => {
        try {
          return { name: ep.node, endpoint: ep.url, status: await this.call<MaintenanceStatus>(ep, '/v3/maintenance/status', {}, 5000) };
        } catch (err) {
          return { name: ep.node, endpoint: ep.url, error: (err as Error).message };
        }
      }),
    );
  }

  /** The cluster's raised alarms (NOSPACE, CORRUPT), from the first member that answers. */
  async alarms(): Promise<string[]> {
    for (const ep of this.endpoints) {
      try {
        const r = await this.call<{ alarms?: Array<{ memberID: string; alarm: string }> }>(ep, '/v3/maintenance/alarm', { action: 'GET' }, 5000);
        return (r.alarms ?? []).map((a) => `${a.alarm} on member ${a.memberID}`);
      } catch {
        // next member
      }
    }
    throw new Error('no etcd member answered the alarm list');
  }

  /** The client URL of a member by node name (a snapshot is taken from one member, never through the VIP). */
  endpointOf(node: string): string | undefined {
    return this.endpoints.find((e) => e.node === node)?.url;
  }

  get tlsFiles(): TlsFiles {
    return this.tls;
  }

  async leader(): Promise<string | undefined> {
    const members = await this.members();
    return members.find((m) => m.healthy && m.isLeader)?.name;
  }

  /** The member that answered last goes first, so a powered-off member does not delay every measured write. */
  private lastGood = 0;

  private inPreferredOrder(): Endpoint[] {
    return [...this.endpoints.slice(this.lastGood), ...this.endpoints.slice(0, this.lastGood)];
  }

  /** A linearizable write on any member that answers; false when no member accepted it in time. */
  async put(key: string, value: string, timeoutMs = 3000): Promise<boolean> {
    for (const ep of this.inPreferredOrder()) {
      try {
        await this.call(ep, '/v3/kv/put', { key: b64(key), value: b64(value) }, timeoutMs);
        this.lastGood = this.endpoints.indexOf(ep);
        return true;
      } catch {
        this.lastGood = (this.endpoints.indexOf(ep) + 1) % this.endpoints.length;
        // try the next member
      }
    }
    return false;
  }

  async get(key: string): Promise<string | undefined> {
    for (const ep of this.inPreferredOrder()) {
      try {
        const r = await this.call<{ kvs?: Array<{ value: string }> }>(ep, '/v3/kv/range', { key: b64(key) });
        const kv = r.kvs?.[0];
        return kv ? Buffer.from(kv.value, 'base64').toString() : undefined;
      } catch {
        // next member
      }
    }
    throw new Error(`no etcd member answered a read of ${key}`);
  }
}
