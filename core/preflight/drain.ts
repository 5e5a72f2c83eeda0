/**
 * Drain simulation: for each node, what `kubectl drain` (or Talos' own cordon-and-drain during an upgrade) would
 * meet. A PodDisruptionBudget that allows no disruption stalls the drain ("Cannot evict pod" retried forever). A pod
 * that fits on no other node stays Pending until the node returns: the rule that keeps it out of each other node is
 * named (required anti-affinity, a taint, a node selector, requests). Losing every replica of a workload blocks; a
 * workload left with fewer replicas than it asks for is a warning, since it keeps serving.
 */
import { blocker, warning, type Finding } from './verdict.ts';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface NodeFacts {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: { cpuMilli: number; memoryBytes: number; pods: number };
}

export interface AntiAffinityTerm {
  topologyKey: string;
  labelSelector?: LabelSelector;
  /** namespaces the term looks at; empty: the pod's own */
  namespaces: string[];
}

export interface PodFacts {
  namespace: string;
  name: string;
  node?: string;
  phase: string;
  labels: Record<string, string>;
  /** the controller at the top: Deployment (through its ReplicaSet), StatefulSet, DaemonSet, Job, or none */
  owner?: { kind: string; name: string };
  requests: { cpuMilli: number; memoryBytes: number };
  tolerations: Toleration[];
  nodeSelector: Record<string, string>;
  requiredAntiAffinity: AntiAffinityTerm[];
  /** a static (mirror) pod: drain leaves it, the node runs it */
  mirror: boolean;
}

export interface PdbFacts {
  namespace: string;
  name: string;
  selector: LabelSelector;
  disruptionsAllowed: number;
}

export interface WorkloadFacts {
  kind: string;
  namespace: string;
  name: string;
  replicas: number;
}

export interface DrainPlan {
  node: string;
  /** pod -> the node it would move to */
  moves: Array<{ pod: string; to: string }>;
  /** pod -> why no node takes it */
  pending: Array<{ pod: string; reasons: string[] }>;
  findings: Finding[];
}

export function matches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    if (e.operator === 'In' && !(has && e.values?.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function describeSelector(s: LabelSelector | undefined): string {
  if (!s) return 'nothing';
  const parts = [
    ...Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`),
  ];
  return parts.join(', ') || 'everything';
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === '' || t.effect === taint.effect) &&
      (t.operator === 'Exists' ? t.key === undefined || t.key === '' || t.key === taint.key : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );
}

const podName = (p: PodFacts) => `${p.namespace}/${p.name}`;
const ownerName = (p: PodFacts) => (p.owner ? `${p.owner.kind} ${p.namespace}/${p.owner.name}` : `pod ${podName(p)}`);
const termNamespaces = (term: AntiAffinityTerm, pod: PodFacts) => (term.namespaces.length ? term.namespaces : [pod.namespace]);

/** Why `pod` cannot run on `node`, given where every other pod runs (empty: it fits). */
function reasonsAgainst(pod: PodFacts, node: NodeFacts, nodes: Map<string, NodeFacts>, placed: Map<string, PodFacts[]>): string[] {
  const reasons: string[] = [];
  const residents = placed.get(node.name) ?? [];
  if (!node.ready) reasons.push(`${node.name} is not Ready`);
  if (node.unschedulable) reasons.push(`${node.name} is cordoned`);
  for (const t of node.taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) {
    if (!tolerates(pod.tolerations, t)) reasons.push(`${node.name}: taint ${t.key}${t.value ? `=${t.value}` : ''}:${t.effect} not tolerated`);
  }
  for (const [k, v] of Object.entries(pod.nodeSelector)) {
    if (node.labels[k] !== v) reasons.push(`${node.name}: nodeSelector ${k}=${v} does not match`);
  }
  // pods in the same topology domain as `node` for a key (for kubernetes.io/hostname: the pods on that node)
  const inDomain = (key: string) => {
    const value = node.labels[key];
    if (value === undefined) return [];
    return [...placed.entries()].filter(([n]) => nodes.get(n)?.labels[key] === value).flatMap(([, ps]) => ps);
  };
  for (const term of pod.requiredAntiAffinity) {
    const clash = inDomain(term.topologyKey).find((r) => termNamespaces(term, pod).includes(r.namespace) && matches(term.labelSelector, r.labels));
    if (clash) {
      reasons.push(`${node.name}: required podAntiAffinity (topologyKey ${term.topologyKey}, ${describeSelector(term.labelSelector)}) of ${ownerName(pod)}: ${podName(clash)} already runs there`);
    }
  }
  for (const r of placed.values()) {
    for (const other of r) {
      for (const term of other.requiredAntiAffinity) {
        if (!inDomain(term.topologyKey).includes(other)) continue;
        if (termNamespaces(term, other).includes(pod.namespace) && matches(term.labelSelector, pod.labels) && other.owner?.name !== pod.owner?.name) {
          reasons.push(`${node.name}: ${podName(other)}'s required podAntiAffinity (topologyKey ${term.topologyKey}, ${describeSelector(term.labelSelector)}) keeps it out`);
        }
      }
    }
  }
  const used = residents.reduce((a, r) => ({ cpu: a.cpu + r.requests.cpuMilli, mem: a.mem + r.requests.memoryBytes }), { cpu: 0, mem: 0 });
  if (used.cpu + pod.requests.cpuMilli > node.allocatable.cpuMilli) {
    reasons.push(`${node.name}: requests cpu ${pod.requests.cpuMilli}m, ${Math.max(0, node.allocatable.cpuMilli - used.cpu)}m free`);
  }
  if (used.mem + pod.requests.memoryBytes > node.allocatable.memoryBytes) {
    reasons.push(`${node.name}: requests memory ${mib(pod.requests.memoryBytes)}, ${mib(Math.max(0, node.allocatable.memoryBytes - used.mem))} free`);
  }
  if (residents.length + 1 > node.allocatable.pods) reasons.push(`${node.name}: already runs ${residents.length} pods, its limit`);
  return reasons;
}

