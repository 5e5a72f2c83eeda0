/**
 * The target profile: what a cluster is, how to reach it, what it must hold, and what may be done to it.
 * zod is the single source of truth: the TypeScript types, the validation messages and the JSON Schema
 * exported for editors (profiles/profile.schema.json) are all derived from this file.
 * Every object is strict: an unknown key is an error, so a typo can never pass silently.
 * Messages given here are phrased as "expected ..." because core/profile/issues.ts prefixes them with the
 * field path and the value that was found; descriptions end up in docs/profile.md.
 */
import { z } from 'zod';

export const INLINE_SECRET_REFUSED = 'inline secrets are refused: use { env: VAR } or { file: PATH }';

const IPV4_EXPECTED = 'expected an IPv4 address such as 192.168.40.61';
const CIDR_EXPECTED = 'expected an IPv4 CIDR such as 192.168.40.0/24';
const DNS_EXPECTED = 'expected a lowercase DNS label (a-z, 0-9 and -, starting and ending with a letter or digit)';
const URL_EXPECTED = 'expected an absolute URL such as https://192.168.40.60:6443';
const SECONDS_EXPECTED = 'expected a number of seconds greater than 0';

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4 = z
  .string({ error: IPV4_EXPECTED })
  .regex(new RegExp(`^${octet}(\\.${octet}){3}$`), { message: IPV4_EXPECTED })
  .meta({ title: 'IPv4 address', format: 'ipv4' });
const cidr = z
  .string({ error: CIDR_EXPECTED })
  .regex(new RegExp(`^${octet}(\\.${octet}){3}\\/(3[0-2]|[12]?\\d)$`), { message: CIDR_EXPECTED })
  .meta({ title: 'IPv4 CIDR' });
const dnsName = z
  .string({ error: DNS_EXPECTED })
  .max(63, { message: 'expected at most 63 characters (a DNS label)' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: DNS_EXPECTED })
  .meta({ title: 'DNS label' });
const url = z.url({ error: URL_EXPECTED }).meta({ title: 'URL' });
const seconds = z.number({ error: SECONDS_EXPECTED }).positive({ message: SECONDS_EXPECTED }).meta({ title: 'seconds' });
const port = z.number().int().min(1).max(65535);

/** A secret is never inline: it is read from an environment variable or a file when the target is opened. */
export const SecretRef = z
  .strictObject(
    {
      env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name such as PROXMOX_TOKEN_SECRET' })
        .optional()
        .describe('name of the environment variable holding the value'),
      file: z.string().min(1).optional().describe('file holding the value; relative paths start at the profile directory'),
    },
    {
      error: (iss) => {
        if (iss.code !== 'invalid_type') return undefined;
        // a value written where a reference belongs (string, number, list...) is treated as an inline secret
        return iss.input === undefined || iss.input === null ? 'expected { env: VAR } or { file: PATH }' : INLINE_SECRET_REFUSED;
      },
    },
  )
  .refine((s) => (s.env === undefined) !== (s.file === undefined), {
    message: 'a secret reference needs exactly one of { env: VAR } or { file: PATH }',
  })
  .meta({
    title: 'secret reference',
    description: 'Where a secret comes from: { env: VAR } or { file: PATH }. Inline secrets are refused.',
  });
export type SecretRef = z.infer<typeof SecretRef>;

/** A non-secret file that may also come from an env var (kubeconfig, talosconfig, CA bundle): the variable names the file. */
export const FileRef = SecretRef;

export const Capability = z
  .enum([
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
  ])
  .describe('a feature of the target that suites may rely on');
export type Capability = z.infer<typeof Capability>;

export const NodeSpec = z.strictObject({
  name: dnsName.describe('Kubernetes node name, as `kubectl get nodes` shows it'),
  role: z
    .enum(['control-plane', 'worker'])
    .describe('control-plane nodes run etcd and the API server and are tainted NoSchedule; workers run the apps'),
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
      cores: z.number().int().positive().describe('virtual CPU cores'),
      memoryMiB: z.number().int().positive().describe('memory in MiB'),
      diskGiB: z.number().int().positive().describe('system disk size in GiB'),
    })
    .optional()
    .describe('VM size, used by bootstrap when it creates the VM'),
});
export type NodeSpec = z.infer<typeof NodeSpec>;

