/**
 * kwok has no built-in stages when run standalone ("no stages found"): the lab passes the upstream ones with
 * `-c`. They ship in the kwok module's source, which `go mod download` puts in the module cache; the build copies
 * them next to the binary (never into the repository).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import type { ComponentRecipe } from './components.ts';
import type { GoToolchain } from './go-build.ts';
import { run } from './exec.ts';

/** The stages a lab node needs, in the order kwokctl passes them when node leases are on. */
export const KWOK_STAGES = [
  { file: 'node-initialize.yaml', from: 'kustomize/stage/node/fast/node-initialize.yaml' },
  { file: 'node-heartbeat-with-lease.yaml', from: 'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml' },
  { file: 'pod-ready.yaml', from: 'kustomize/stage/pod/fast/pod-ready.yaml' },
  { file: 'pod-complete.yaml', from: 'kustomize/stage/pod/fast/pod-complete.yaml' },
  { file: 'pod-delete.yaml', from: 'kustomize/stage/pod/fast/pod-delete.yaml' },
] as const;

/** Chaos stages (opt-in by label) and the Stage CRD, for suites that apply stages at run time. */
export const KWOK_EXTRAS = [
  { file: 'chaos/node-not-ready.yaml', from: 'kustomize/stage/node/chaos/node-not-ready.yaml' },
  { file: 'chaos/pod-container-running-failed.yaml', from: 'kustomize/stage/pod/chaos/pod-container-running-failed.yaml' },
  { file: 'chaos/pod-init-container-running-failed.yaml', from: 'kustomize/stage/pod/chaos/pod-init-container-running-failed.yaml' },
  { file: 'crd/kwok.x-k8s.io_stages.yaml', from: 'kustomize/crd/bases/kwok.x-k8s.io_stages.yaml' },
] as const;

export function kwokStageOutputs(binDir: string): string[] {
  return [...KWOK_STAGES, ...KWOK_EXTRAS].map((s) => join(binDir, 'stages', s.file));
}

/** Copies the stages from the kwok module in the module cache into `<binDir>/stages/`. */
export async function copyKwokStages(
  r: ComponentRecipe,
  go: GoToolchain,
  srcDir: string,
  binDir: string,
): Promise<{ from: string; files: string[] }> {
  const res = await run(go.go, ['mod', 'download', '-json', `${r.module}@${r.version}`], { cwd: srcDir, env: go.env });
  let moduleDir: string | undefined;
  try {
    moduleDir = (JSON.parse(res.output) as { Dir?: string }).Dir;
  } catch {
    moduleDir = undefined;
  }
  if (res.code !== 0 || !moduleDir) {
    throw new UserError(`kwok stages: \`go mod download ${r.module}@${r.version}\` failed: ${res.output.trim().slice(0, 500)}`);
  }
  const files: string[] = [];
  for (const s of [...KWOK_STAGES, ...KWOK_EXTRAS]) {
    const dst = join(binDir, 'stages', s.file);
    await mkdir(join(dst, '..'), { recursive: true });
    // read + write rather than copyFile: module cache files are read-only and the mode would follow them
    await writeFile(dst, await readFile(join(moduleDir, s.from)));
    files.push(dst);
  }
  return { from: moduleDir, files };
}
