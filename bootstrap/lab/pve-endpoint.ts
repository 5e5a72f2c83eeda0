/**
 * The lab's Proxmox-API-compatible power endpoint: the lab's five nodes appear as VMs 101-105 on the PVE
 * node `lab`, so the same ProxmoxNodeControl that drives a homelab drives the lab in CI. Every request is
 * judged against the PVE contract (providers/proxmox/contract.ts) before it is served; power
 * operations run as tasks with real UPIDs over the supervisor's LabPowerBackend.
 */
import { PveContract } from '../../providers/proxmox/contract.ts';
import { startPveServer, type PveExchange, type PveServer, type VmPowerBackend } from './pve-server/pve-server.ts';
import { parseTokenId } from '../../providers/proxmox/token.ts';

/** The lab's PVE node name. */
export const LAB_PVE_NODE = 'lab';

/** Lab node name -> VM id on LAB_PVE_NODE. */
export const LAB_VMIDS: Readonly<Record<string, number>> = Object.freeze({ cp1: 101, cp2: 102, cp3: 103, w1: 104, w2: 105 });

export function labVmidOf(nodeName: string): number | undefined {
  return Object.hasOwn(LAB_VMIDS, nodeName) ? LAB_VMIDS[nodeName] : undefined;
}

export function labNodeOfVmid(vmid: number): string | undefined {
  return Object.entries(LAB_VMIDS).find(([, id]) => id === vmid)?.[0];
}

/**
 * Node power as the lab supervisor implements it, with Proxmox's meanings: `stop` is a power loss (every process
 * of the node killed at once, its link down), `shutdown` an ACPI shutdown (SIGTERM in reverse start order, each
 * process given the timeout before SIGKILL), `start` a boot that keeps the node's data directories.
 */
export type LabPowerBackend = VmPowerBackend;

export interface LabPveEndpointOptions {
  backend: LabPowerBackend;
  /** PEM server certificate (SAN IP:127.0.0.1) and key */
  cert: string | Buffer;
  key: string | Buffer;
  /** 0 (default) picks a free port; the endpoint always listens on 127.0.0.1 */
  port?: number;
  /** USER@REALM!TOKENID and its UUID secret, as written into the lab profile */
  tokenId: string;
  tokenSecret: string;
  /** every request and its verdict; contract violations are also written to stderr when this is absent */
  onExchange?: (exchange: PveExchange) => void;
}

export type LabPveEndpoint = PveServer;

export async function startLabPveEndpoint(opts: LabPveEndpointOptions): Promise<LabPveEndpoint> {
  if (!parseTokenId(opts.tokenId)) throw new Error(`lab PVE endpoint: token id "${opts.tokenId}" is not USER@REALM!TOKENID`);
  return startPveServer({
    node: LAB_PVE_NODE,
    backend: opts.backend,
    cert: opts.cert,
    key: opts.key,
    port: opts.port,
    tokens: [{ id: opts.tokenId, secret: opts.tokenSecret }],
    contract: PveContract.load(),
    onExchange:
      opts.onExchange ??
      ((e) => {
        if (e.violation) process.stderr.write(`lab PVE endpoint: ${e.method} ${e.path}: ${e.violation.kind}: ${e.violation.message}\n`);
      }),
  });
}
