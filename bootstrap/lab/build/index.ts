/**
 * `clusterproof lab build`: the lab's upstream components, built from the Go module proxy and cached by version
 * outside the repository (see core/build-cache.ts). A component whose stamp matches its recipe and whose binaries
 * report the right version is skipped, so a second build is a no-op that takes seconds.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Listr } from 'listr2';
import { ExitCode, MissingPrerequisiteError, UserError } from '../../../core/errors.ts';
import { COMPONENTS, DEFAULT_KUBERNETES_VERSION, kubernetesRecipesAt, type ComponentRecipe } from './components.ts';
import { buildRecipe, findGo, isUpToDate, type GoToolchain } from './go-build.ts';
import { KWOK_STAGES } from './kwok-stages.ts';
import { buildPaths, cacheDir, labBinDir } from '../../../core/build-cache.ts';

export { cacheDir, labBinDir, COMPONENTS, DEFAULT_KUBERNETES_VERSION, kubernetesRecipesAt };
export type { ComponentRecipe };

export interface BuildEvent {
  component: string;
  version: string;
  /** start: checking/building begins; cached: skipped; building: a build is needed (reason in message);
   *  step: a line of go's output; done: built; failed: the error follows */
  phase: 'start' | 'cached' | 'building' | 'step' | 'done' | 'failed';
  message: string;
  /** set on cached, done and failed */
  seconds?: number;
}

export interface BuildResult {
  component: string;
  version: string;
  status: 'cached' | 'built';
  seconds: number;
  binDir: string;
  /** binary name -> size in bytes */
  binaries: Record<string, number>;
}

export interface BuildOptions {
  /** component names (kubernetes, etcd, kwok, ...) or binary names (kube-apiserver, etcdctl, ...) */
  only?: string[];
  /** every recipe, not only the default set */
  all?: boolean;
  /** exactly these recipes (e.g. another Kubernetes release: kubernetesRecipesAt), instead of `only`/`all` */
  recipes?: ComponentRecipe[];
  /** rebuild even when the cache is valid */
  force?: boolean;
  onProgress?: (e: BuildEvent) => void;
  /** 'auto': listr2's default renderer on a TTY, one line per event otherwise; 'silent': onProgress only */
  renderer?: 'auto' | 'silent';
}

/** The recipe that produces `binaryOrComponent` (a binary, a link name, or a component name). */
export function findRecipe(binaryOrComponent: string): ComponentRecipe | undefined {
  return COMPONENTS.find(
    (c) =>
      c.name === binaryOrComponent ||
      c.binaries.some((b) => b.name === binaryOrComponent) ||
      Object.hasOwn(c.links, binaryOrComponent),
  );
}

function knownNames(): string {
  return COMPONENTS.map((c) => `${c.name} (${[...c.binaries.map((b) => b.name)].join(', ')})`).join('; ');
}

/** The recipes selected by `only` (or the default set); unknown names are a UserError listing the known ones. */
export function selectComponents(opts: Pick<BuildOptions, 'only' | 'all' | 'recipes'> = {}): ComponentRecipe[] {
  if (opts.recipes) return opts.recipes;
  if (opts.only && opts.only.length > 0) {
    const chosen = new Set<ComponentRecipe>();
    for (const name of opts.only) {
      const r = findRecipe(name.trim());
      if (!r) throw new UserError(`--only: unknown component "${name}"; known: ${knownNames()}`, ExitCode.badInput);
      chosen.add(r);
    }
    return COMPONENTS.filter((c) => chosen.has(c));
  }
  return COMPONENTS.filter((c) => opts.all || c.default);
}

/**
 * Absolute path of a built binary, e.g. componentBinary('kube-apiserver'). Throws MissingPrerequisiteError when it
 * has not been built (unless `mustExist: false`).
 */
export function componentBinary(name: string, opts: { mustExist?: boolean } = {}): string {
  const r = findRecipe(name);
  if (!r || (r.name === name && !r.binaries.some((b) => b.name === name))) {
    throw new Error(`componentBinary: no lab component builds a binary named "${name}"; known: ${knownNames()}`);
  }
  const path = join(buildPaths.binDir(r), name);
  if (opts.mustExist !== false && !existsSync(path)) {
    throw new MissingPrerequisiteError(
      `${name} (${r.name} ${r.version}) is not built: ${path} does not exist.`,
      `node bin/clusterproof.mjs lab build${r.default ? '' : ` --only ${r.name}`}`,
    );
  }
  return path;
}

/**
 * A Kubernetes binary (kube-apiserver, kubelet, ...) of a given release, as `lab build --kubernetes` builds it beside
 * the default one; a missing build names the command.
 */
export function kubernetesBinary(name: string, version: string): string {
  const recipe = kubernetesRecipesAt(version).find((r) => r.binaries.some((b) => b.name === name));
  if (!recipe) throw new Error(`kubernetesBinary: ${name} is not a Kubernetes binary the lab builds`);
  const path = join(buildPaths.binDir(recipe), name);
  if (!existsSync(path)) {
    throw new MissingPrerequisiteError(`${name} ${version} is not built: ${path} does not exist.`, `node bin/clusterproof.mjs lab build --kubernetes ${version}`);
  }
  return path;
}

