/** Access URLs and endpoints point at something the profile declares, and at the right thing. */
import { error, warning, type Finding } from '../finding.ts';
import { contains, formatIpv4, parseIpv4 } from '../../net/ipv4.ts';
import { nodeAt, type Topology } from '../topology.ts';
import { NODE_PORT_MAX, NODE_PORT_MIN } from './services.ts';

interface ParsedUrl {
  host: string;
  ip?: number;
  port: number;
}

function parseUrl(text: string): ParsedUrl | undefined {
  try {
    const u = new URL(text);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
    return { host, ip: parseIpv4(host), port };
  } catch {
    return undefined;
  }
}

export function checkAccess(t: Topology): Finding[] {
  return [...checkKubernetesServer(t), ...checkArgoCd(t), ...checkTalosEndpoints(t), ...checkEtcdEndpoints(t)];
}

function declared(t: Topology): string {
  return `the nodes (${t.nodes.map((n) => n.spec.ip).join(', ')}) or the VIP ${t.profile.network.vip}`;
}

function unknownHost(path: string, what: string, url: string, t: Topology): Finding {
  return warning('access-url-unknown-host', path, `${what} ${url} points at no declared node or VIP`, {
    explanation: `clusterproof reaches the target only through addresses the profile declares; ${url} is none of ${declared(t)}, so either the URL or the topology is out of date.`,
    suggestion: 'point it at the VIP or a node address, or add the missing node to the profile',
  });
}

function checkKubernetesServer(t: Topology): Finding[] {
  const path = 'access.kubernetes.server';
  const server = t.profile.access.kubernetes.server;
  const u = parseUrl(server);
  if (!u || (u.ip !== undefined && u.ip === t.vip)) return [];
  if (u.ip !== undefined && !nodeAt(t, u.ip)) return [unknownHost(path, 'the Kubernetes API server', server, t)];
  const node = u.ip !== undefined ? nodeAt(t, u.ip) : undefined;
  const target = node ? `node ${node.spec.name} directly` : `the host name ${u.host}, which lint cannot resolve`;
  return [
    warning('kubernetes-server-not-vip', path, `the Kubernetes API server ${server} is reached through ${target}, not through the VIP ${t.profile.network.vip}`, {
      explanation:
        'Suites power off control-plane nodes and measure VIP failover; a client bound to one node loses the API whenever that node ' +
        'is down and never exercises the VIP the cluster relies on.',
      suggestion: `set it to https://${t.profile.network.vip}:${u.port}`,
    }),
  ];
}

function checkArgoCd(t: Topology): Finding[] {
  const argocd = t.profile.access.argocd;
  if (!argocd) return [];
  const path = 'access.argocd.url';
  const u = parseUrl(argocd.url);
  if (!u || u.ip === undefined) return [];
  const inPool = t.pools.some((p) => p.entries.some((e) => e.range && contains(e.range, u.ip!)));
  const node = nodeAt(t, u.ip);
  if (!node && u.ip !== t.vip && !inPool) return [unknownHost(path, 'the ArgoCD URL', argocd.url, t)];
  const findings: Finding[] = [];
  if (node) {
    findings.push(
      warning('argocd-url-single-node', path, `ArgoCD is reached through node ${node.spec.name} only (${argocd.url})`, {
        explanation:
          `A NodePort answers on every node, but this URL names one: while ${node.spec.name} is powered off by a suite, ` +
          'clusterproof loses ArgoCD even though ArgoCD itself may be fine, and GitOps checks fail for the wrong reason.',
        suggestion: 'expose argocd-server through a LoadBalancer address from the MetalLB pool, or accept that suites avoid faulting this node',
      }),
    );
  }
  if ((node || u.ip === t.vip) && (u.port < NODE_PORT_MIN || u.port > NODE_PORT_MAX)) {
    findings.push(
      warning('argocd-port-not-nodeport', path, `ArgoCD port ${u.port} on a node address is outside the NodePort range ${NODE_PORT_MIN}-${NODE_PORT_MAX}`, {
        explanation: 'ArgoCD runs in pods; on a node address it is normally reached through a NodePort, which lies in the node port range.',
        suggestion: 'use the NodePort of the argocd-server Service (kubectl -n argocd get svc argocd-server)',
      }),
    );
  }
  const clash = t.profile.apps.find((a) => a.service?.nodePort === u.port);
  if ((node || u.ip === t.vip) && clash) {
    findings.push(
      error('argocd-port-conflict', path, `ArgoCD port ${u.port} is also the nodePort of app ${clash.name}`, {
        explanation: 'A node port belongs to exactly one Service; the two cannot both listen on it.',
        suggestion: `change the nodePort of ${clash.name} or correct the ArgoCD URL`,
      }),
    );
  }
  return findings;
}

