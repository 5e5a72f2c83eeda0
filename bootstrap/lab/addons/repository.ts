/**
 * The lab's gitops repository on its git server: seeded once per lab with the same content a homelab's repository
 * holds (bootstrap/gitops rendered for the lab's URL), so ArgoCD in the lab syncs exactly what a homelab's does.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { renderRepository } from '../../gitops/argocd.ts';
import { initForgeRepository, type ForgeRepository } from '../forge/repository.ts';
import { GITOPS_BRANCH, GITOPS_REPO_NAME, gitopsPaths, LAB_OVERLAY, labGitops } from './endpoints.ts';

export interface SeedOptions {
  /** the negative-control variant: child Applications without automated sync */
  autoSyncOff?: boolean;
}

function dropAutomatedSync(worktree: string): void {
  const dir = join(worktree, 'argocd', 'apps');
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    const app = parse(readFileSync(path, 'utf8')) as { spec: { syncPolicy?: Record<string, unknown> } };
    if (app.spec.syncPolicy) delete app.spec.syncPolicy.automated;
    writeFileSync(path, stringify(app, { lineWidth: 0 }));
  }
}

export function seedLabRepository(opts: SeedOptions = {}): Promise<ForgeRepository> {
  return initForgeRepository({
    reposDir: gitopsPaths.repos(),
    name: GITOPS_REPO_NAME,
    branch: GITOPS_BRANCH,
    files: (worktree: string) => {
      renderRepository(worktree, { repoURL: labGitops.repoURL(), branch: GITOPS_BRANCH, overlay: LAB_OVERLAY });
      if (opts.autoSyncOff) dropAutomatedSync(worktree);
    },
  });
}
