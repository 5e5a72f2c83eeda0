/**
 * The target is healthy as its profile describes it, without touching anything: nodes exist and are Ready,
 * control planes are tainted and kept out of external load balancers, the API is live and ready (etcd included),
 * etcd has every member and one leader, the apps' workloads are available, Services have ready endpoints and
 * LoadBalancer addresses come from the declared pools.
 */
import * as k8s from '@kubernetes/client-node';
import { contains, parseIpv4, parsePoolEntry } from '../../core/net/ipv4.ts';
import type { Profile } from '../../core/profile/schema.ts';
import { etcdMembersHealthy } from '../../fixtures/checks.ts';
import { eventually, failed, pending, succeeded, type Check } from '../../fixtures/expect/expectation.ts';
import { apiGet } from '../../providers/api-get.ts';
import { KubeAccess } from '../../providers/kube.ts';
import { runContext, runProfile } from '../../fixtures/run-context.ts';
import { describeSuite, expect, skipBecause, test } from '../../fixtures/test.ts';
import { suite } from '../catalogue.ts';
import { describeApp } from '../../providers/gitops/argocd.ts';
import { workloadAvailable } from '../../fixtures/workload-checks.ts';
import { describeWorkload, workloadOf } from '../../fixtures/workloads.ts';

const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane';
const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
/** long enough to ride out a rollout or a node that was just restored, short enough to report a broken cluster soon */
const HEALTH_TIMEOUT_MS = 60_000;

