/**
 * etcd before an upgrade: every member healthy and agreeing on one leader, no alarm, the database well under its
 * quota (the upgrade writes), and a snapshot taken and verified, its path and checksum recorded
 * (talos.dev etcd-maintenance: quota 2 GiB by default; defragment when in use / size is below 0.5).
 */
import { blocker, warning, type Finding } from './verdict.ts';

export interface EtcdMemberFacts {
  name: string;
  endpoint: string;
  healthy: boolean;
  error?: string;
  id?: string;
  leader?: string;
  dbSizeBytes?: number;
  dbSizeInUseBytes?: number;
  /** etcd >= 3.6 reports its --quota-backend-bytes */
  quotaBytes?: number;
  version?: string;
}

export interface SnapshotFacts {
  path: string;
  sha256: string;
  bytes: number;
  /** etcdutl snapshot status */
  status?: { hash: number; revision: number; totalKey: number; totalSize: number };
  takenFrom: string;
  error?: string;
}

/** etcd's default --quota-backend-bytes (2 GiB) when a member does not report its own */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function checkEtcd(members: EtcdMemberFacts[], expected: number, alarms: string[], snapshot: SnapshotFacts | undefined): Finding[] {
  const out: Finding[] = [];
  const healthy = members.filter((m) => m.healthy);
  for (const m of members.filter((m) => !m.healthy)) out.push(blocker(`etcd member ${m.name} (${m.endpoint}) is not healthy: ${m.error ?? 'no answer'}`));
  if (members.length !== expected) out.push(blocker(`etcd has ${members.length} members, the profile describes ${expected} control planes`));
  const leaders = new Set(healthy.map((m) => m.leader).filter((l) => l && l !== '0'));
  if (healthy.length && leaders.size !== 1) out.push(blocker(`etcd members disagree on the leader (${[...leaders].join(', ') || 'none'})`));
  for (const a of alarms) out.push(blocker(`etcd alarm raised: ${a}`, a.includes('NOSPACE') ? 'compact and defragment, then `etcdctl alarm disarm`' : undefined));
  for (const m of healthy) {
    if (m.dbSizeBytes === undefined) continue;
    const quota = m.quotaBytes || DEFAULT_QUOTA_BYTES;
    const share = m.dbSizeBytes / quota;
    if (share > 0.8) out.push(blocker(`etcd ${m.name}: database ${mib(m.dbSizeBytes)} is ${Math.round(share * 100)} % of its ${mib(quota)} quota`, 'compact and defragment before upgrading'));
    else if (share > 0.5) out.push(warning(`etcd ${m.name}: database ${mib(m.dbSizeBytes)} is ${Math.round(share * 100)} % of its ${mib(quota)} quota`));
    if (m.dbSizeInUseBytes !== undefined && m.dbSizeBytes > 64 * 1048576 && m.dbSizeInUseBytes / m.dbSizeBytes < 0.5) {
      out.push(warning(`etcd ${m.name}: only ${mib(m.dbSizeInUseBytes)} of ${mib(m.dbSizeBytes)} in use; defragment it`));
    }
  }
  if (!snapshot) out.push(blocker('no etcd snapshot was taken', 'take one before the upgrade (preflight does, unless --no-snapshot)'));
  else if (snapshot.error) out.push(blocker(`the etcd snapshot from ${snapshot.takenFrom} failed: ${snapshot.error}`));
  else if (!snapshot.status) out.push(blocker(`the etcd snapshot ${snapshot.path} was not verified (no etcdutl snapshot status)`));
  else if (snapshot.status.totalKey === 0) out.push(blocker(`the etcd snapshot ${snapshot.path} holds no key`));
  return out;
}
