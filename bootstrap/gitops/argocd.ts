/**
 * The ArgoCD side of the gitops repository (bootstrap/gitops/argocd): the AppProjects, the app of apps (root) and
 * the Applications it syncs, rendered for one repository URL and branch. The committed YAML names the seed's
 * placeholder repository; every consumer (bootstrap on a homelab, the lab's git server) renders it with its own.
 *
 * Repository layout, as pushed to the git server:
 *   apps/<app>/*.yaml               the workloads, each directory a kustomization (bootstrap/gitops/apps)
 *   overlays/<target>/<app>/        what differs on one kind of target, e.g. overlays/lab: the lab's local images
 *   argocd/apps/<app>.yaml          the Applications the root app syncs
 * projects.yaml and root.yaml are applied by bootstrap, not synced: a project git could rewrite restricts nothing.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { APPS_DIR } from './apps.ts';

export const ARGOCD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'argocd');
export const OVERLAYS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'overlays');
/** The repository URL the committed YAML names (profiles/seed.yaml's placeholder). */
export const PLACEHOLDER_REPO = 'https://github.com/CHANGE-ME/gitops-2.git';
export const PLACEHOLDER_BRANCH = 'main';

export interface GitopsTarget {
  repoURL: string;
  branch: string;
  /** overlays/<overlay>/<app> is what the Applications sync instead of apps/<app> (the lab: `lab`) */
  overlay?: string;
}

type Doc = Record<string, any>;

function load(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Doc)
    .filter((d) => d && d.kind);
}

/** One object with the placeholder repository and branch replaced. */
export function renderObject(doc: Doc, target: GitopsTarget): Doc {
  const out = structuredClone(doc);
  if (out.kind === 'AppProject' && Array.isArray(out.spec?.sourceRepos)) {
    out.spec.sourceRepos = out.spec.sourceRepos.map((r: string) => (r === PLACEHOLDER_REPO ? target.repoURL : r));
  }
  if (out.kind === 'Application' && out.spec?.source) {
    if (out.spec.source.repoURL === PLACEHOLDER_REPO) out.spec.source.repoURL = target.repoURL;
    if (out.spec.source.targetRevision === PLACEHOLDER_BRANCH) out.spec.source.targetRevision = target.branch;
    if (target.overlay && typeof out.spec.source.path === 'string' && out.spec.source.path.startsWith('apps/')) {
      out.spec.source.path = `overlays/${target.overlay}/${out.spec.source.path.slice('apps/'.length)}`;
    }
  }
  return out;
}

/** AppProjects gitops-2-root, gitops-2, and the locked default project. */
export function projectManifests(target: GitopsTarget): Doc[] {
  return load(join(ARGOCD_DIR, 'projects.yaml')).map((d) => renderObject(d, target));
}

/** The app of apps. */
export function rootApplication(target: GitopsTarget): Doc {
  return renderObject(load(join(ARGOCD_DIR, 'root.yaml'))[0], target);
}

/** The Applications the root app syncs from argocd/apps, by file name. */
export function childApplications(target: GitopsTarget): Array<{ file: string; doc: Doc }> {
  const dir = join(ARGOCD_DIR, 'apps');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, doc: renderObject(load(join(dir, file))[0], target) }));
}

export function toYaml(docs: Doc[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/**
 * Writes the repository content for `target` into `dir` (apps/ copied, argocd/apps rendered): what to push to
 * the gitops repository so the Applications the root app syncs point back at it. Returns the files written.
 */
export function renderRepository(dir: string, target: GitopsTarget): string[] {
  const written: string[] = [];
  const write = (rel: string, text: string) => {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(rel);
  };
  for (const app of readdirSync(APPS_DIR).sort()) {
    for (const f of readdirSync(join(APPS_DIR, app)).filter((x) => x.endsWith('.yaml')).sort()) {
      write(join('apps', app, f), readFileSync(join(APPS_DIR, app, f), 'utf8'));
    }
  }
  // every target's overlays: one repository content serves them all, each Application picks its own
  for (const overlay of readdirSync(OVERLAYS_DIR).sort()) {
    for (const app of readdirSync(join(OVERLAYS_DIR, overlay)).sort()) {
      for (const f of readdirSync(join(OVERLAYS_DIR, overlay, app)).filter((x) => x.endsWith('.yaml')).sort()) {
        write(join('overlays', overlay, app, f), readFileSync(join(OVERLAYS_DIR, overlay, app, f), 'utf8'));
      }
    }
  }
  for (const { file, doc } of childApplications(target)) write(join('argocd', 'apps', file), toYaml([doc]));
  return written;
}
