/**
 * What runs where: each API server's /version asked directly on its node (never through the VIP, which answers for
 * one of them only), each node's kubelet version, and the add-ons' versions where the target exposes them.
 */
import { apiGet } from '../api-get.ts';
import type { KubeAccess } from '../kube.ts';
import type { Inventory, NodeVersion } from '../../core/preflight/upgrade-path.ts';

export interface ControlPlaneEndpoint {
  node: string;
  /** https://<node address>:6443 */
  server: string;
}

export async function readInventory(
  kube: KubeAccess,
  controlPlanes: ControlPlaneEndpoint[],
  opts: { allowRemote?: boolean; components?: Record<string, () => Promise<string>> } = {},
): Promise<{ inventory: Inventory; unreachable: Array<{ node: string; error: string }> }> {
  const unreachable: Array<{ node: string; error: string }> = [];
  const apiservers: NodeVersion[] = [];
  await Promise.all(
    controlPlanes.map(async (cp) => {
      try {
        const res = await apiGet(kube, cp.server, '/version', { allowRemote: opts.allowRemote });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        apiservers.push({ node: cp.node, version: (JSON.parse(res.body) as { gitVersion: string }).gitVersion });
      } catch (err) {
        unreachable.push({ node: cp.node, error: `GET ${cp.server}/version: ${(err as Error).message}` });
      }
    }),
  );
  apiservers.sort((a, b) => a.node.localeCompare(b.node));
  const kubelets = (await kube.nodes()).map((n) => ({ node: n.metadata!.name!, version: n.status?.nodeInfo?.kubeletVersion ?? 'unknown' }));
  const components: Record<string, string> = {};
  for (const [name, read] of Object.entries(opts.components ?? {})) {
    try {
      components[name] = await read();
    } catch {
      // an add-on whose version cannot be read is left out of the inventory, not a failure of it
    }
  }
  return { inventory: { apiservers, kubelets, components }, unreachable };
}
