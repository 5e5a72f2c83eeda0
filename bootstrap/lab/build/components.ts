/**
 * One recipe per upstream component of the lab, built from the Go module proxy with an ordinary `go build`.
 *
 * Every recipe is a small wrapper module (`lab.local/<name>bin`): a go.mod requiring the upstream module at an
 * exact version (plus the replace lines its own go.mod carries, which `go install` would refuse), and a tools.go
 * importing the main packages so `go mod tidy` resolves them. Versions are stamped with -X like the upstream
 * release builds, so each binary reports its real version. Recipes are data only: their hash keys the cache.
 * What each build really needed is written down in docs/lab-components.md.
 */

import { readFileSync } from 'node:fs';
import { talosctlRecipe } from './talosctl.ts';
import { kustomizeRecipe } from './kustomize.ts';

export interface BinarySpec {
  /** file name in the component's bin dir */
  name: string;
  /** main package to build */
  pkg: string;
}

/** Runs a built binary and expects `expect` in its output: proof that it runs and reports the right version. */
export interface VersionProbe {
  binary: string;
  args: string[];
  expect: string;
  /** the binary has no version flag: it prints the version while starting, then fails (no cluster), and that is fine */
  anyExitCode?: boolean;
  /** written into the component's src dir and passed where the args say `{emptyKubeconfig}` */
  needsEmptyKubeconfig?: boolean;
}

export type PostBuildStep = 'kwok-stages';

export interface ComponentRecipe {
  /** component name, as given to `lab build --only` */
  name: string;
  /** upstream version; the cache is keyed by it */
  version: string;
  description: string;
  /** built by a plain `lab build`; the others need `--only` or `--all` */
  default: boolean;
  /** the upstream module and the exact version required */
  module: string;
  /** wrapper go.mod before `go mod tidy` */
  goMod: string;
  binaries: BinarySpec[];
  /** -tags */
  tags: string[];
  /** -ldflags, joined with spaces */
  ldflags: string[];
  /** extra environment for `go build` */
  env: Record<string, string>;
  /** extra names for a multi-call binary: link name -> binary name */
  links: Record<string, string>;
  probes: VersionProbe[];
  postBuild: PostBuildStep[];
  /** C libraries a cgo build links against, checked with pkg-config before building (absent: a pure Go build) */
  cLibraries?: Array<{ pkgConfig: string; aptPackage: string }>;
  /**
   * Source files of our own written into the wrapper module before `go mod tidy`: a path relative to the wrapper
   * dir (e.g. `cmd/coredns/main.go`, then built as `lab.local/<name>bin/cmd/coredns`) -> its content. Part of the
   * recipe hash. Absent for a recipe that only builds upstream packages.
   */
  files?: Record<string, string>;
}

/** A fixed build date keeps builds reproducible (and go's build cache effective). */
export const BUILD_DATE = '2026-01-01T00:00:00Z';
/** No git checkout exists behind a module-proxy build; upstream leaves gitCommit empty in that case, we say "none". */
export const NO_COMMIT = '0'.repeat(40);

function toolsGo(binaries: BinarySpec[]): string {
  const imports = [...new Set(binaries.map((b) => b.pkg))].map((p) => `\t_ "${p}"`).join('\n');
  return `//go:build tools\n\npackage tools\n\nimport (\n${imports}\n)\n`;
}