export const AppSpec = z.strictObject({
  name: dnsName.describe('ArgoCD Application name'),
  namespace: dnsName.describe('namespace the workload runs in'),
  path: z.string().min(1).describe('path of the app in the gitops repository'),
  workload: z
    .strictObject({
      kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment').describe('workload resource kind'),
      name: dnsName.describe('workload resource name'),
      replicas: z.number().int().min(0).describe('desired replica count'),
      antiAffinity: z
        .enum(['required', 'preferred', 'none'])
        .describe('pod anti-affinity the owner intends: required spreads strictly, preferred may co-locate'),
      topologyKey: z
        .string()
        .default('kubernetes.io/hostname')
        .describe('node label the anti-affinity spreads over; kubernetes.io/hostname means one replica per node'),
    })
    .describe('the workload whose placement and replica count suites check'),
  service: z
    .strictObject({
      name: dnsName.describe('Service name'),
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).describe('Service type'),
      port: port.describe('Service port'),
      nodePort: z
        .number()
        .int()
        .optional()
        .describe('fixed node port for NodePort/LoadBalancer Services (default range 30000-32767)'),
    })
    .optional()
    .describe('the Service in front of the workload'),
});
export type AppSpec = z.infer<typeof AppSpec>;

export const Slo = z
  .strictObject({
    etcdLeaderElectionSeconds: seconds.describe('etcd leader lost → a new leader elected'),
    apiWriteRecoverySeconds: seconds.describe('a control-plane node lost → writes through the VIP accepted again'),
    quorumLossWriteFailureSeconds: seconds.describe('etcd quorum lost → writes observed failing (not hanging)'),
    vipFailoverHardSeconds: seconds.describe('VIP holder powered off → /readyz answers through the VIP again'),
    vipFailoverGracefulSeconds: seconds.describe('VIP holder shut down gracefully → /readyz answers through the VIP again'),
    nodeNotReadySeconds: seconds.describe('node powered off → its Node object is NotReady'),
    podEvictionSeconds: seconds.describe('node powered off → its pods are evicted and replaced elsewhere'),
    nodeRecoverySeconds: seconds.describe('node powered on → Ready again'),
    gitopsWebhookConvergenceSeconds: seconds.describe('git push with a webhook → app Synced at that commit and Healthy'),
    gitopsPollConvergenceSeconds: seconds.describe('git push without a webhook → app Synced at that commit and Healthy'),
    selfHealSeconds: seconds.describe('live drift from git → reverted by ArgoCD self-heal'),
    loadBalancerFailoverSeconds: seconds.describe('LoadBalancer IP owner lost → the IP answers from another node'),
    upgradeApiGapSeconds: seconds
      .default(10)
      .describe('rolling Kubernetes upgrade → the longest stretch /readyz does not answer through the VIP (the VIP holder restarts once)'),
    load: z
      .strictObject({
        p95Ms: z.number().positive().describe('95th percentile latency in milliseconds under steady load'),
        p99Ms: z.number().positive().describe('99th percentile latency in milliseconds under steady load'),
        maxErrorRate: z.number().min(0).max(1).describe('share of failed requests allowed under steady load (0..1)'),
        failoverErrorBudget: z.number().min(0).max(1).describe('share of failed requests allowed during a failover (0..1)'),
      })
      .describe('load-test thresholds'),
  })
  .describe('service-level objectives: durations the suites assert, in seconds unless named otherwise');
export type Slo = z.infer<typeof Slo>;

/** Image Factory schematic with the siderolabs/qemu-guest-agent extension (Talos docs, virtualized-platforms/proxmox). */
export const QEMU_GUEST_AGENT_SCHEMATIC = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';

