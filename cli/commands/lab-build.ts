import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { buildComponents, componentBinary, COMPONENTS, DEFAULT_KUBERNETES_VERSION, findRecipe, kubernetesRecipesAt, labBinDir } from '../../bootstrap/lab/build/index.ts';
import { UserError } from '../../core/errors.ts';
import { isUpToDate } from '../../bootstrap/lab/build/go-build.ts';
import { buildLabImages } from '../../bootstrap/lab/images/lab-images.ts';
import { requireDebianTools } from '../../bootstrap/lab/images/debian-image.ts';
import { buildComponentImage, COMPONENT_IMAGES } from '../../bootstrap/lab/images/component-images.ts';
import { buildPaths, cacheDir } from '../../core/build-cache.ts';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** Adds `lab build` to the `lab` command group. */
export function registerLabBuild(lab: Command): void {
  lab
    .command('build')
    .description(
      "Build the lab's upstream components from the Go module proxy (go build; needs Go >= 1.26 on PATH). " +
        `Cached by version in ${cacheDir()}/bin/<component>-<version>/ (CLUSTERPROOF_CACHE_DIR overrides); ` +
        'a component already built and reporting its version is skipped, so a second run takes seconds. ' +
        'Build logs: <cache>/logs/<component>-<version>.log (kept when a build fails). ' +
        `Components: ${COMPONENTS.map((c) => `${c.name} ${c.version}${c.default ? '' : ' (opt-in)'}`).join(', ')}.`,
    )
    .option('--only <names>', 'only these components or binaries, comma-separated (e.g. etcd,kwok or kube-apiserver)', list)
    .option('--all', `also the opt-in components (${COMPONENTS.filter((c) => !c.default).map((c) => c.name).join(', ')})`)
    .option('--force', 'rebuild even when the cache is valid')
    .option('--kubernetes <version>', `build only Kubernetes (control plane, kubelet, kube-proxy) at this release, beside the default ${DEFAULT_KUBERNETES_VERSION}, for \`lab upgrade --to\` (e.g. v1.35.4)`)
    .option('--images', "also build the lab's images for real workers as OCI archives: pause, guestbook (ours), nginx, redis (from Debian's packages), and coredns, metallb-speaker when those components are built")
    .option('--list', 'list the components, their versions and cache state, and build nothing')
    .action(async (opts: { only?: string[]; all?: boolean; force?: boolean; list?: boolean; images?: boolean; kubernetes?: string }) => {
      if (opts.list) {
        const nameWidth = Math.max(...COMPONENTS.map((c) => c.name.length));
        for (const c of COMPONENTS) {
          const bins = [...c.binaries.map((b) => b.name), ...Object.keys(c.links)].join(', ');
          const state = await isUpToDate(c);
          console.log(
            `${c.name.padEnd(nameWidth)} ${c.version.padEnd(9)} ${c.default ? 'default' : 'opt-in '}  ` +
              `${state.upToDate ? 'built    ' : 'not built'}  ${buildPaths.binDir(c)}  [${bins}]` +
              (state.upToDate ? '' : `\n${' '.repeat(nameWidth + 22)}(${state.reason})`),
          );
        }
        return;
      }
      // named before a long build, not after it
      if (opts.images) requireDebianTools();
      const t0 = Date.now();
      if (opts.kubernetes && !/^v\d+\.\d+\.\d+$/.test(opts.kubernetes)) {
        throw new UserError(`--kubernetes ${opts.kubernetes}: expected a release such as v1.35.4`);
      }
      const recipes = opts.kubernetes ? kubernetesRecipesAt(opts.kubernetes) : undefined;
      const results = await buildComponents({ only: opts.only, all: opts.all, force: opts.force, recipes });
      const built = results.filter((r) => r.status === 'built').length;
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(
        `${results.length} component(s) ready in ${labBinDir()} (${built} built, ${results.length - built} cached) in ${secs} s`,
      );
      if (opts.images) {
        const fromComponents = COMPONENT_IMAGES.filter((i) => {
          const built = existsSync(componentBinary(i.binary, { mustExist: false }));
          if (!built) console.log(`  image of ${i.binary} skipped: not built (node bin/clusterproof.mjs lab build --only ${findRecipe(i.binary)?.name ?? i.binary})`);
          return built;
        });
        const images = [...(await buildLabImages((line) => console.log(`  ${line}`)))];
        for (const i of fromComponents) images.push(await buildComponentImage(i));
        for (const image of images) {
          console.log(`image ${image.ref} ${image.manifestDigest.slice(0, 19)} ${image.cached ? 'cached' : 'built'}: ${image.archive}`);
        }
      }
    });
}
