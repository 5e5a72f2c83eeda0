/**
 * talosctl, for generating and validating Talos machine configs (bootstrap/talos). Not part of the lab's
 * default build: `clusterproof lab build --only talosctl` builds it.
 *
 * github.com/siderolabs/talos carries replace directives in its go.mod (its forks, and `pkg/machinery =>
 * ./pkg/machinery`), so `go install` refuses it: the wrapper copies the fork replaces and the exclude line of
 * the tagged go.mod verbatim, and requires the machinery module at its own tag (pkg/machinery/vX.Y.Z), which
 * the root module requires at the same version. The version shown by `talosctl version` is committed in
 * pkg/machinery/gendata/data/tag, so no -X stamp is needed.
 *
 * v1.11.5, not v1.11.6: the Go module proxy reachable here serves v1.11.0, v1.11.1, v1.11.3 and v1.11.5 and
 * answers "This module version is not available." for v1.11.2, v1.11.4 and v1.11.6. v1.11.5 defaults to
 * Kubernetes v1.34.1.
 */
import type { ComponentRecipe } from './components.ts';

/**
 * The replace block of github.com/siderolabs/talos@v1.11.5 go.mod (go 1.24.5), minus the local
 * `pkg/machinery => ./pkg/machinery`. talosctl also compiled here without the yaml.v3 fork, and with no replace at
 * all (docs/lab-components.md); the block is kept so the dependency graph is the one official talosctl builds from.
 */
const TALOS_V1_11_REPLACES = [
  'cloud.google.com/go => cloud.google.com/go v0.100.2',
  'github.com/coredns/coredns => github.com/siderolabs/coredns v1.12.54',
  'github.com/mdlayher/ethtool => github.com/siderolabs/ethtool v0.4.0-sidero',
  'github.com/mdlayher/kobject => github.com/smira/kobject v0.0.0-20240304111826-49c8d4613389',
  'golang.zx2c4.com/wireguard/wgctrl => github.com/siderolabs/wgctrl-go v0.0.0-20251029173431-c4fd5f6a4e72',
  'gopkg.in/yaml.v3 => github.com/unix4ever/yaml v0.0.0-20220527175918-f17b0f05cf2c',
  'github.com/insomniacslk/dhcp => github.com/smira/dhcp v0.0.0-20250407153013-99942baa5d59',
  'github.com/containerd/containerd/v2 => github.com/smira/containerd/v2 v2.0.0-20250806103510-dcf2fc86e156',
];

export const TALOSCTL_VERSION = 'v1.11.5';

/** Modules whose go.sum lines the checksum database does not serve here (404 through the proxy's sumdb). */
export const TALOSCTL_UNVERIFIED_BY_SUMDB = ['github.com/smira/dhcp', 'github.com/siderolabs/wgctrl-go'];

export function talosctlRecipe(version: string = TALOSCTL_VERSION): ComponentRecipe {
  return {
    name: 'talosctl',
    version,
    description: 'talosctl (Talos machine config generation and validation for bootstrap/talos)',
    default: false,
    module: 'github.com/siderolabs/talos',
    goMod:
      `module lab.local/talosctlbin\n\ngo 1.24.5\n\nrequire (\n` +
      `\tgithub.com/siderolabs/talos ${version}\n\tgithub.com/siderolabs/talos/pkg/machinery ${version}\n)\n\n` +
      `replace (\n${TALOS_V1_11_REPLACES.map((l) => `\t${l}\n`).join('')})\n\n` +
      `exclude github.com/containerd/containerd v1.7.0\n`,
    binaries: [{ name: 'talosctl', pkg: 'github.com/siderolabs/talos/cmd/talosctl' }],
    // the Makefile builds talosctl with -tags grpcnotrace and CGO disabled
    tags: ['grpcnotrace'],
    ldflags: ['-s', '-w'],
    // the checksum database (reached through the module proxy) answers 404 for these two forks' pseudo-versions,
    // so `go mod tidy` cannot verify them there; their hashes are checked instead against the ones talos's own
    // go.sum records (tests/bootstrap/talos.test.ts, TALOSCTL_UNVERIFIED_BY_SUMDB)
    env: { CGO_ENABLED: '0', GONOSUMDB: TALOSCTL_UNVERIFIED_BY_SUMDB.join(',') },
    links: {},
    probes: [{ binary: 'talosctl', args: ['version', '--client'], expect: `Tag:         ${version}` }],
    postBuild: [],
  };
}