export function recipeToolsGo(r: ComponentRecipe): string {
  return toolsGo(r.binaries);
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes: k8s.io/kubernetes keeps `replace k8s.io/<staging> => ./staging/...` for its 31 staging modules and
// requires them at v0.0.0, so `go install` refuses it: the wrapper pins every staging module to v0.<minor>.<patch>.

const K8S_VERSION = 'v1.34.4';
const K8S_STAGING = [
  'api', 'apiextensions-apiserver', 'apimachinery', 'apiserver', 'cli-runtime', 'client-go', 'cloud-provider',
  'cluster-bootstrap', 'code-generator', 'component-base', 'component-helpers', 'controller-manager', 'cri-api',
  'cri-client', 'csi-translation-lib', 'dynamic-resource-allocation', 'endpointslice', 'externaljwt', 'kms',
  'kube-aggregator', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubectl', 'kubelet', 'metrics',
  'mount-utils', 'pod-security-admission', 'sample-apiserver', 'sample-cli-plugin', 'sample-controller',
];

function kubernetesRecipe(version: string): ComponentRecipe {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const staging = version.replace(/^v1\./, 'v0.');
  const goMod =
    `module lab.local/k8sbin\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes ${version}\n\nreplace (\n` +
    K8S_STAGING.map((m) => `\tk8s.io/${m} => k8s.io/${m} ${staging}\n`).join('') +
    ')\n';
  // hack/lib/version.sh stamps both packages; the order here is the one of the first (hand) build, so go's
  // build cache recognises its binaries as up to date.
  const ldflags = ['-s', '-w'];
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    ldflags.push(
      `-X ${p}.gitVersion=${version}`,
      `-X ${p}.gitMajor=${major}`,
      `-X ${p}.gitMinor=${minor}`,
      `-X ${p}.gitTreeState=clean`,
      `-X ${p}.gitCommit=${NO_COMMIT}`,
      `-X ${p}.buildDate=${BUILD_DATE}`,
    );
  }
  const cmds = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];
  return {
    name: 'kubernetes',
    version,
    description: 'kube-apiserver, kube-controller-manager, kube-scheduler and kubectl',
    default: true,
    module: 'k8s.io/kubernetes',
    goMod,
    binaries: cmds.map((c) => ({ name: c, pkg: `k8s.io/kubernetes/cmd/${c}` })),
    tags: ['selinux', 'notest'],
    ldflags,
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [
      ...cmds
        .filter((c) => c !== 'kubectl')
        .map((c) => ({ binary: c, args: ['--version'], expect: `Kubernetes ${version}` })),
      { binary: 'kubectl', args: ['version', '--client'], expect: `Client Version: ${version}` },
    ],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The node side of the same Kubernetes release (lab phase 2: real workers): its own recipe, so the control plane's
// cached build stays valid; the go build cache shares every package the two have in common.

function kubernetesNodeRecipe(version: string): ComponentRecipe {
  const control = kubernetesRecipe(version);
  const cmds = ['kubelet', 'kube-proxy'];
  return {
    ...control,
    name: 'kubernetes-node',
    description: 'kubelet and kube-proxy (real workers)',
    default: true,
    goMod: control.goMod.replace('module lab.local/k8sbin', 'module lab.local/k8snodebin'),
    binaries: cmds.map((c) => ({ name: c, pkg: `k8s.io/kubernetes/cmd/${c}` })),
    probes: cmds.map((c) => ({ binary: c, args: ['--version'], expect: `Kubernetes ${version}` })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// containerd 2.0 (LTS): its RELEASES.md lists 2.0.6+ for Kubernetes 1.34, and 2.1 is end of life. The wrapper copies
// the exclude block of containerd's go.mod (a dependency's excludes are ignored otherwise). CGO off drops the btrfs
// snapshotter (`//go:build cgo`), which the lab does not use.

function containerdRecipe(version: string): ComponentRecipe {
  const P = 'github.com/containerd/containerd/v2/version';
  return {
    name: 'containerd',
    version,
    description: 'containerd, its runc shim and ctr (real workers)',
    default: true,
    module: 'github.com/containerd/containerd/v2',
    goMod:
      `module lab.local/containerdbin\n\ngo 1.23.0\n\nrequire github.com/containerd/containerd/v2 ${version}\n\nexclude (\n` +
      '\tgithub.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc\n' +
      '\tgithub.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2\n)\n',
    binaries: [
      { name: 'containerd', pkg: 'github.com/containerd/containerd/v2/cmd/containerd' },
      { name: 'containerd-shim-runc-v2', pkg: 'github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2' },
      { name: 'ctr', pkg: 'github.com/containerd/containerd/v2/cmd/ctr' },
    ],
    tags: ['urfave_cli_no_docs'],
    // the Makefile's -X stamps
    ldflags: ['-s', '-w', `-X ${P}.Version=${version}`, `-X ${P}.Revision=${NO_COMMIT}`, `-X ${P}.Package=github.com/containerd/containerd/v2`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [
      { binary: 'containerd', args: ['--version'], expect: `containerd github.com/containerd/containerd/v2 ${version}` },
      { binary: 'ctr', args: ['--version'], expect: `ctr github.com/containerd/containerd/v2 ${version}` },
      { binary: 'containerd-shim-runc-v2', args: ['-v'], expect: `Version:  ${version}` },
    ],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// runc at the version containerd's script/setup/runc-version names. cgo is required (libcontainer/nsenter), and the
// seccomp tag links libseccomp, as the upstream Makefile's default build does. The version comes from its VERSION
// file (go:embed).

function runcRecipe(version: string): ComponentRecipe {
  return {
    name: 'runc',
    version,
    description: 'runc, the OCI runtime containerd runs containers with (real workers)',
    default: true,
    module: 'github.com/opencontainers/runc',
    goMod: `module lab.local/runcbin\n\ngo 1.23.0\n\nrequire github.com/opencontainers/runc ${version}\n`,
    binaries: [{ name: 'runc', pkg: 'github.com/opencontainers/runc' }],
    tags: ['seccomp', 'urfave_cli_no_docs'],
    ldflags: ['-s', '-w', `-X main.gitCommit=${NO_COMMIT}`],
    env: { CGO_ENABLED: '1' },
    links: {},
    probes: [{ binary: 'runc', args: ['--version'], expect: `runc version ${version.replace(/^v/, '')}` }],
    postBuild: [],
    cLibraries: [{ pkgConfig: 'libseccomp', aptPackage: 'libseccomp-dev' }],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The CNI plugins a bridge network needs: bridge and host-local (the node's pod CIDR), loopback, portmap (hostPort).
// Run without CNI_COMMAND, a plugin prints "CNI <name> plugin <version>" and exits.

function cniPluginsRecipe(version: string): ComponentRecipe {
  const plugins = [
    ['bridge', 'plugins/main/bridge'],
    ['loopback', 'plugins/main/loopback'],
    ['host-local', 'plugins/ipam/host-local'],
    ['portmap', 'plugins/meta/portmap'],
  ] as const;
  return {
    name: 'cni-plugins',
    version,
    description: 'CNI plugins: bridge, host-local, loopback, portmap (real workers)',
    default: true,
    module: 'github.com/containernetworking/plugins',
    goMod: `module lab.local/cnibin\n\ngo 1.24.2\n\nrequire github.com/containernetworking/plugins ${version}\n`,
    binaries: plugins.map(([name, path]) => ({ name, pkg: `github.com/containernetworking/plugins/${path}` })),
    tags: [],
    ldflags: ['-s', '-w', `-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${version}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: plugins.map(([name]) => ({ binary: name, args: [], expect: `CNI ${name} plugin ${version}`, anyExitCode: true })),
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// etcd: server/v3 and etcdctl/v3 carry `replace ... => ../api` lines, so `go install` refuses them; their require
// blocks pin real tags, so a wrapper requiring both at the same version resolves cleanly.

function etcdRecipe(version: string): ComponentRecipe {
  const bare = version.replace(/^v/, '');
  return {
    name: 'etcd',
    version,
    description: 'etcd, etcdctl and etcdutl (offline snapshot status and restore)',
    default: true,
    module: 'go.etcd.io/etcd/server/v3',
    goMod:
      `module lab.local/etcdbin\n\ngo 1.26.0\n\nrequire (\n` +
      `\tgo.etcd.io/etcd/etcdctl/v3 ${version}\n\tgo.etcd.io/etcd/etcdutl/v3 ${version}\n\tgo.etcd.io/etcd/server/v3 ${version}\n)\n`,
    // the package's default binary name would be "server": each binary is built to its own name
    binaries: [
      { name: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
      { name: 'etcdctl', pkg: 'go.etcd.io/etcd/etcdctl/v3' },
      { name: 'etcdutl', pkg: 'go.etcd.io/etcd/etcdutl/v3' },
    ],
    tags: [],
    // the version string is a source constant (api/version); GitSHA is the only stamp
    ldflags: ['-s', '-w', `-X go.etcd.io/etcd/api/v3/version.GitSHA=${version}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [
      { binary: 'etcd', args: ['--version'], expect: `etcd Version: ${bare}` },
      { binary: 'etcdctl', args: ['version'], expect: `etcdctl version: ${bare}` },
      { binary: 'etcdutl', args: ['version'], expect: `etcdutl version: ${bare}` },
    ],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// kwok: no replace lines (go install would work); built through a wrapper like the rest for one code path.

function kwokRecipe(version: string): ComponentRecipe {
  return {
    name: 'kwok',
    version,
    description: 'kwok (one fake kubelet per lab node) and its stages',
    default: true,
    module: 'sigs.k8s.io/kwok',
    goMod: `module lab.local/kwokbin\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok ${version}\n`,
    binaries: [{ name: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok' }],
    tags: [],
    // hack/releases.sh stamps consts.Version the same way
    ldflags: ['-s', '-w', `-X sigs.k8s.io/kwok/pkg/consts.Version=${version}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [{ binary: 'kwok', args: ['--version'], expect: `kwok version ${version}` }],
    postBuild: ['kwok-stages'],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Load generator (MIT): the stand-in for k6 where no user-installed k6 exists.

function vegetaRecipe(version: string): ComponentRecipe {
  return {
    name: 'vegeta',
    version,
    description: 'vegeta HTTP load generator',
    default: false,
    module: 'github.com/tsenart/vegeta/v12',
    goMod: `module lab.local/vegetabin\n\ngo 1.26.0\n\nrequire github.com/tsenart/vegeta/v12 ${version}\n`,
    binaries: [{ name: 'vegeta', pkg: 'github.com/tsenart/vegeta/v12' }],
    tags: [],
    ldflags: ['-s', '-w', `-X main.Version=${version}`, `-X main.Commit=${NO_COMMIT}`, `-X main.Date=${BUILD_DATE}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [{ binary: 'vegeta', args: ['-version'], expect: `Version: ${version}` }],
    postBuild: [],
  };
}

/**
 * clusterproof's embedded load engine: our own main (providers/load/engine/main.go) on the vegeta library, built by
 * default because it is the default engine of the load suite; `version` is the vegeta library's.
 */
function loadEngineRecipe(vegetaVersion: string): ComponentRecipe {
  const main = readFileSync(new URL('../../../providers/load/engine/main.go', import.meta.url), 'utf8');
  const version = `vegeta-${vegetaVersion}`;
  return {
    name: 'load-engine',
    version,
    description: 'clusterproof-load, the embedded open-model load engine (vegeta library)',
    default: true,
    module: 'github.com/tsenart/vegeta/v12',
    goMod: `module lab.local/loadenginebin\n\ngo 1.26.0\n\nrequire github.com/tsenart/vegeta/v12 ${vegetaVersion}\n`,
    binaries: [{ name: 'clusterproof-load', pkg: 'lab.local/loadenginebin/cmd/clusterproof-load' }],
    files: { 'cmd/clusterproof-load/main.go': main },
    tags: [],
    ldflags: ['-s', '-w', `-X main.Version=${version}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [{ binary: 'clusterproof-load', args: ['-version'], expect: `clusterproof-load ${version}` }],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// MetalLB controller. v0.15.3 rather than v0.16.x: v0.16 fetches its own Pod by --pod-name at start and exits
// when it is missing. The controller has no version flag: it logs its version first, then needs a cluster.

function metallbRecipe(version: string): ComponentRecipe {
  const bare = version.replace(/^v/, '');
  return {
    name: 'metallb',
    version,
    description: 'MetalLB controller',
    default: true,
    module: 'go.universe.tf/metallb',
    goMod: `module lab.local/metallbbin\n\ngo 1.25.0\n\nrequire go.universe.tf/metallb ${version}\n`,
    binaries: [{ name: 'metallb-controller', pkg: 'go.universe.tf/metallb/controller' }],
    tags: [],
    ldflags: [
      '-s',
      '-w',
      `-X go.universe.tf/metallb/internal/version.gitCommit=${NO_COMMIT}`,
      `-X go.universe.tf/metallb/internal/version.gitBranch=${version}`,
    ],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [
      {
        binary: 'metallb-controller',
        args: ['--kubeconfig={emptyKubeconfig}', '--namespace=metallb-system', '--webhook-mode=disabled'],
        expect: `MetalLB controller starting version ${bare}`,
        anyExitCode: true,
        needsEmptyKubeconfig: true,
      },
    ],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// MetalLB speaker (lab phase 2: answers ARP for LoadBalancer addresses on the real workers). The module and version
// of the controller, stamped the same way, in a recipe of its own so the controller's cached build stays valid.
// No version flag either: it logs its version first. Outside a pod it needs --namespace (else it reads the service
// account's namespace file and exits) and --node-name, so the probe passes both, and an empty kubeconfig.

function metallbSpeakerRecipe(version: string): ComponentRecipe {
  const controller = metallbRecipe(version);
  const bare = version.replace(/^v/, '');
  return {
    ...controller,
    name: 'metallb-speaker',
    description: 'MetalLB speaker (layer 2 announcements; real workers)',
    default: true,
    goMod: controller.goMod.replace('module lab.local/metallbbin', 'module lab.local/metallbspeakerbin'),
    binaries: [{ name: 'metallb-speaker', pkg: 'go.universe.tf/metallb/speaker' }],
    probes: [
      {
        binary: 'metallb-speaker',
        args: ['--kubeconfig={emptyKubeconfig}', '--namespace=metallb-system', '--node-name=probe', '--host=127.0.0.1'],
        // the whole startup message: the version constant and both -X stamps
        expect: `MetalLB speaker starting version ${bare} (commit ${NO_COMMIT}, branch ${version})`,
        anyExitCode: true,
        needsEmptyKubeconfig: true,
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CoreDNS (lab phase 2: the cluster DNS), as a small binary: a main package of ours that links only the plugins a
// cluster DNS needs, declares them as the only directives and hands over to coremain.Run(), which is how CoreDNS
// documents leaving plugins out at compile time. The directive order is the order a query passes the plugins in, so
// it must be the order of CoreDNS's plugin.cfg (reload ... forward), whatever the order in the Corefile.
// v1.12.4: the last patch of the 1.12 line that kubeadm v1.34 deploys (v1.12.1), go 1.24.0, no replace lines.

/** The plugins built in, in the order of plugin.cfg at v1.12.4 (each is github.com/coredns/coredns/plugin/<name>). */
export const COREDNS_PLUGINS = [
  'reload',
  'ready',
  'health',
  'errors',
  'log',
  'loadbalance',
  'cache',
  'kubernetes',
  'loop',
  'forward',
] as const;

function corednsMainGo(plugins: readonly string[]): string {
  const imports = [...plugins].sort().map((p) => `\t_ "github.com/coredns/coredns/plugin/${p}"\n`).join('');
  const directives = plugins.map((p) => `\t"${p}",\n`).join('');
  return (
    '// Command coredns is CoreDNS with only the plugins the clusterproof lab\'s cluster DNS needs.\n' +
    '// Generated by bootstrap/lab/build/components.ts; the cluster DNS Corefile may use these directives only.\n' +
    'package main\n\n' +
    'import (\n' +
    '\t"github.com/coredns/coredns/core/dnsserver"\n' +
    '\t"github.com/coredns/coredns/coremain"\n\n' +
    imports +
    ')\n\n' +
    '// directives: the plugins above, in the order of CoreDNS\'s plugin.cfg, which is the order a query passes them.\n' +
    `var directives = []string{\n${directives}}\n\n` +
    'func main() {\n' +
    '\tdnsserver.Directives = directives\n' +
    '\tcoremain.Run()\n' +
    '}\n'
  );
}

function corednsRecipe(version: string): ComponentRecipe {
  const bare = version.replace(/^v/, '');
  return {
    name: 'coredns',
    version,
    description: `CoreDNS with ${COREDNS_PLUGINS.length} plugins: ${COREDNS_PLUGINS.join(', ')} (cluster DNS)`,
    default: true,
    module: 'github.com/coredns/coredns',
    goMod: `module lab.local/corednsbin\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns ${version}\n`,
    binaries: [{ name: 'coredns', pkg: 'lab.local/corednsbin/cmd/coredns' }],
    files: { 'cmd/coredns/main.go': corednsMainGo(COREDNS_PLUGINS) },
    tags: [],
    // the Makefile's only stamp (it passes `git describe --dirty --always`); the version is the constant
    // coremain.CoreVersion, so `-version` prints CoreDNS-<version> either way
    ldflags: ['-s', '-w', `-X github.com/coredns/coredns/coremain.GitCommit=${NO_COMMIT}`],
    // as the Makefile (CGO_ENABLED?=0)
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [{ binary: 'coredns', args: ['-version'], expect: `CoreDNS-${bare}` }],
    postBuild: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ArgoCD: one multi-call binary choosing its role from argv[0]. Its go.mod replaces the staging modules (pinned at
// v0.34.0) and a few others: the wrapper copies that replace block verbatim. v3.2.11, not v3.2.12: the v3.2.12
// module served by the proxy does not compile (controller/cache/info.go calls settings.ValidateExternalURL, which
// no file of that module defines); v3.2.11 has the same replace block and builds.

const ARGOCD_REPLACES = [
  'github.com/golang/protobuf => github.com/golang/protobuf v1.5.4',
  'github.com/grpc-ecosystem/grpc-gateway => github.com/grpc-ecosystem/grpc-gateway v1.16.0',
  'golang.org/x/tools => golang.org/x/tools v0.35.0',
  'gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0',
  'gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1',
  ...[...K8S_STAGING, 'legacy-cloud-providers']
    .sort()
    .map((m) => `k8s.io/${m} => k8s.io/${m} v0.34.0`),
];

function argocdRecipe(version: string): ComponentRecipe {
  const bare = version.replace(/^v/, '');
  const P = 'github.com/argoproj/argo-cd/v3/common';
  const roles = [
    'argocd-server',
    'argocd-repo-server',
    'argocd-application-controller',
    'argocd-applicationset-controller',
    'argocd-commit-server',
    'argocd-cmp-server',
    'argocd-dex',
    'argocd-notification',
    'argocd-git-ask-pass',
    'argocd-k8s-auth',
  ];
  return {
    name: 'argocd',
    version,
    description: 'ArgoCD (one binary; server, repo-server, application-controller... as links)',
    default: true,
    module: 'github.com/argoproj/argo-cd/v3',
    goMod:
      `module lab.local/argocdbin\n\ngo 1.25.5\n\nrequire github.com/argoproj/argo-cd/v3 ${version}\n\nreplace (\n` +
      ARGOCD_REPLACES.map((l) => `\t${l}\n`).join('') +
      ')\n',
    binaries: [{ name: 'argocd', pkg: 'github.com/argoproj/argo-cd/v3/cmd' }],
    tags: [],
    // the Makefile's LDFLAGS; kubectlVersion is the client-go its replace block pins
    ldflags: [
      '-s',
      '-w',
      `-X ${P}.version=${bare}`,
      `-X ${P}.buildDate=${BUILD_DATE}`,
      `-X ${P}.gitCommit=${NO_COMMIT}`,
      `-X ${P}.gitTreeState=clean`,
      `-X ${P}.kubectlVersion=v0.34.0`,
      `-X ${P}.gitTag=${version}`,
    ],
    env: { CGO_ENABLED: '0' },
    links: Object.fromEntries(roles.map((r) => [r, 'argocd'])),
    probes: [
      { binary: 'argocd', args: ['version', '--client', '--short'], expect: `argocd: ${version}` },
      // the role comes from argv[0]: the link runs the API server's command
      { binary: 'argocd-server', args: ['version', '--short'], expect: `argocd-server: ${version}` },
    ],
    postBuild: [],
  };
}

/** The Kubernetes version the lab runs unless told otherwise. */
export const DEFAULT_KUBERNETES_VERSION = K8S_VERSION;

/** The control-plane and node recipes of one Kubernetes release: what `lab build --kubernetes` and `lab upgrade` build. */
export function kubernetesRecipesAt(version: string): [ComponentRecipe, ComponentRecipe] {
  return [kubernetesRecipe(version), kubernetesNodeRecipe(version)];
}

/** Every recipe, in build order. */
export const COMPONENTS: readonly ComponentRecipe[] = [
  kubernetesRecipe(K8S_VERSION),
  etcdRecipe('v3.6.16'),
  kwokRecipe('v0.8.0'),
  vegetaRecipe('v12.13.0'),
  loadEngineRecipe('v12.13.0'),
  metallbRecipe('v0.15.3'),
  argocdRecipe('v3.2.11'),
  kustomizeRecipe(),
  talosctlRecipe(),
  kubernetesNodeRecipe(K8S_VERSION),
  containerdRecipe('v2.0.14'),
  runcRecipe('v1.3.6'),
  cniPluginsRecipe('v1.9.0'),
  metallbSpeakerRecipe('v0.15.3'),
  corednsRecipe('v1.12.4'),
];
