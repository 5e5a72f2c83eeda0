/** App Services: node ports in range and unique, LoadBalancers with a pool to draw from, apps declared once. */
import { error, type Finding } from '../finding.ts';
import type { Topology } from '../topology.ts';

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
const NODE_PORT_RANGE = `kube-apiserver allocates node ports from --service-node-port-range, ${NODE_PORT_MIN}-${NODE_PORT_MAX} by default, and rejects a Service asking for one outside it`;

export function checkServices(t: Topology): Finding[] {
  const findings: Finding[] = [];
  const nodePorts = new Map<number, string>();
  t.profile.apps.forEach((app, i) => {
    const svc = app.service;
    if (!svc) return;
    const path = `apps[${i}].service`;
    if (svc.nodePort !== undefined) {
      if (svc.type === 'ClusterIP') {
        findings.push(
          error('nodeport-on-clusterip', `${path}.nodePort`, `${app.name}: Service ${svc.name} is type ClusterIP but declares nodePort ${svc.nodePort}`, {
            explanation: 'Only NodePort and LoadBalancer Services have node ports; the API server rejects nodePort on a ClusterIP Service.',
            suggestion: 'remove nodePort, or set type: NodePort',
          }),
        );
      } else if (svc.nodePort < NODE_PORT_MIN || svc.nodePort > NODE_PORT_MAX) {
        findings.push(
          error('nodeport-out-of-range', `${path}.nodePort`, `${app.name}: nodePort ${svc.nodePort} is outside ${NODE_PORT_MIN}-${NODE_PORT_MAX}`, {
            explanation: `${NODE_PORT_RANGE}.`,
            suggestion: `pick a port between ${NODE_PORT_MIN} and ${NODE_PORT_MAX}, or leave nodePort out to get one assigned`,
          }),
        );
      }
      const other = nodePorts.get(svc.nodePort);
      if (other) {
        findings.push(
          error('duplicate-nodeport', `${path}.nodePort`, `${app.name}: nodePort ${svc.nodePort} is already used by ${other}`, {
            explanation: 'A node port is opened on every node for one Service; the second Service asking for it is rejected.',
            suggestion: 'give each Service its own node port',
          }),
        );
      } else nodePorts.set(svc.nodePort, app.name);
    }
    if (svc.type === 'LoadBalancer' && t.pools.length === 0) {
      findings.push(
        error('loadbalancer-without-pool', `${path}.type`, `${app.name}: Service ${svc.name} is a LoadBalancer but network.loadBalancerPools is empty`, {
          explanation: 'Without a MetalLB pool no external IP is ever assigned: the Service stays <pending> and the load suites have no address to target.',
          suggestion: 'declare the MetalLB IPAddressPool under network.loadBalancerPools',
        }),
      );
    }
  });
  findings.push(...checkUniqueApps(t));
  return findings;
}

function checkUniqueApps(t: Topology): Finding[] {
  const findings: Finding[] = [];
  const names = new Map<string, number>();
  t.profile.apps.forEach((app, i) => {
    const first = names.get(app.name);
    if (first !== undefined) {
      findings.push(
        error('duplicate-app', `apps[${i}].name`, `app ${app.name} is declared twice (apps[${first}] and apps[${i}])`, {
          explanation: 'ArgoCD Application names are unique; suites look apps up by name.',
          suggestion: 'merge the two entries or rename one',
        }),
      );
    } else names.set(app.name, i);
  });
  return findings;
}