function checkTalosEndpoints(t: Topology): Finding[] {
  const talos = t.profile.access.talos;
  if (!talos) return [];
  const findings: Finding[] = [];
  talos.endpoints.forEach((endpoint, i) => {
    const path = `access.talos.endpoints[${i}]`;
    const ip = parseIpv4(endpoint);
    if (ip === undefined) return;
    if (ip === t.vip) {
      findings.push(
        error('talos-endpoint-is-vip', path, `Talos endpoint ${endpoint} is the API VIP`, {
          explanation:
            'The Talos documentation says not to use the VIP as the talosconfig endpoint: the VIP depends on etcd and on the ' +
            'Kubernetes control plane, so exactly when a control-plane node or etcd is in trouble, the Talos API would be unreachable ' +
            'through it, and the suites could neither observe nor recover the cluster.',
          suggestion: `list the control-plane addresses instead: ${t.controlPlanes.map((c) => c.spec.ip).join(', ')}`,
        }),
      );
      return;
    }
    const node = nodeAt(t, ip);
    if (!node) {
      findings.push(unknownHost(path, 'Talos endpoint', endpoint, t));
    } else if (node.spec.role !== 'control-plane') {
      findings.push(
        warning('talos-endpoint-not-control-plane', path, `Talos endpoint ${endpoint} is worker ${node.spec.name}`, {
          explanation: 'talosctl endpoints should be control-plane nodes, which proxy requests to any node; a worker endpoint is lost with that worker.',
          suggestion: `use the control-plane addresses: ${t.controlPlanes.map((c) => c.spec.ip).join(', ')}`,
        }),
      );
    }
  });
  return findings;
}

function checkEtcdEndpoints(t: Topology): Finding[] {
  const etcd = t.profile.access.etcd;
  if (!etcd) return [];
  const findings: Finding[] = [];
  etcd.endpoints.forEach((endpoint, i) => {
    const path = `access.etcd.endpoints[${i}]`;
    const node = t.nodes.find((n) => n.spec.name === endpoint.node);
    const u = parseUrl(endpoint.url);
    if (u?.ip !== undefined && u.ip === t.vip) {
      findings.push(
        error('etcd-endpoint-is-vip', `${path}.url`, `etcd endpoint ${endpoint.url} goes through the API VIP`, {
          explanation: 'Per-member etcd status must be read from each member directly; through the VIP every request lands on whichever node holds it, and nothing answers while it moves.',
          suggestion: node ? `use ${node.spec.name}'s own address: https://${node.spec.ip}:2379` : 'use each control-plane node address',
        }),
      );
    }
    if (!node) {
      findings.push(
        error('etcd-endpoint-unknown-node', `${path}.node`, `etcd endpoint names node ${endpoint.node}, which the profile does not declare`, {
          suggestion: `use one of: ${t.controlPlanes.map((c) => c.spec.name).join(', ')}`,
        }),
      );
    } else if (node.spec.role !== 'control-plane') {
      findings.push(
        error('etcd-endpoint-not-control-plane', `${path}.node`, `etcd endpoint names ${node.spec.name}, a worker; etcd runs on control-plane nodes only`),
      );
    } else if (u?.ip !== undefined && u.ip !== t.vip && u.ip !== node.ip) {
      findings.push(
        warning('etcd-endpoint-address-mismatch', `${path}.url`, `etcd endpoint for ${node.spec.name} points at ${formatIpv4(u.ip)}, not at its address ${node.spec.ip}`),
      );
    }
  });
  return findings;
}
