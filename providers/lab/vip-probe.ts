/**
 * VipProbe for the lab: the holder is whichever node namespace has the VIP on its interface
 * (what kube-vip assigned), and readyz is asked through the VIP from the host, as an admin would.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { VipProbe } from '../interfaces.ts';
import { httpsRequest, type TlsFiles } from '../https-json.ts';

const run = promisify(execFile);

export class LabVipProbe implements VipProbe {
  constructor(
    readonly address: string,
    private readonly nodes: Array<{ name: string; netns: string }>,
    private readonly tls: TlsFiles,
  ) {}

  async holders(): Promise<string[]> {
    const held = await Promise.all(
      this.nodes.map(async (n) => {
        try {
          const { stdout } = await run('ip', ['-n', n.netns, '-j', '-4', 'addr', 'show']);
          // a powered-off node has its cable pulled: an address on a down link answers nobody
          const links = JSON.parse(stdout) as Array<{ operstate?: string; flags?: string[]; addr_info?: Array<{ local: string }> }>;
          const holds = links.some((l) => l.flags?.includes('LOWER_UP') && l.addr_info?.some((a) => a.local === this.address));
          return holds ? n.name : undefined;
        } catch {
          return undefined; // namespace absent: node powered off
        }
      }),
    );
    return held.filter((n): n is string => n !== undefined);
  }

  async readyz(timeoutMs = 2000) {
    const started = performance.now();
    try {
      const res = await httpsRequest(`https://${this.address}:6443/readyz`, { ...this.tls, timeoutMs });
      return { ok: res.status === 200, status: res.status, latencyMs: res.latencyMs };
    } catch (err) {
      return { ok: false, error: (err as Error).message, latencyMs: performance.now() - started };
    }
  }
}
