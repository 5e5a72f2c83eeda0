/**
 * kustomize, which ArgoCD's repo-server runs (`kustomize build`) for every Application whose directory holds a
 * kustomization.yaml: the lab's apps are rendered through the lab overlay (bootstrap/gitops/overlays/lab), which
 * swaps in the locally built images. ArgoCD v3.2 ships kustomize 5.7.0 (its hack/tool-versions.sh); the module proxy
 * here serves v5.7.1, the patch release of that line. Version stamped as the release Makefile does.
 */
import { BUILD_DATE, type ComponentRecipe } from './components.ts';

export function kustomizeRecipe(version = 'v5.7.1'): ComponentRecipe {
  const P = 'sigs.k8s.io/kustomize/api/provenance';
  return {
    name: 'kustomize',
    version,
    description: 'kustomize (ArgoCD renders the lab overlay with it)',
    default: true,
    module: 'sigs.k8s.io/kustomize/kustomize/v5',
    goMod: `module lab.local/kustomizebin\n\ngo 1.22.7\n\nrequire sigs.k8s.io/kustomize/kustomize/v5 ${version}\n`,
    binaries: [{ name: 'kustomize', pkg: 'sigs.k8s.io/kustomize/kustomize/v5' }],
    tags: [],
    ldflags: ['-s', '-w', `-X ${P}.version=kustomize/${version}`, `-X ${P}.buildDate=${BUILD_DATE}`],
    env: { CGO_ENABLED: '0' },
    links: {},
    probes: [{ binary: 'kustomize', args: ['version'], expect: version }],
    postBuild: [],
  };
}
