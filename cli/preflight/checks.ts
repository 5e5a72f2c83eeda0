/**
 * The preflight's checks, in the order a person would work through them before an upgrade, each run against an
 * opened target and turned into a CheckResult. A check that throws is an error (nothing was proven: no-go), one
 * the target cannot answer is skipped with the reason; the decisions themselves live in core/preflight.
 */
import { existsSync } from 'node:fs';
import { EtcdGatewayProbe } from '../../providers/etcd-gateway.ts';
import { appError } from '../../providers/gitops/argocd.ts';
import { liveUses, deprecatedRequests, manifestUses } from '../../providers/preflight/api-usage.ts';
import { kubeconfigCertificates, servingCertificate, talosconfigCertificates } from '../../providers/preflight/certificates.ts';
import { readClusterFacts } from '../../providers/preflight/cluster-facts.ts';
import { snapshotThroughMember, snapshotThroughTalos } from '../../providers/preflight/etcd-snapshot.ts';
import { readInventory, type ControlPlaneEndpoint } from '../../providers/preflight/inventory.ts';
import { kubeCa } from '../../fixtures/targets/common.ts';
import type { Target } from '../../fixtures/targets/index.ts';
import { atRiskOnPath, findDeprecatedRequests, findRemovals, API_LIFECYCLE } from '../../core/preflight/api-removals.ts';
import { checkCertificates, type CertificateFacts } from '../../core/preflight/certificates.ts';
import { simulateDrain } from '../../core/preflight/drain.ts';
import { checkEtcd, type EtcdMemberFacts, type SnapshotFacts } from '../../core/preflight/etcd-health.ts';
import { checkApps } from '../../core/preflight/gitops.ts';
import { checkTimings } from '../../core/preflight/timings.ts';
import { checkUpgradePath, type Inventory, type UpgradeTargets } from '../../core/preflight/upgrade-path.ts';
import { blocker, statusOf, warning, type CheckOutcome, type CheckResult } from '../../core/preflight/verdict.ts';
import { minorOf, parseReported } from '../../core/preflight/versions.ts';
import { readMeasurementHistory, type Tolerance } from '../../core/report/trends.ts';
import { resolveSecret } from '../../core/profile/load.ts';

export interface PreflightSettings {
  to: UpgradeTargets;
  certWindowDays: number;
  historyFile: string;
  tolerance: Tolerance;
  /** where the etcd snapshot goes; undefined: no snapshot (the etcd check then blocks) */
  snapshotDir?: string;
  tools: { etcdctl?: string; etcdutl?: string; talosctl?: string };
  allowRemote: boolean;
}

interface Check {
  id: string;
  title: string;
  run: () => Promise<CheckOutcome>;
}

/** What the checks learn and later ones use. */
interface Shared {
  inventory?: Inventory;
}

function controlPlanes(target: Target): ControlPlaneEndpoint[] {
  const port = new URL(target.profile.access.kubernetes.server).port || '6443';
  return target.profile.nodes.filter((n) => n.role === 'control-plane').map((n) => ({ node: n.name, server: `https://${n.ip}:${port}` }));
}

