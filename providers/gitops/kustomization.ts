/**
 * What an Application's directory renders, the way ArgoCD decides it: a directory holding a kustomization file is
 * built by kustomize (its `resources`, followed into local files and directories, remote ones ignored), any other
 * directory is every YAML file in it. Suites use this to find the file holding a workload and to add a manifest
 * that ArgoCD will really deploy (listed in `resources` when the directory is a kustomization).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { GitRepo } from './git-repo.ts';

/** The names ArgoCD's repo-server recognises (util/kustomize KustomizationNames). */
export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function kustomizationFile(workdir: string, dir: string): string | undefined {
  return KUSTOMIZATION_NAMES.map((n) => join(dir, n)).find((p) => existsSync(join(workdir, p)));
}

const isRemote = (r: string) => /^[a-z]+:\/\//i.test(r) || /^[\w.-]+\.[a-z]{2,}\//i.test(r) || r.startsWith('git@');

/** Repository-relative paths of the manifest files `dir` renders (kustomizations followed, each file once). */
export function renderedFiles(workdir: string, dir: string, seen = new Set<string>()): string[] {
  const k = kustomizationFile(workdir, dir);
  if (!k) {
    return readdirSync(join(workdir, dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => normalize(join(dir, f)));
  }
  if (seen.has(k)) return [];
  seen.add(k);
  const doc = parseDocument(readFileSync(join(workdir, k), 'utf8')).toJS() as { resources?: string[]; bases?: string[] } | null;
  const out: string[] = [];
  for (const r of [...(doc?.resources ?? []), ...(doc?.bases ?? [])]) {
    if (isRemote(r)) continue;
    const path = normalize(join(dir, r));
    if (relative('.', path).startsWith('..')) continue;
    const abs = join(workdir, path);
    if (!existsSync(abs)) continue;
    if (statSync(abs).isDirectory()) out.push(...renderedFiles(workdir, path, seen));
    else out.push(path);
  }
  return [...new Set(out)];
}

/**
 * Writes a new manifest into `dir` so that it is deployed: in a kustomization it is also appended to `resources`
 * (comments and layout of the kustomization kept). Returns the repository path written.
 */
export async function addManifest(repo: GitRepo, dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await repo.write(path, text);
  const k = kustomizationFile(repo.workdir, dir);
  if (k) {
    await repo.edit(k, (before) => {
      const doc = parseDocument(before);
      const resources = (doc.get('resources') as { items?: unknown[] } | undefined)?.items?.map(String) ?? [];
      if (resources.includes(name)) return before;
      if (doc.has('resources')) doc.addIn(['resources'], name);
      else doc.set('resources', [name]);
      return doc.toString();
    });
  }
  return path;
}

/** Removes a manifest addManifest wrote, and its `resources` entry. */
export async function removeManifest(repo: GitRepo, dir: string, name: string): Promise<void> {
  const k = kustomizationFile(repo.workdir, dir);
  if (k) {
    await repo.edit(k, (before) => {
      const doc = parseDocument(before);
      const items = (doc.get('resources') as { items?: Array<{ value?: unknown } | unknown> } | undefined)?.items ?? [];
      const index = items.findIndex((i) => String((i as { value?: unknown })?.value ?? i) === name);
      if (index >= 0) doc.deleteIn(['resources', index]);
      return doc.toString();
    });
  }
  await repo.remove(join(dir, name));
}
