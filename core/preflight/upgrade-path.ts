/**
 * Inventory and upgrade path: the versions every node reports, the hops to the requested Kubernetes version, the
 * version-skew policy before and along the path, and the Talos support matrix for every hop. The policy and the
 * matrix are data files with their sources (data/version-policy.json), not rules written into code.
 */
import policyData from './data/version-policy.json' with { type: 'json' };
import { blocker, warning, type CheckOutcome, type Finding } from './verdict.ts';
import { compareMinor, formatVersion, hops, minorNumber, minorOf, parseReported, type Version } from './versions.ts';

export interface NodeVersion {
  node: string;
  version: string;
}

export interface Inventory {
  /** GET /version of each API server, asked directly (not through the VIP) */
  apiservers: NodeVersion[];
  /** Node.status.nodeInfo.kubeletVersion */
  kubelets: NodeVersion[];
  /** the Talos version of each node, where the target runs Talos */
  talos?: NodeVersion[];
  /** other components' versions where known (argocd, cilium) */
  components?: Record<string, string>;
}

export interface UpgradeTargets {
  kubernetes: Version;
  talos?: Version;
  cilium?: Version;
  argocd?: Version;
}

export interface TalosSupport {
  kubernetes: string[];
  ships: string;
}

export const VERSION_POLICY = policyData;
const TALOS = policyData.talos.versions as Record<string, TalosSupport>;
const SKEW = policyData.kubernetesSkew;

function parsed(list: NodeVersion[]): Array<NodeVersion & { v: Version }> {
  return list.flatMap((n) => {
    const v = parseReported(n.version);
    return v ? [{ ...n, v }] : [];
  });
}

const oldest = <T extends { v: Version }>(xs: T[]) => xs.reduce((a, b) => (compareMinor(b.v, a.v) < 0 ? b : a));
const newest = <T extends { v: Version }>(xs: T[]) => xs.reduce((a, b) => (compareMinor(b.v, a.v) > 0 ? b : a));
const range = (s: TalosSupport) => `${s.kubernetes[0]}-${s.kubernetes.at(-1)}`;