export function preflightChecks(target: Target, s: PreflightSettings): Check[] {
  const shared: Shared = {};
  const remote = { allowRemote: s.allowRemote };
  const toMinor = minorOf(s.to.kubernetes);
  const fromMinor = () => {
    const versions = (shared.inventory?.apiservers ?? []).map((a) => parseReported(a.version)).filter((v) => v !== undefined);
    if (!versions.length) throw new Error('the current Kubernetes version is unknown: no API server answered GET /version');
    return minorOf(versions.reduce((a, b) => (b.minor < a.minor ? b : a)));
  };

  return [
    {
      id: 'gitops-converged',
      title: 'GitOps converged',
      async run() {
        if (!target.argocd) return { summary: 'no ArgoCD', findings: [], evidence: {}, skipped: target.lacking('argocd') ?? 'no ArgoCD on this target' };
        const apps = await target.argocd.list();
        const facts = apps.map((a) => ({ name: a.name, sync: a.sync, health: a.health, revision: a.deployedRevision ?? a.revision, error: appError(a) }));
        const findings = checkApps(facts);
        return { summary: `${apps.length - findings.length} of ${apps.length} Applications Synced and Healthy`, findings, evidence: { applications: facts } };
      },
    },
    {
      id: 'upgrade-path',
      title: 'versions and upgrade path',
      async run() {
        const components: Record<string, () => Promise<string>> = {};
        if (target.argocd) components.argocd = () => target.argocd!.apiVersion(2000);
        const { inventory, unreachable } = await readInventory(target.kube, controlPlanes(target), { ...remote, components });
        shared.inventory = inventory;
        const outcome = checkUpgradePath(inventory, s.to);
        for (const u of unreachable) outcome.findings.unshift(blocker(`API server on ${u.node} did not answer: ${u.error}`));
        if (!target.profile.target.capabilities.includes('talos')) outcome.evidence.talos = 'not a Talos target: no Talos support matrix applies';
        return outcome;
      },
    },
    {
      id: 'api-removals',
      title: 'removed and deprecated APIs',
      async run() {
        const from = fromMinor();
        const atRisk = atRiskOnPath(from, toMinor);
        const findings = [];
        const evidence: Record<string, unknown> = { path: `${from} -> ${toMinor}`, lifecycle: API_LIFECYCLE.source, atRisk: atRisk.map((a) => `${a.group}/${a.version} ${a.kind} (removed in ${a.removed})`) };
        if (target.argocd) {
          const manifests = await manifestUses(await target.argocd.list(), remote);
          findings.push(...findRemovals(manifests.uses, from, toMinor));
          evidence.manifests = { objects: manifests.objects, read: manifests.read };
        } else {
          findings.push(warning('no ArgoCD on this target: the manifests in git were not read'));
        }
        const live = await liveUses(target.kube, atRisk, remote);
        findings.push(...findRemovals(live.uses, from, toMinor));
        evidence.live = { kindsListed: live.listed, uses: live.uses.length };
        const metric = await deprecatedRequests(target.kube, controlPlanes(target), remote);
        findings.push(...findDeprecatedRequests(metric.requests, from, toMinor));
        for (const u of metric.unreadable) findings.push(warning(`apiserver_requested_deprecated_apis could not be read: ${u}`));
        evidence.metric = { series: metric.requests };
        const sources = `${target.argocd ? 'git manifests, ' : ''}live managedFields, the apiserver_requested_deprecated_apis metric`;
        return { summary: `${atRisk.length} API versions removed or deprecated on ${from} -> ${toMinor}, looked for in ${sources}`, findings, evidence };
      },
    },
    {
      id: 'etcd',
      title: 'etcd health and snapshot',
      async run() {
        if (!target.etcd) return { summary: 'no etcd access', findings: [], evidence: {}, skipped: target.lacking('etcd-direct') ?? 'no etcd access on this target' };
        const expected = target.profile.nodes.filter((n) => n.role === 'control-plane').length;
        let members: EtcdMemberFacts[];
        let alarms: string[] = [];
        let snapshot: SnapshotFacts | undefined;
        if (target.etcd instanceof EtcdGatewayProbe) {
          const gw = target.etcd;
          members = (await gw.maintenanceStatus()).map((m) => ({
            name: m.name,
            endpoint: m.endpoint,
            healthy: !!m.status && !(m.status.errors?.length) && !!m.status.leader && m.status.leader !== '0',
            error: m.error ?? m.status?.errors?.join('; '),
            id: m.status?.header.member_id,
            leader: m.status?.leader,
            dbSizeBytes: m.status?.dbSize ? Number(m.status.dbSize) : undefined,
            dbSizeInUseBytes: m.status?.dbSizeInUse ? Number(m.status.dbSizeInUse) : undefined,
            quotaBytes: m.status?.dbSizeQuota ? Number(m.status.dbSizeQuota) : undefined,
            version: m.status?.version,
          }));
          alarms = await gw.alarms();
          const source = members.find((m) => m.healthy && m.leader !== m.id) ?? members.find((m) => m.healthy);
          if (s.snapshotDir && source && s.tools.etcdctl) {
            snapshot = await snapshotThroughMember({ etcdctl: s.tools.etcdctl, etcdutl: s.tools.etcdutl }, { node: source.name, endpoint: source.endpoint }, gw.tlsFiles, s.snapshotDir);
          }
        } else {
          members = (await target.etcd.members()).map((m) => ({ name: m.name, endpoint: m.endpoint, healthy: m.healthy, error: m.error, id: m.id, leader: m.isLeader ? m.id : undefined }));
          const leaderId = members.find((m) => m.leader)?.id;
          for (const m of members) if (m.healthy) m.leader = leaderId;
          const talosconfig = target.profile.access.talos?.talosconfig;
          const node = target.profile.nodes.find((n) => n.role === 'control-plane' && members.some((m) => m.name === n.name && m.healthy));
          if (s.snapshotDir && talosconfig && node && s.tools.talosctl) {
            const path = await resolveSecret(talosconfig, 'access.talos.talosconfig');
            snapshot = await snapshotThroughTalos(s.tools.talosctl, path, { name: node.name, address: node.ip }, s.snapshotDir, s.tools.etcdutl);
          }
        }
        const findings = checkEtcd(members, expected, alarms, snapshot);
        if (!s.snapshotDir) findings.push(warning('--no-snapshot: no snapshot taken by this preflight; take one before the upgrade'));
        const healthy = members.filter((m) => m.healthy).length;
        return {
          summary: `${healthy}/${members.length} members healthy${snapshot?.status ? `; snapshot ${snapshot.path} (revision ${snapshot.status.revision}, ${snapshot.status.totalKey} keys, sha256 ${snapshot.sha256.slice(0, 16)}…)` : ''}`,
          findings: s.snapshotDir ? findings : findings.filter((f) => !f.message.startsWith('no etcd snapshot')),
          evidence: { members, alarms, snapshot },
        };
      },
    },
    {
      id: 'drain',
      title: 'drain simulation',
      async run() {
        const facts = await readClusterFacts(target.kube);
        const plans = facts.nodes.map((n) => simulateDrain(n.name, facts.nodes, facts.pods, facts.pdbs, facts.workloads));
        const findings = plans.flatMap((p) => p.findings);
        const clean = plans.filter((p) => !p.findings.length).length;
        return {
          summary: `${facts.nodes.length} nodes drained one at a time on paper: ${clean} without consequence`,
          findings,
          evidence: { plans: plans.map((p) => ({ node: p.node, moves: p.moves, pending: p.pending })), pdbs: facts.pdbs },
        };
      },
    },
    {
      id: 'certificates',
      title: 'certificates',
      async run() {
        const certs: CertificateFacts[] = [...kubeconfigCertificates(target.kube)];
        certs.push(await servingCertificate(target.profile.access.kubernetes.server, kubeCa(target.kube), remote));
        const talosconfig = target.profile.access.talos?.talosconfig;
        if (talosconfig) {
          const path = await resolveSecret(talosconfig, 'access.talos.talosconfig').catch(() => undefined);
          if (path && existsSync(path)) certs.push(...talosconfigCertificates(path));
        }
        const findings = checkCertificates(certs, s.certWindowDays);
        const first = [...certs].sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
        return {
          summary: `${certs.length} certificates against a ${s.certWindowDays}-day window${first ? `; the first to expire: ${first.what} on ${first.notAfter.toISOString().slice(0, 10)}` : ''}`,
          findings,
          evidence: { windowDays: s.certWindowDays, certificates: certs.map((c) => ({ ...c, notAfter: c.notAfter.toISOString() })) },
        };
      },
    },
    {
      id: 'timings',
      title: 'timings against the last good run',
      async run() {
        return checkTimings(readMeasurementHistory(s.historyFile), s.tolerance, s.historyFile);
      },
    },
  ];
}

export async function runChecks(checks: Check[], onProgress: (line: string) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [i, c] of checks.entries()) {
    onProgress(`[${i + 1}/${checks.length}] ${c.title}…`);
    const t0 = performance.now();
    let outcome: CheckOutcome;
    let status;
    try {
      outcome = await c.run();
      status = statusOf(outcome);
    } catch (err) {
      outcome = { summary: `could not be checked: ${(err as Error).message}`, findings: [], evidence: { error: (err as Error).message } };
      status = 'error' as const;
    }
    const result: CheckResult = { id: c.id, title: c.title, status, summary: outcome.skipped ? `skipped: ${outcome.skipped}` : outcome.summary, findings: outcome.findings, evidence: outcome.evidence, seconds: (performance.now() - t0) / 1000 };
    results.push(result);
    onProgress(`[${i + 1}/${checks.length}] ${c.title}: ${status}`);
  }
  return results;
}

