/**
 * The target profile: what a cluster is, how to reach it, what it must hold, and what may be done to it.
 * zod is the single source of truth: the TypeScript types, the validation messages and the JSON Schema
 * exported for editors (profiles/profile.schema.json) are all derived from this file.
 * Every object is strict: an unknown key is an error, so a typo can never pass silently.
 */
import { z } from 'zod';

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, {
    message: 'expected an IPv4 address such as 192.168.40.61',
  });
const cidr = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/, {
    message: 'expected an IPv4 CIDR such as 192.168.40.0/24',
  });
const dnsName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a lowercase DNS label (a-z, 0-9, -)' });
const url = z.url({ message: 'expected an absolute URL such as https://192.168.40.60:6443' });
const seconds = z.number().positive({ message: 'expected a number of seconds greater than 0' });

/** A secret is never inline: it is read from an environment variable or a file when the target is opened. */
export const SecretRef = z
  .strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' }).optional(),
    file: z.string().min(1).optional(),
  })
  .refine((s) => (s.env === undefined) !== (s.file === undefined), {
    message: 'a secret reference needs exactly one of { env: VAR } or { file: PATH }',
  })
  .describe('Where a secret comes from: { env: VAR } or { file: PATH }. Inline secrets are refused.');
export type SecretRef = z.infer<typeof SecretRef>;

/** A non-secret file that may also come from an env var (kubeconfig, talosconfig, CA bundle). */
export const FileRef = SecretRef;

export const Capability = z.enum([
  'talos',
  'proxmox',
  'cilium',
  'metallb',
  'argocd',
  'vip',
  'dataplane',
  'etcd-direct',
  'node-power',
  'gitops-push',
  'lab',
]);
export type Capability = z.infer<typeof Capability>;

export const NodeSpec = z.strictObject({
  name: dnsName.describe('Kubernetes node name'),
  role: z.enum(['control-plane', 'worker']),
  ip: ipv4.describe('the node address on the cluster LAN'),
  hypervisor: z
    .strictObject({
      node: z.string().min(1).describe('Proxmox node (host) name that runs the VM'),
      vmid: z.number().int().min(100).max(999999999).describe('Proxmox VM id (100..999999999)'),
      tag: z.string().optional().describe('Proxmox tag clusterproof uses to recognise VMs it manages'),
    })
    .optional()
    .describe('where the node runs: a Proxmox VM; absent on the lab'),
  resources: z
    .strictObject({
      cores: z.number().int().positive(),
      memoryMiB: z.number().int().positive(),
      diskGiB: z.number().int().positive(),
    })
    .optional(),
});
export type NodeSpec = z.infer<typeof NodeSpec>;

export const AppSpec = z.strictObject({
  name: dnsName.describe('ArgoCD Application name'),
  namespace: dnsName.describe('namespace the workload runs in'),
  path: z.string().min(1).describe('path of the app in the gitops repository'),
  workload: z.strictObject({
    kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
    name: dnsName,
    replicas: z.number().int().min(0),
    antiAffinity: z
      .enum(['required', 'preferred', 'none'])
      .describe('pod anti-affinity the owner intends: required spreads strictly, preferred may co-locate'),
    topologyKey: z.string().default('kubernetes.io/hostname'),
  }),
  service: z
    .strictObject({
      name: dnsName,
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']),
      port: z.number().int().min(1).max(65535),
      nodePort: z.number().int().optional(),
    })
    .optional(),
});
export type AppSpec = z.infer<typeof AppSpec>;

export const Slo = z.strictObject({
  etcdLeaderElectionSeconds: seconds,
  apiWriteRecoverySeconds: seconds,
  quorumLossWriteFailureSeconds: seconds,
  vipFailoverHardSeconds: seconds,
  vipFailoverGracefulSeconds: seconds,
  nodeNotReadySeconds: seconds,
  podEvictionSeconds: seconds,
  nodeRecoverySeconds: seconds,
  gitopsWebhookConvergenceSeconds: seconds,
  gitopsPollConvergenceSeconds: seconds,
  selfHealSeconds: seconds,
  loadBalancerFailoverSeconds: seconds,
  load: z.strictObject({
    p95Ms: z.number().positive(),
    p99Ms: z.number().positive(),
    maxErrorRate: z.number().min(0).max(1),
    failoverErrorBudget: z.number().min(0).max(1),
  }),
});
export type Slo = z.infer<typeof Slo>;