/** How `clusterproof bootstrap` stands the stack up; every field has a default, so the whole block is optional. */
export const BootstrapSpec = z
  .strictObject({
    outputDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'where Talos secrets, machine configs, talosconfig, kubeconfig and addon manifests are written (relative to the ' +
          'profile directory); default <state dir>/bootstrap/<metadata.name>. Back it up: secrets.yaml cannot be regenerated',
      ),
    proxmox: z
      .strictObject({
        isoStorage: z.string().min(1).default('local').describe('Proxmox storage (content type iso) the Talos ISO is downloaded to'),
        diskStorage: z.string().min(1).default('local-lvm').describe('Proxmox storage the VM system disks are allocated on'),
        bridge: z.string().min(1).default('vmbr0').describe('Linux bridge the VM network card is attached to'),
        vlan: z.number().int().min(1).max(4094).optional().describe('802.1Q VLAN tag of the VM network card; absent: untagged'),
        cpuType: z
          .string()
          .min(1)
          .default('x86-64-v2-AES')
          .describe('QEMU CPU type; Talos needs the x86-64-v2 feature set (x86-64-v2-AES, x86-64-v3 or host)'),
        tag: z
          .string()
          .regex(/^[a-z0-9_][a-z0-9_\-+.]*$/i, { message: 'expected a Proxmox tag (letters, digits, _ - + .)' })
          .default('clusterproof')
          .describe('tag put on every VM bootstrap creates; only VMs carrying it are adopted or destroyed (nodes[].hypervisor.tag overrides it per node)'),
      })
      .prefault({})
      .describe('Proxmox VE side of bootstrap'),
    talos: z
      .strictObject({
        version: z
          .string()
          .regex(/^v\d+\.\d+\.\d+$/, { message: 'expected a Talos version such as v1.11.5' })
          .default('v1.11.5')
          .describe('Talos version of the ISO and the installer image'),
        schematicId: z
          .string()
          .regex(/^[0-9a-f]{64}$/, { message: 'expected a 64-hex-digit Image Factory schematic id' })
          .default(QEMU_GUEST_AGENT_SCHEMATIC)
          .describe('Image Factory schematic; the default adds the qemu-guest-agent extension'),
        installDisk: z.string().min(1).default('/dev/sda').describe('disk Talos installs to (/dev/sda for the scsi disk bootstrap creates)'),
        kubernetesVersion: z
          .string()
          .regex(/^v?\d+\.\d+\.\d+$/, { message: 'expected a Kubernetes version such as 1.34.1' })
          .optional()
          .describe("Kubernetes version; absent: the Talos release's default"),
      })
      .prefault({})
      .describe('Talos machine configuration'),
    addons: z
      .strictObject({
        ciliumVersion: z.string().min(1).default('1.18.0').describe('Cilium Helm chart version'),
        metallbVersion: z.string().min(1).default('v0.15.3').describe('MetalLB release whose native manifest is applied'),
        argocdVersion: z.string().min(1).default('v3.2.11').describe('ArgoCD release whose install manifest is applied'),
        argocdNodePort: port.default(31659).describe('NodePort argocd-server is exposed on (HTTPS)'),
      })
      .prefault({})
      .describe('cluster addons installed after Talos'),
  })
  .describe('how `clusterproof bootstrap` builds the cluster on Proxmox VE; every field has a default');
export type BootstrapSpec = z.infer<typeof BootstrapSpec>;

