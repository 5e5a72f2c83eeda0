/**
 * The data plane serves: from inside a pod (a probe pod of the profile's target.probeImage), every Service name
 * resolves through the cluster DNS to its ClusterIP, and every Service answers on its ClusterIP and on each of its
 * ready endpoints; from where clusterproof runs, every LoadBalancer address answers on its ports. Needs a target
 * whose pods really run (capability dataplane).
 */
import { Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { assertDestination } from '../../core/safety/destinations.ts';
import { attachText } from '../../core/report/attach.ts';
import { eventually, pending, succeeded, type Check } from '../../fixtures/expect/expectation.ts';
import { startProbePod, type ProbePod } from '../../fixtures/probe-pod.ts';
import { runContext } from '../../fixtures/run-context.ts';
import { describeSuite, skipBecause, test } from '../../fixtures/test.ts';
import type { KubeAccess } from '../../providers/kube.ts';
import { suite } from '../catalogue.ts';

/** long enough for a Service that was just rolled or a node just restored, short enough to report a broken one soon */
const SERVE_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_S = 3;

const { allowRemote } = runContext();
const nameOf = (s: k8s.V1Service) => `${s.metadata!.namespace}/${s.metadata!.name}`;
const hasClusterIp = (s: k8s.V1Service) => !!s.spec?.clusterIP && s.spec.clusterIP !== 'None' && s.spec.type !== 'ExternalName';

/** Shell-quoted for busybox sh: only the characters DNS names, IPs and our labels use get through unquoted. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `nslookup` output after its "Name:" line: the addresses the name resolved to (the Server lines come before it). */
function resolvedAddresses(output: string): string[] {
  const at = output.search(/^Name:/m);
  if (at < 0) return [];
  return [...output.slice(at).matchAll(/^Address(?:\s+\d+)?:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]!);
}

function serviceNamesResolve(probe: ProbePod, services: k8s.V1Service[], domain: string): Check<string> {
  const names = services.map((s) => ({ service: s, fqdn: `${s.metadata!.name}.${s.metadata!.namespace}.svc.${domain}` }));
  // busybox nslookup retries for a long while when no server answers: each lookup gets 5 s
  const script = names.map(({ fqdn }) => `echo "== ${fqdn}"; timeout 5 nslookup -type=a ${quote(fqdn)} 2>&1; echo "== rc=$?"`).join('\n');
  return async () => {
    const r = await probe.sh(script, 30_000 + names.length * 5_000);
    const blocks = r.stdout.split(/^== (?=[a-z0-9])/m).slice(1);
    const wrong = names.flatMap(({ service, fqdn }) => {
      const block = blocks.find((b) => b.startsWith(`${fqdn}\n`)) ?? '';
      const got = resolvedAddresses(block);
      if (got.includes(service.spec!.clusterIP!)) return [];
      return [
        got.length
          ? `${fqdn} resolved to ${got.join(', ')}, not the Service's ClusterIP ${service.spec!.clusterIP}`
          : `${fqdn} did not resolve: ${block.replace(/^.*\n/, '').replace(/\n== rc=\d+\s*$/, '').trim().split('\n').slice(-2).join(' / ') || r.stderr.trim()}`,
      ];
    });
    if (wrong.length) return pending(`from ${probe.name} on ${probe.node}: ${wrong.join('; ')}`);
    return succeeded(`${names.length} Service names resolve to their ClusterIPs from ${probe.name} on ${probe.node}`, r.stdout);
  };
}

interface TcpTarget {
  ip: string;
  port: number;
  what: string;
}

/** Each TCP port of each Service, on its ClusterIP and on every ready endpoint (the EndpointSlices' addresses). */
async function serviceTargets(kube: KubeAccess, services: k8s.V1Service[]): Promise<TcpTarget[]> {
  const slices = (await kube.config.makeApiClient(k8s.DiscoveryV1Api).listEndpointSliceForAllNamespaces()).items;
  return services.flatMap((s) => {
    const tcp = (s.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
    const mine = slices.filter((sl) => sl.metadata?.namespace === s.metadata?.namespace && sl.metadata?.labels?.['kubernetes.io/service-name'] === s.metadata?.name);
    return tcp.flatMap((p) => {
      const label = `${nameOf(s)}:${p.name ?? p.port}`;
      const endpoints = mine.flatMap((sl) => {
        const port = sl.ports?.find((x) => (x.name ?? '') === (p.name ?? ''))?.port;
        if (port === undefined) return [];
        return (sl.endpoints ?? [])
          .filter((e) => e.conditions?.ready !== false)
          .flatMap((e) => e.addresses.map((ip) => ({ ip, port, what: `${label} endpoint ${e.targetRef?.name ?? ip} ${ip}:${port}` })));
      });
      return [{ ip: s.spec!.clusterIP!, port: p.port, what: `${label} ClusterIP ${s.spec!.clusterIP}:${p.port}` }, ...endpoints];
    });
  });
}

function servicesAnswerInside(kube: KubeAccess, probe: ProbePod, services: k8s.V1Service[]): Check<string> {
  return async () => {
    const targets = await serviceTargets(kube, services);
    // busybox's nc connects, sees stdin end and exits 0; a refused or timed-out connect exits non-zero
    const script = targets
      .map((t, i) => `if nc -w ${CONNECT_TIMEOUT_S} ${t.ip} ${t.port} </dev/null >/dev/null 2>/tmp/e${i}; then echo "ok ${i}"; else echo "no ${i} $(cat /tmp/e${i})"; fi`)
      .join('\n');
    const r = await probe.sh(script, 30_000 + targets.length * CONNECT_TIMEOUT_S * 1000);
    const silent = targets.flatMap((t, i) => {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`ok ${i}`) || l.startsWith(`no ${i} `) || l === `no ${i}`);
      if (line?.startsWith('ok ')) return [];
      return [`${t.what}: ${line?.replace(/^no \d+ ?/, '').trim() || 'no answer'}`];
    });
    if (silent.length) return pending(`from ${probe.name} on ${probe.node}, ${silent.length} of ${targets.length} do not answer: ${silent.join('; ')}`);
    return succeeded(`${targets.length} ClusterIP and endpoint ports answer from ${probe.name} on ${probe.node}`, targets.map((t) => t.what).join('\n'));
  };
}