/** Directory holding the kwok stages copied from the kwok module (node-initialize.yaml, pod-ready.yaml, ...). */
export function kwokStagesDir(): string {
  const r = findRecipe('kwok')!;
  return join(buildPaths.binDir(r), 'stages');
}

/** The stage files a lab node's kwok needs, each to be passed with `-c`. */
export function kwokStageFiles(): string[] {
  return KWOK_STAGES.map((s) => join(kwokStagesDir(), s.file));
}

const fmtSeconds = (s: number) => (s < 90 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
const fmtSize = (bins: Record<string, number>) =>
  Object.entries(bins)
    .map(([n, b]) => `${n} ${(b / 1024 / 1024).toFixed(0)} MiB`)
    .join(', ');

/** Builds (or verifies the cache of) the selected components, one at a time: each go build uses every core. */
export async function buildComponents(opts: BuildOptions = {}): Promise<BuildResult[]> {
  const recipes = selectComponents(opts);
  const results: BuildResult[] = [];
  const emit = (e: BuildEvent) => opts.onProgress?.(e);
  const tty = Boolean(process.stdout.isTTY);
  let go: GoToolchain | undefined;
  let failure: unknown;

  const buildOne = async (r: ComponentRecipe, setOutput: (s: string) => void): Promise<BuildResult> => {
    const t0 = Date.now();
    const secs = () => Math.round((Date.now() - t0) / 100) / 10;
    emit({ component: r.name, version: r.version, phase: 'start', message: `${r.name} ${r.version}: checking the cache` });
    const state = opts.force ? { upToDate: false, reason: '--force' } : await isUpToDate(r);
    if (state.upToDate) {
      const stamp = JSON.parse(await readFile(buildPaths.stamp(r), 'utf8')) as { binaries?: Record<string, number> };
      const res: BuildResult = { component: r.name, version: r.version, status: 'cached', seconds: secs(), binDir: buildPaths.binDir(r), binaries: stamp.binaries ?? {} };
      emit({ component: r.name, version: r.version, phase: 'cached', message: `${r.name} ${r.version}: cached, every binary reports its version`, seconds: res.seconds });
      return res;
    }
    emit({ component: r.name, version: r.version, phase: 'building', message: `${r.name} ${r.version}: building (${state.reason})` });
    setOutput(`building: ${state.reason}`);
    go ??= await findGo();
    let last = '';
    // CI logs (no TTY): go build prints nothing while it compiles, so say every 2 minutes that it is still going
    const beat = tty ? undefined : setInterval(() => setOutput(`still building after ${fmtSeconds(secs())}${last ? `: ${last.slice(0, 120)}` : ''}`), 120_000);
    let built: Awaited<ReturnType<typeof buildRecipe>>;
    try {
      built = await buildRecipe(r, go, (line) => {
        last = line;
        emit({ component: r.name, version: r.version, phase: 'step', message: line });
        if (tty) setOutput(line);
      });
    } finally {
      if (beat) clearInterval(beat);
    }
    const res: BuildResult = { component: r.name, version: r.version, status: 'built', seconds: built.seconds, binDir: buildPaths.binDir(r), binaries: built.binaries };
    emit({ component: r.name, version: r.version, phase: 'done', message: `${r.name} ${r.version}: built in ${fmtSeconds(built.seconds)}`, seconds: built.seconds });
    return res;
  };

  const runOne = async (r: ComponentRecipe, setOutput: (s: string) => void): Promise<BuildResult> => {
    const t0 = Date.now();
    try {
      const res = await buildOne(r, setOutput);
      results.push(res);
      return res;
    } catch (e) {
      failure = e;
      const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
      emit({ component: r.name, version: r.version, phase: 'failed', message, seconds: Math.round((Date.now() - t0) / 100) / 10 });
      throw e;
    }
  };

  if (opts.renderer === 'silent') {
    for (const r of recipes) await runOne(r, () => undefined);
    return results;
  }

  const list = new Listr(
    recipes.map((r) => ({
      title: `${r.name} ${r.version}`,
      task: async (_ctx: unknown, task: { title: string; output: string }) => {
        if (tty) task.title = `${r.name} ${r.version}: checking`;
        const res = await runOne(r, (s) => {
          if (tty && /^go (mod|build)|^copy /.test(s)) task.title = `${r.name} ${r.version}: ${s}`;
          task.output = s;
        });
        task.title =
          res.status === 'cached'
            ? `${r.name} ${r.version}: cached (${fmtSize(res.binaries)}) [verified in ${fmtSeconds(res.seconds)}]`
            : `${r.name} ${r.version}: built in ${fmtSeconds(res.seconds)} (${fmtSize(res.binaries)})`;
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      renderer: 'default',
      rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
      fallbackRenderer: 'simple',
      registerSignalListeners: true,
    },
  );
  try {
    await list.run();
  } catch (e) {
    throw failure ?? e;
  }
  if (failure) throw failure;
  return results;
}