export const Profile = z.strictObject({
  apiVersion: z.literal('clusterproof/v1').describe('profile format version'),
  kind: z.literal('Profile').describe('always Profile'),
  metadata: z
    .strictObject({
      name: dnsName.describe('target name, shown in reports'),
      description: z.string().optional().describe('free text shown in reports'),
    })
    .describe('identity of the target'),
  target: z
    .strictObject({
      kind: z.enum(['talos-proxmox', 'lab', 'generic']).describe('which providers drive the target'),
      capabilities: z.array(Capability).describe('what this target offers; suites needing more are skipped'),
      probeImage: z
        .string()
        .min(1)
        .default('busybox:1.36.1')
        .describe("image of the probe pod conformance/data-plane runs (it calls busybox's sh, nslookup, nc and timeout); pulled if absent"),
      loadEngine: z
        .enum(['embedded', 'k6'])
        .default('embedded')
        .describe('what sends the load suites\' requests: the embedded engine (clusterproof-load, built by lab build) or your own k6 on PATH; `run --load-engine` overrides it'),
    })
    .describe('what kind of target this is and what it can do'),
  network: z
    .strictObject({
      subnet: cidr.describe('the cluster LAN'),
      gateway: ipv4.optional().describe('default gateway of the LAN'),
      vip: ipv4.describe('the shared Kubernetes API address held by one control-plane node'),
      interface: z.string().optional().describe('control-plane interface carrying the VIP'),
      podCIDR: cidr.optional().describe('pod network'),
      serviceCIDR: cidr.optional().describe('Service ClusterIP network'),
      clusterDomain: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { message: 'expected a DNS domain, e.g. cluster.local' })
        .default('cluster.local').describe('the cluster DNS domain Service names resolve under (<service>.<namespace>.svc.<domain>)'),
      loadBalancerPools: z
        .array(
          z.strictObject({
            name: dnsName.describe('MetalLB IPAddressPool name'),
            addresses: z.array(z.string().min(1)).min(1).describe('CIDRs or ranges a-b handed out by MetalLB'),
            mode: z.enum(['l2', 'bgp']).default('l2').describe('how MetalLB announces the addresses'),
          }),
        )
        .default([])
        .describe('MetalLB address pools for LoadBalancer Services'),
    })
    .describe('addresses of the cluster LAN'),
  nodes: z.array(NodeSpec).min(1).describe('every node of the cluster'),
  access: z
    .strictObject({
      kubernetes: z
        .strictObject({
          server: url.describe('API server URL, normally https://<vip>:6443'),
          kubeconfig: FileRef.optional().describe('kubeconfig file: { file: PATH } or { env: VAR } naming the file'),
        })
        .describe('Kubernetes API access'),
      talos: z
        .strictObject({
          endpoints: z.array(ipv4).min(1).describe('node addresses for the Talos API; never the VIP'),
          talosconfig: FileRef.describe('talosconfig file: { file: PATH } or { env: VAR } naming the file'),
        })
        .optional()
        .describe('Talos API access (capability talos)'),
      proxmox: z
        .strictObject({
          url: url.describe('Proxmox VE API base URL, e.g. https://pve.example:8006'),
          tokenId: SecretRef.describe('API token id, USER@REALM!TOKENID'),
          tokenSecret: SecretRef.describe('API token secret, a UUID'),
          caFile: z.string().optional().describe('PEM file pinning the Proxmox cluster CA'),
        })
        .optional()
        .describe('Proxmox VE API access (capabilities proxmox, node-power)'),
      etcd: z
        .strictObject({
          endpoints: z
            .array(z.strictObject({ node: dnsName.describe('control-plane node name'), url: url.describe('etcd client URL') }))
            .min(1)
            .describe('etcd client URLs per control-plane node, reached directly (never through the VIP)'),
          caFile: z.string().min(1).describe('etcd CA certificate (PEM)'),
          certFile: z.string().min(1).describe('etcd client certificate (PEM)'),
          keyFile: z.string().min(1).describe('etcd client key (PEM)'),
        })
        .optional()
        .describe('direct etcd client access (capability etcd-direct); Talos targets use access.talos instead'),
      argocd: z
        .strictObject({
          url: url.describe('ArgoCD API / UI URL'),
          token: SecretRef.optional().describe('ArgoCD API token'),
          insecure: z.boolean().default(false).describe('skip TLS verification (argocd-server self-signed certificate)'),
        })
        .optional()
        .describe('ArgoCD API access (capability argocd)'),
    })
    .describe('how clusterproof reaches the target; every secret comes from { env } or { file }'),
  gitops: z
    .strictObject({
      repo: z.string().min(1).describe('git URL of the gitops repository ArgoCD syncs from'),
      branch: z.string().min(1).default('main').describe('branch ArgoCD tracks'),
      path: z.string().min(1).default('apps').describe('folder holding the apps'),
      testBranch: z.string().optional().describe('throwaway branch suites may push to on a real target'),
      webhook: z
        .strictObject({
          url: url.optional().describe('ArgoCD webhook endpoint, https://<argocd>/api/webhook'),
          secret: SecretRef.optional().describe('webhook shared secret'),
        })
        .optional()
        .describe('push webhook from the git host to ArgoCD'),
      pollIntervalSeconds: seconds.optional().describe('ArgoCD reconciliation interval; upstream default 120 (+60 jitter)'),
      pollJitterSeconds: z
        .number({ error: SECONDS_EXPECTED })
        .min(0, { message: SECONDS_EXPECTED })
        .optional()
        .describe('ArgoCD reconciliation jitter (argocd-cm timeout.reconciliation.jitter); upstream default 60'),
    })
    .optional()
    .describe('the gitops repository (capabilities argocd, gitops-push)'),
  apps: z.array(AppSpec).default([]).describe('applications ArgoCD deploys and the properties they must hold'),
  slo: Slo,
  safety: z
    .strictObject({
      allowDestructive: z.boolean().default(false).describe('power faults allowed without --destructive (lab only)'),
      allowQuorumLoss: z
        .boolean()
        .default(false)
        .describe('taking 2 of 3 control planes down allowed without --allow-quorum-loss'),
      maxNodesDown: z.number().int().min(0).default(1).describe('most nodes a suite may have faulted at once'),
      protectedNodes: z.array(dnsName).default([]).describe('nodes no fault may ever touch'),
      maxLoadRps: z.number().int().positive().default(100).describe('load generator request rate ceiling'),
      maxLoadSeconds: z.number().int().positive().default(120).describe('load generator duration ceiling'),
    })
    .describe('blast-radius limits'),
  bootstrap: BootstrapSpec.optional(),
});
export type Profile = z.infer<typeof Profile>;