export function checkUpgradePath(inv: Inventory, to: UpgradeTargets): CheckOutcome {
  const findings: Finding[] = [];
  const apis = parsed(inv.apiservers);
  const kubelets = parsed(inv.kubelets);
  for (const n of inv.apiservers.filter((n) => !parseReported(n.version))) {
    findings.push(blocker(`the API server on ${n.node} reports version "${n.version}", which is not a Kubernetes version`));
  }
  // a node whose kubelet is not Kubernetes' (kwok's fake nodes report "kwok-v0.8.0") has no kubelet to upgrade
  const notKubelets = inv.kubelets.filter((n) => !parseReported(n.version));
  if (notKubelets.length) {
    findings.push(warning(`${notKubelets.map((n) => n.node).join(', ')} report kubelet version ${[...new Set(notKubelets.map((n) => `"${n.version}"`))].join(', ')}: no Kubernetes kubelet runs there, so the skew policy is not checked for them`));
  }
  if (!apis.length) {
    findings.push(blocker('no API server answered GET /version directly: the current version is unknown'));
    return { summary: 'current version unknown', findings, evidence: { inventory: inv } };
  }
  const from = oldest(apis).v;
  const path = compareMinor(to.kubernetes, from) > 0 ? hops(from, to.kubernetes) : [];
  const plan = path.map((m) => (m === minorOf(to.kubernetes) ? formatVersion(to.kubernetes) : `${m}.x`));

  if (compareMinor(to.kubernetes, from) < 0) {
    findings.push(blocker(`the requested Kubernetes ${formatVersion(to.kubernetes)} is older than the cluster's ${formatVersion(from)}: a downgrade is not an upgrade path`));
  }
  if (path.length > 1) {
    findings.push(warning(`the path crosses ${path.length} minors: ${[minorOf(from), ...path].join(' -> ')}; each hop is its own upgrade, to the latest patch of that minor (${SKEW.oneMinorAtATime})`));
  }

  // skew today (kubernetes.io/releases/version-skew-policy)
  const spread = minorNumber(minorOf(newest(apis).v)) - minorNumber(minorOf(from));
  if (spread > SKEW.apiserverMaxMinorSpread) {
    findings.push(blocker(`API servers are ${spread} minors apart (${apis.map((a) => `${a.node} ${a.version}`).join(', ')}): the skew policy allows ${SKEW.apiserverMaxMinorSpread} (${SKEW.source})`));
  } else if (spread === 1) {
    findings.push(warning(`API servers run two minors (${apis.map((a) => `${a.node} ${a.version}`).join(', ')}): an upgrade is already half done; finish it before starting another`));
  }
  for (const k of kubelets) {
    if (compareMinor(k.v, from) > 0) {
      findings.push(blocker(`kubelet on ${k.node} (${k.version}) is newer than the oldest API server (${formatVersion(from)}): "kubelet must not be newer than kube-apiserver" (${SKEW.source})`));
    }
    const lag = minorNumber(minorOf(to.kubernetes)) - minorNumber(minorOf(k.v));
    if (lag > SKEW.kubeletMaxMinorsOlder) {
      const mustBeAt = `1.${minorNumber(minorOf(to.kubernetes)) - SKEW.kubeletMaxMinorsOlder}`;
      findings.push(blocker(
        `kubelet on ${k.node} (${k.version}) would be ${lag} minors older than API servers at ${minorOf(to.kubernetes)}; the policy allows ${SKEW.kubeletMaxMinorsOlder}`,
        `upgrade ${k.node}'s kubelet to ${mustBeAt} or later before the control plane passes ${minorOf(to.kubernetes)}`,
      ));
    }
  }

  // the Talos support matrix for every hop
  const talos = parsed(inv.talos ?? []);
  const talosAfter = to.talos ? minorOf(to.talos) : talos.length ? minorOf(oldest(talos).v) : undefined;
  if (talosAfter) {
    const support = TALOS[talosAfter];
    if (!support) {
      findings.push(warning(`no support-matrix data for Talos ${talosAfter} in core/preflight/data/version-policy.json; check ${policyData.talos.sources[1]} and add it`));
    } else {
      for (const m of path.length ? path : [minorOf(from)]) {
        if (!support.kubernetes.includes(m)) {
          findings.push(blocker(
            `Talos ${talosAfter} supports Kubernetes ${range(support)}, not ${m}`,
            Object.entries(TALOS).find(([, s]) => s.kubernetes.includes(m)) ? `upgrade Talos first to a release that supports ${m} (${Object.entries(TALOS).filter(([, s]) => s.kubernetes.includes(m)).map(([t]) => t).join(', ')})` : undefined,
          ));
        }
      }
      if (to.talos && talos.length) {
        if (!support.kubernetes.includes(minorOf(from))) {
          findings.push(blocker(`Talos ${talosAfter} does not support the cluster's current Kubernetes ${minorOf(from)} (${range(support)}): upgrade Kubernetes before Talos, or choose another Talos`));
        }
        const talosHops = minorNumber(talosAfter) - minorNumber(minorOf(oldest(talos).v));
        if (talosHops > 1) {
          findings.push(warning(`Talos goes ${talosHops} minors at once; Talos upgrades step through the latest patch of every intermediate minor (siderolabs docs, upgrading Talos)`));
        }
      }
    }
  }

  // Cilium: one minor at a time, from the latest patch of the current minor (docs.cilium.io operations/upgrade)
  const cilium = inv.components?.cilium ? parseReported(inv.components.cilium) : undefined;
  if (to.cilium && cilium && minorNumber(minorOf(to.cilium)) - minorNumber(minorOf(cilium)) > 1) {
    findings.push(blocker(`Cilium ${inv.components!.cilium} -> ${formatVersion(to.cilium)} skips a minor: Cilium upgrades one minor at a time (docs.cilium.io/en/stable/operations/upgrade/)`));
  }
  // ArgoCD: read the notes of every minor crossed; 3.0 changed defaults (argo-cd docs upgrading/2.14-3.0)
  const argocd = inv.components?.argocd ? parseReported(inv.components.argocd) : undefined;
  if (to.argocd && argocd && argocd.major < 3 && to.argocd.major >= 3) {
    findings.push(warning(`ArgoCD ${inv.components!.argocd} -> ${formatVersion(to.argocd)} crosses 3.0: annotation tracking by default, logs RBAC enforced, repositories no longer read from argocd-cm (argo-cd.readthedocs.io upgrading/2.14-3.0)`));
  }

  const summary =
    path.length > 0
      ? `Kubernetes ${formatVersion(from)} -> ${plan.join(' -> ')} on ${apis.length} API servers and ${kubelets.length} kubelets`
      : `Kubernetes ${formatVersion(from)} -> ${formatVersion(to.kubernetes)}: no minor to cross`;
  return { summary, findings, evidence: { current: formatVersion(from), hops: plan, inventory: inv, skewPolicy: SKEW.source, talosMatrix: talosAfter ? { talos: talosAfter, ...TALOS[talosAfter] } : undefined } };
}