export const Profile = z.strictObject({
  apiVersion: z.literal('clusterproof/v1'),
  kind: z.literal('Profile'),
  metadata: z.strictObject({
    name: dnsName,
    description: z.string().optional(),
  }),
  target: z.strictObject({
    kind: z.enum(['talos-proxmox', 'lab', 'generic']),
    capabilities: z.array(Capability).describe('what this target offers; suites needing more are skipped'),
  }),
  network: z.strictObject({
    subnet: cidr.describe('the cluster LAN'),
    gateway: ipv4.optional(),
    vip: ipv4.describe('the shared Kubernetes API address held by one control-plane node'),
    interface: z.string().optional().describe('control-plane interface carrying the VIP'),
    podCIDR: cidr.optional(),
    serviceCIDR: cidr.optional(),
    loadBalancerPools: z
      .array(
        z.strictObject({
          name: dnsName,
          addresses: z.array(z.string().min(1)).min(1).describe('CIDRs or ranges a-b handed out by MetalLB'),
          mode: z.enum(['l2', 'bgp']).default('l2'),
        }),
      )
      .default([]),
  }),
  nodes: z.array(NodeSpec).min(1),
  access: z.strictObject({
    kubernetes: z.strictObject({
      server: url.describe('API server URL, normally https://<vip>:6443'),
      kubeconfig: FileRef.optional(),
    }),
    talos: z
      .strictObject({
        endpoints: z.array(ipv4).min(1).describe('node addresses for the Talos API; never the VIP'),
        talosconfig: FileRef,
      })
      .optional(),
    proxmox: z
      .strictObject({
        url: url,
        tokenId: SecretRef.describe('API token id, USER@REALM!TOKENID'),
        tokenSecret: SecretRef,
        caFile: z.string().optional().describe('PEM file pinning the Proxmox cluster CA'),
      })
      .optional(),
    etcd: z
      .strictObject({
        endpoints: z
          .array(z.strictObject({ node: dnsName, url: url }))
          .min(1)
          .describe('etcd client URLs per control-plane node, reached directly (never through the VIP)'),
        caFile: z.string().min(1),
        certFile: z.string().min(1),
        keyFile: z.string().min(1),
      })
      .optional()
      .describe('direct etcd client access (capability etcd-direct); Talos targets use access.talos instead'),
    argocd: z
      .strictObject({
        url: url,
        token: SecretRef.optional(),
        insecure: z.boolean().default(false),
      })
      .optional(),
  }),
  gitops: z
    .strictObject({
      repo: z.string().min(1),
      branch: z.string().min(1).default('main'),
      path: z.string().min(1).default('apps'),
      testBranch: z.string().optional().describe('throwaway branch suites may push to on a real target'),
      webhook: z.strictObject({ url: url.optional(), secret: SecretRef.optional() }).optional(),
      pollIntervalSeconds: seconds.optional().describe('ArgoCD reconciliation interval; upstream default 120 (+60 jitter)'),
    })
    .optional(),
  apps: z.array(AppSpec).default([]),
  slo: Slo,
  safety: z.strictObject({
    allowDestructive: z.boolean().default(false).describe('power faults allowed without --destructive (lab only)'),
    allowQuorumLoss: z.boolean().default(false).describe('taking 2 of 3 control planes down allowed without --allow-quorum-loss'),
    maxNodesDown: z.number().int().min(0).default(1),
    protectedNodes: z.array(dnsName).default([]).describe('nodes no fault may ever touch'),
    maxLoadRps: z.number().int().positive().default(100),
    maxLoadSeconds: z.number().int().positive().default(120),
  }),
});
export type Profile = z.infer<typeof Profile>;