function tcpConnect(ip: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('error', (err: Error & { code?: string }) => done(err.code ?? err.message));
    socket.connect(port, ip, () => done());
  });
}

function loadBalancersAnswerHere(kube: KubeAccess): Check<string> {
  return async () => {
    const lbs = (await kube.core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
    const targets = lbs.flatMap((s) =>
      (s.status?.loadBalancer?.ingress ?? [])
        .map((i) => i.ip)
        .filter((ip): ip is string => !!ip)
        .flatMap((ip) => (s.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => ({ ip, port: p.port, what: `${nameOf(s)} ${ip}:${p.port}` }))),
    );
    if (!targets.length) return pending(`no LoadBalancer Service has an address to try yet (${lbs.map(nameOf).join(', ')})`);
    for (const t of targets) assertDestination(t.ip, { allowRemote });
    const problems = (await Promise.all(targets.map(async (t) => ({ t, problem: await tcpConnect(t.ip, t.port, CONNECT_TIMEOUT_S * 1000) })))).filter((x) => x.problem);
    if (problems.length) return pending(`from here, ${problems.map(({ t, problem }) => `${t.what}: ${problem}`).join('; ')}`);
    return succeeded(`${targets.length} LoadBalancer address ports answer from here`, targets.map((t) => t.what).join('\n'));
  };
}

describeSuite(suite('conformance/data-plane'), () => {
  const clusterIpServices = async (kube: KubeAccess) => (await kube.core.listServiceForAllNamespaces()).items.filter(hasClusterIp);

  test('from inside a pod, every Service name resolves through the cluster DNS to its ClusterIP', async ({ kube, faults, profile }) => {
    const probe = await startProbePod(kube, faults, profile, { why: 'resolves every Service name from inside the cluster' });
    const services = await clusterIpServices(kube);
    const { value } = await eventually('Service names resolve', serviceNamesResolve(probe, services, profile.network.clusterDomain), { timeoutMs: SERVE_TIMEOUT_MS });
    await attachText('nslookup from the probe pod', value);
  });

  test('from inside a pod, every Service answers on its ClusterIP and on each ready endpoint', async ({ kube, faults, profile }) => {
    const probe = await startProbePod(kube, faults, profile, { why: "connects to every Service's ClusterIP and endpoints from inside the cluster" });
    const services = await clusterIpServices(kube);
    const { value } = await eventually('Services answer from inside', servicesAnswerInside(kube, probe, services), { timeoutMs: SERVE_TIMEOUT_MS });
    await attachText('answered from the probe pod', value);
  });

  test('from here, every LoadBalancer address answers on its ports', async ({ kube, skip }) => {
    const lbs = (await kube.core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
    if (!lbs.length) await skipBecause(skip, 'the cluster has no LoadBalancer Service');
    const { value } = await eventually('LoadBalancer addresses answer', loadBalancersAnswerHere(kube), { timeoutMs: SERVE_TIMEOUT_MS });
    await attachText('LoadBalancer ports that answered', value);
  });
});