/** "cp1: taint X", "cp2: taint X" -> "cp1, cp2: taint X": one line per distinct reason. */
function groupByNode(reasons: string[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const r of new Set(reasons)) {
    const m = /^([^:\s]+)(?::| is) (.*)$/.exec(r);
    const [nodeName, rest] = m ? [m[1]!, r.slice(m[1]!.length)] : ['', r];
    byReason.set(rest, [...(byReason.get(rest) ?? []), nodeName]);
  }
  return [...byReason].map(([rest, ns]) => `${ns.filter(Boolean).join(', ')}${rest}`);
}

const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
const running = (p: PodFacts) => p.phase === 'Running' || p.phase === 'Pending';

export function simulateDrain(drained: string, nodes: NodeFacts[], pods: PodFacts[], pdbs: PdbFacts[], workloads: WorkloadFacts[]): DrainPlan {
  const plan: DrainPlan = { node: drained, moves: [], pending: [], findings: [] };
  const evicted = pods.filter((p) => p.node === drained && running(p) && !p.mirror && p.owner?.kind !== 'DaemonSet');
  const placed = new Map<string, PodFacts[]>(nodes.map((n) => [n.name, pods.filter((p) => p.node === n.name && running(p) && n.name !== drained)]));
  const byName = new Map(nodes.map((n) => [n.name, n]));

  for (const pdb of pdbs) {
    const covered = evicted.filter((p) => p.namespace === pdb.namespace && matches(pdb.selector, p.labels));
    if (covered.length && pdb.disruptionsAllowed < 1) {
      plan.findings.push(blocker(
        `draining ${drained} stalls: PodDisruptionBudget ${pdb.namespace}/${pdb.name} allows ${pdb.disruptionsAllowed} disruptions and covers ${covered.map(podName).join(', ')} (the eviction is refused and retried forever)`,
        `raise the workload's replicas or lower the budget's minAvailable so at least one disruption is allowed`,
      ));
    }
  }
  for (const pod of evicted) {
    if (!pod.owner) {
      plan.findings.push(warning(`${podName(pod)} on ${drained} has no controller: a drain deletes it for good (kubectl drain refuses it without --force)`));
      continue;
    }
    const candidates = nodes.filter((n) => n.name !== drained);
    const why: string[] = [];
    const target = candidates.find((n) => {
      const reasons = reasonsAgainst(pod, n, byName, placed);
      why.push(...reasons);
      return reasons.length === 0;
    });
    if (target) {
      placed.get(target.name)!.push({ ...pod, node: target.name });
      plan.moves.push({ pod: podName(pod), to: target.name });
    } else {
      plan.pending.push({ pod: podName(pod), reasons: why.length ? why : ['no other node'] });
    }
  }
  // a workload whose every replica runs on the drained node moves, but serves nothing until one runs elsewhere
  const moved = new Map<string, { pods: PodFacts[]; to: Set<string> }>();
  for (const m of plan.moves) {
    const p = evicted.find((e) => podName(e) === m.pod)!;
    const k = ownerName(p);
    const entry = moved.get(k) ?? { pods: [], to: new Set<string>() };
    entry.pods.push(p);
    entry.to.add(m.to);
    moved.set(k, entry);
  }
  for (const [owner, { pods: stuck, to }] of moved) {
    const first = stuck[0]!;
    const all = pods.filter((p) => p.namespace === first.namespace && p.owner?.kind === first.owner!.kind && p.owner?.name === first.owner!.name && running(p));
    if (all.some((p) => p.node !== drained)) continue;
    plan.findings.push(warning(
      `draining ${drained} moves every replica of ${owner} (${stuck.length}) to ${[...to].join(', ')}: it serves nothing from the eviction until a replica is ready there`,
      'run at least two replicas on different nodes (and a PodDisruptionBudget) if it must keep serving through a drain',
    ));
  }
  // one finding per workload, counting what keeps running while the node is away
  const byOwner = new Map<string, PodFacts[]>();
  for (const p of evicted.filter((p) => plan.pending.some((x) => x.pod === podName(p)))) {
    const k = ownerName(p);
    byOwner.set(k, [...(byOwner.get(k) ?? []), p]);
  }
  for (const [owner, stuck] of byOwner) {
    const first = stuck[0]!;
    const w = workloads.find((x) => x.namespace === first.namespace && x.kind === first.owner!.kind && x.name === first.owner!.name);
    const all = pods.filter((p) => p.namespace === first.namespace && p.owner?.kind === first.owner!.kind && p.owner?.name === first.owner!.name && running(p));
    const left = all.filter((p) => p.node !== drained).length + plan.moves.filter((m) => all.some((p) => podName(p) === m.pod)).length;
    const wanted = w?.replicas ?? all.length;
    const reasons = groupByNode(plan.pending.find((x) => x.pod === podName(first))!.reasons);
    const text = `draining ${drained} leaves ${stuck.length} of ${wanted} replicas of ${owner} Pending until ${drained} returns (${left} keep running): ${reasons.join('; ')}`;
    plan.findings.push(left === 0 ? blocker(`${text}; the workload has no replica left`, 'spread the replicas so another node can take one, or accept the outage') : warning(text));
  }
  return plan;
}
