/**
 * The network-safety guard. Tests and CI may send packets only to loopback, and to the lab's own range
 * (198.18.0.0/15) while the lab is up. Real homelab addresses are reachable only from a CLI run that
 * opted in with a profile (allowRemote), never from the project's own tests.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { RefusedError } from '../errors.ts';
import { ipv4InCidr } from '../net/ipv4.ts';

export const LAB_RANGE = '198.18.0.0/15';

/** The lab's supervisor writes this file while it runs, and removes it when the lab is down. */
export const LAB_UP_MARKER = '/run/clusterproof-lab.up';

export function labIsUp(): boolean {
  return existsSync(LAB_UP_MARKER);
}

export type DestinationVerdict = { allowed: true } | { allowed: false; reason: string };

export function checkDestination(host: string, opts: { allowRemote?: boolean } = {}): DestinationVerdict {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || (isIP(h) === 4 && ipv4InCidr(h, '127.0.0.0/8'))) return { allowed: true };
  if (isIP(h) === 4 && ipv4InCidr(h, LAB_RANGE)) {
    return labIsUp()
      ? { allowed: true }
      : { allowed: false, reason: `${h} is a lab address but the lab is down (start it with: clusterproof lab up)` };
  }
  if (opts.allowRemote) return { allowed: true };
  return {
    allowed: false,
    reason: `${h} is outside loopback and the lab range ${LAB_RANGE}; only a run against a real target profile may reach it`,
  };
}

export function assertDestination(host: string, opts: { allowRemote?: boolean } = {}): void {
  const verdict = checkDestination(host, opts);
  if (!verdict.allowed) throw new RefusedError(`network guard: refusing to contact ${host}: ${verdict.reason}`);
}
