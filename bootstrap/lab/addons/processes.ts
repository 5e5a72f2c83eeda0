/**
 * What runs in the lab's two service namespaces, as argv: the git server in `forge`; Debian's redis, ArgoCD's
 * repo-server, application-controller and server, and the MetalLB controller in `addons`. Flags follow ArgoCD's own
 * out-of-cluster Procfile (ARGOCD_FAKE_IN_CLUSTER makes https://kubernetes.default.svc mean $KUBECONFIG), with the
 * reconciliation interval passed the way the upstream manifests pass argocd-cm's timeout.reconciliation.
 */
import { dirname, join } from 'node:path';
import { labNode } from '../../../providers/lab/plan.ts';
import type { ProcessSpec } from '../process-manager.ts';
import { gitopsPaths, labGitops } from './endpoints.ts';

export interface GitopsBinaries {
  argocd: string;
  metallbController: string;
  redisServer: string;
  /** the repo-server runs `kustomize build` for every app directory holding a kustomization */
  kustomize: string;
  /** argv prefix running this project's CLI */
  clusterproof: string[];
}

export interface GitopsProcessSettings {
  /** ArgoCD reconciliation (poll) interval; upstream 120 s */
  pollSeconds: number;
  /** upstream 60 s */
  pollJitterSeconds: number;
  /** false: run with upstream defaults, no reconciliation env at all (as an argocd-cm without timeout.reconciliation) */
  stated: boolean;
}

export interface GitopsProcessContext {
  bin: GitopsBinaries;
  settings: GitopsProcessSettings;
  /** kubeconfig ArgoCD and MetalLB use (the API through the VIP) */
  kubeconfig: string;
  /** redis requires it (protected mode refuses password-less clients from a non-loopback address) */
  redisPassword: string;
}

/** redis.conf for the lab: no persistence (a cache), bound to the addons address, password required. */
export function redisConfigText(bindIp: string, dataDir: string, password: string): string {
  return [`bind ${bindIp}`, 'port 6379', `dir ${dataDir}`, 'save ""', 'appendonly no', `requirepass ${password}`, ''].join('\n');
}

/** ArgoCD's multi-call binary picks its role from ARGOCD_BINARY_NAME. */
function argocdEnv(role: string, ctx: GitopsProcessContext): Record<string, string> {
  const data = gitopsPaths.argocdData();
  return {
    ARGOCD_BINARY_NAME: role,
    ARGOCD_FAKE_IN_CLUSTER: 'true',
    KUBECONFIG: ctx.kubeconfig,
    ARGOCD_TLS_DATA_PATH: join(data, 'tls'),
    ARGOCD_SSH_DATA_PATH: join(data, 'ssh'),
    ARGOCD_GNUPGHOME: join(data, 'gnupg'),
    ARGOCD_GPG_ENABLED: 'false',
    // what the upstream manifests inject from argocd-cm when it states timeout.reconciliation(.jitter)
    ...(ctx.settings.stated
      ? { ARGOCD_RECONCILIATION_TIMEOUT: `${ctx.settings.pollSeconds}s`, ARGOCD_RECONCILIATION_JITTER: `${ctx.settings.pollJitterSeconds}s` }
      : {}),
    REDIS_PASSWORD: ctx.redisPassword,
    // the repo-server's scratch space for clones
    TMPDIR: join(data, 'tmp'),
  };
}

export function forgeProcesses(bin: Pick<GitopsBinaries, 'clusterproof'>): ProcessSpec[] {
  const node = labNode('forge');
  return [
    {
      node: node.name,
      name: 'git-server',
      netns: node.netns,
      argv: [
        ...bin.clusterproof,
        'lab',
        'git-server',
        `--listen=${node.ip}:${labGitops.forgePort}`,
        `--repos=${gitopsPaths.repos()}`,
        `--deliveries=${gitopsPaths.deliveries()}`,
        `--hook-port=${labGitops.forgeHookPort}`,
        `--public-url=${labGitops.forgeBaseURL()}`,
        `--webhook-url=${labGitops.webhookURL()}`,
        `--webhook-secret-file=${gitopsPaths.forgeSigningSecret()}`,
      ],
    },
  ];
}

export function addonsProcesses(ctx: GitopsProcessContext): ProcessSpec[] {
  const node = labNode('addons');
  const spec = (name: string, argv: string[], env?: Record<string, string>): ProcessSpec => ({ node: node.name, name, netns: node.netns, argv, env });
  const ns = labGitops.argocdNamespace;
  const redis = ['--redis', labGitops.redisAddress()];
  return [
    spec('redis', [ctx.bin.redisServer, gitopsPaths.redisConfig()]),
    spec(
      'argocd-repo-server',
      [ctx.bin.argocd, '--address', node.ip, '--port', '8081', ...redis, '--logformat', 'text'],
      { ...argocdEnv('argocd-repo-server', ctx), PATH: `${dirname(ctx.bin.kustomize)}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    ),
    spec(
      'argocd-application-controller',
      [ctx.bin.argocd, '--repo-server', labGitops.repoServerAddress(), ...redis, '--namespace', ns, '--logformat', 'text', '--hydrator-enabled=false'],
      { ...argocdEnv('argocd-application-controller', ctx), HOSTNAME: 'argocd-application-controller-0' },
    ),
    spec(
      'argocd-server',
      [
        ctx.bin.argocd,
        '--insecure',
        // the lab's API is reachable only from this machine's lab namespaces; a homelab profile gives a token
        '--disable-auth',
        // no --address: the REST gateway dials the gRPC side on 127.0.0.1:<port>, so the server must listen on
        // loopback too (the namespace has only its lab address and loopback)
        '--port',
        '8080',
        '--repo-server',
        labGitops.repoServerAddress(),
        ...redis,
        '--namespace',
        ns,
        '--logformat',
        'text',
        '--hydrator-enabled=false',
      ],
      argocdEnv('argocd-server', ctx),
    ),
    spec(
      'metallb-controller',
      [ctx.bin.metallbController, `--kubeconfig=${ctx.kubeconfig}`, `--namespace=${labGitops.metallbNamespace}`, '--webhook-mode=disabled', '--disable-cert-rotation', '--port=7472'],
      {},
    ),
  ];
}