const declared = await runProfile();
const { allowRemote } = runContext();
const nameOf = (o: { metadata?: k8s.V1ObjectMeta }) => `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

function profileNodesReady(kube: KubeAccess, names: string[]): Check {
  return async () => {
    const nodes = await kube.nodes();
    const missing = names.filter((n) => !nodes.some((x) => x.metadata?.name === n));
    if (missing.length) return failed(`profile nodes missing from the cluster: ${missing.join(', ')} (the cluster has ${nodes.map(nameOf).join(', ')})`);
    const notReady = nodes
      .filter((n) => names.includes(n.metadata!.name!) && !KubeAccess.isReady(n))
      .map((n) => {
        const c = n.status?.conditions?.find((x) => x.type === 'Ready');
        return `${n.metadata!.name} (Ready=${c?.status ?? 'absent'}${c?.reason ? ` ${c.reason}` : ''})`;
      });
    return notReady.length ? pending(`not Ready: ${notReady.join(', ')}`) : succeeded(`${names.length} nodes Ready`);
  };
}

function apiHealthy(kube: KubeAccess, server: string): Check {
  return async () => {
    const [livez, readyz, verbose] = await Promise.all(['/livez', '/readyz', '/readyz?verbose'].map((p) => apiGet(kube, server, p, { allowRemote })));
    for (const [path, r] of [['/livez', livez], ['/readyz', readyz], ['/readyz?verbose', verbose]] as const) {
      if (r!.status !== 200) return pending(`${server}${path}: HTTP ${r!.status}: ${r!.body.split('\n').filter((l) => l.startsWith('[-]')).join(' ') || r!.body.slice(0, 300)}`);
    }
    if (!/^\[\+\]etcd ok$/m.test(verbose!.body)) return failed(`${server}/readyz?verbose does not list "[+]etcd ok":\n${verbose!.body}`);
    return succeeded(`${server}: /livez ok, /readyz ok, etcd ok`);
  };
}

function endpointsReady(kube: KubeAccess): Check {
  const discovery = kube.config.makeApiClient(k8s.DiscoveryV1Api);
  return async () => {
    const [services, slices] = await Promise.all([kube.core.listServiceForAllNamespaces(), discovery.listEndpointSliceForAllNamespaces()]);
    const checked = services.items.filter((s) => s.spec?.type === 'ClusterIP' || s.spec?.type === 'LoadBalancer');
    const empty = checked.flatMap((s) => {
      const endpoints = slices.items
        .filter((sl) => sl.metadata?.namespace === s.metadata?.namespace && sl.metadata?.labels?.['kubernetes.io/service-name'] === s.metadata?.name)
        .flatMap((sl) => sl.endpoints ?? []);
      // an endpoint without a ready condition counts as ready (EndpointSlice API)
      return endpoints.some((e) => e.conditions?.ready !== false) ? [] : [`${nameOf(s)} (${endpoints.length} endpoint(s), none ready)`];
    });
    return empty.length ? pending(`Services without a ready endpoint: ${empty.join(', ')}`) : succeeded(`${checked.length} Services have ready endpoints`);
  };
}

/** failed: an address outside every pool; pending: a LoadBalancer Service still without an address. */
function loadBalancerIpsFromPools(kube: KubeAccess, profile: Profile): Check {
  const entries = profile.network.loadBalancerPools.flatMap((p) => p.addresses.map((a) => ({ name: `${p.name} ${a}`, range: parsePoolEntry(a) })));
  const inPool = (ip: string) => entries.some((e) => e.range && contains(e.range, parseIpv4(ip) ?? -1));
  return async () => {
    const lbs = (await kube.core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
    const ipsOf = (s: k8s.V1Service) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
    const outside = lbs.flatMap((s) => ipsOf(s).filter((ip) => !inPool(ip)).map((ip) => `${nameOf(s)} has ${ip}`));
    if (outside.length) return failed(`LoadBalancer addresses outside network.loadBalancerPools (${entries.map((e) => e.name).join(', ') || 'none declared'}): ${outside.join('; ')}`);
    const unassigned = lbs.filter((s) => !ipsOf(s).length).map(nameOf);
    if (unassigned.length) return pending(`no LoadBalancer controller assigned an address to ${unassigned.join(', ')}`);
    return succeeded(`${lbs.length} LoadBalancer Service(s), every address inside a declared pool`);
  };
}

describeSuite(suite('conformance/cluster-health'), () => {
  test('every profile node exists and is Ready', async ({ kube, profile }) => {
    await eventually('every profile node Ready', profileNodesReady(kube, profile.nodes.map((n) => n.name)), { timeoutMs: HEALTH_TIMEOUT_MS });
  });

  test(`control-plane nodes carry the ${CONTROL_PLANE_TAINT}:NoSchedule taint and the ${EXCLUDE_FROM_LB_LABEL} label`, async ({ kube, topology }) => {
    const nodes = await kube.nodes();
    const problems = topology.controlPlanes.flatMap((cp) => {
      const node = nodes.find((n) => n.metadata?.name === cp.name);
      if (!node) return [`${cp.name}: not in the cluster`];
      const taints = node.spec?.taints ?? [];
      return [
        ...(taints.some((t) => t.key === CONTROL_PLANE_TAINT && t.effect === 'NoSchedule')
          ? []
          : [`${cp.name}: no ${CONTROL_PLANE_TAINT}:NoSchedule taint (has ${taints.map((t) => `${t.key}:${t.effect}`).join(', ') || 'none'})`]),
        ...(node.metadata?.labels?.[EXCLUDE_FROM_LB_LABEL] !== undefined ? [] : [`${cp.name}: no ${EXCLUDE_FROM_LB_LABEL} label`]),
      ];
    });
    expect(problems, problems.join('; ')).toEqual([]);
  });

  test('the API is live and ready through the profile server, etcd included', async ({ kube, profile }) => {
    await eventually('API /livez, /readyz and etcd ok', apiHealthy(kube, profile.access.kubernetes.server), { timeoutMs: HEALTH_TIMEOUT_MS });
  });

  test('etcd: every member healthy, exactly one leader', async ({ etcd, topology }) => {
    await eventually('etcd members healthy', etcdMembersHealthy(etcd, topology.controlPlanes.length), { timeoutMs: HEALTH_TIMEOUT_MS });
  });

  for (const app of declared.apps) {
    test(`${app.name}: ${describeWorkload(workloadOf(app))} has its ${app.workload.replicas} replicas available`, async ({ kube }) => {
      await eventually(`${app.name} available`, workloadAvailable(kube, app), { timeoutMs: HEALTH_TIMEOUT_MS });
    });
  }

  test('every ClusterIP and LoadBalancer Service has ready endpoints', async ({ kube }) => {
    await eventually('Services have ready endpoints', endpointsReady(kube), { timeoutMs: HEALTH_TIMEOUT_MS });
  });

  test('every ArgoCD Application is Synced and Healthy', async ({ argocd }) => {
    await eventually(
      'every Application Synced and Healthy',
      async () => {
        const apps = await argocd.list();
        if (!apps.length) return failed(`no Application in namespace ${argocd.namespace}`);
        const off = apps.filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy');
        return off.length ? pending(off.map(describeApp).join('; ')) : succeeded(apps.map(describeApp).join('; '));
      },
      { timeoutMs: HEALTH_TIMEOUT_MS },
    );
  });

  test('LoadBalancer Services have an address from network.loadBalancerPools', async ({ kube, profile, target, skip }) => {
    const check = loadBalancerIpsFromPools(kube, profile);
    const lacking = target.lacking('metallb');
    if (lacking) {
      // without a LoadBalancer controller only the addresses that are there can be checked
      const outcome = await check();
      if (outcome.state === 'failed') throw new Error(outcome.message);
      if (outcome.state === 'pending') await skipBecause(skip, `${outcome.message}, and ${lacking}`);
      return;
    }
    await eventually('LoadBalancer addresses assigned from the pools', check, { timeoutMs: 30_000 });
  });
});
