/**
 * What an Application directory renders, as ArgoCD decides it: a kustomization's resources followed into bases
 * elsewhere in the repository, a plain directory's YAML files; and a manifest added to a kustomization is listed
 * in its resources (then removed again), comments kept.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { addManifest, removeManifest, renderedFiles } from '../../providers/gitops/kustomization.ts';
import type { GitRepo } from '../../providers/gitops/git-repo.ts';

const root = mkdtempSync(join(tmpdir(), 'clusterproof-kustomize-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function put(rel: string, text: string) {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

put('apps/web/kustomization.yaml', 'resources:\n  - deployment.yaml\n  - service.yaml\n');
put('apps/web/deployment.yaml', 'kind: Deployment\n');
put('apps/web/service.yaml', 'kind: Service\n');
put('apps/web/notes.yaml', 'kind: ConfigMap\n');
put('overlays/lab/web/kustomization.yaml', '# lab images\nresources:\n  - ../../../apps/web\n  - https://example.invalid/remote.yaml\nimages: []\n');
put('plain/a.yaml', 'kind: ConfigMap\n');
put('plain/b.yml', 'kind: ConfigMap\n');
put('plain/readme.md', '');

/** Just what addManifest/removeManifest use of a GitRepo, on a plain directory. */
const repo = {
  workdir: root,
  write: async (p: string, t: string) => put(p, t),
  read: async (p: string) => readFileSync(join(root, p), 'utf8'),
  edit: async (p: string, change: (t: string) => string) => put(p, change(readFileSync(join(root, p), 'utf8'))),
  remove: async (p: string) => rmSync(join(root, p)),
} as unknown as GitRepo;

describe('renderedFiles', () => {
  test('a kustomization renders only its resources (not every file next to it)', () => {
    expect(renderedFiles(root, 'apps/web')).toEqual(['apps/web/deployment.yaml', 'apps/web/service.yaml']);
  });

  test('an overlay is followed into its base; remote resources are left out', () => {
    expect(renderedFiles(root, 'overlays/lab/web')).toEqual(['apps/web/deployment.yaml', 'apps/web/service.yaml']);
  });

  test('a plain directory renders its YAML files', () => {
    expect(renderedFiles(root, 'plain')).toEqual(['plain/a.yaml', 'plain/b.yml']);
  });
});

describe('addManifest / removeManifest', () => {
  test('in a kustomization the file is written and listed, comments kept; removal undoes both', async () => {
    await addManifest(repo, 'overlays/lab/web', 'extra.yaml', 'kind: ConfigMap\n');
    const k = readFileSync(join(root, 'overlays/lab/web/kustomization.yaml'), 'utf8');
    expect(k).toContain('# lab images');
    expect(renderedFiles(root, 'overlays/lab/web')).toContain('overlays/lab/web/extra.yaml');
    await removeManifest(repo, 'overlays/lab/web', 'extra.yaml');
    expect(renderedFiles(root, 'overlays/lab/web')).not.toContain('overlays/lab/web/extra.yaml');
    expect(readFileSync(join(root, 'overlays/lab/web/kustomization.yaml'), 'utf8')).not.toContain('extra.yaml');
  });

  test('in a plain directory the file is only written', async () => {
    await addManifest(repo, 'plain', 'c.yaml', 'kind: ConfigMap\n');
    expect(renderedFiles(root, 'plain')).toEqual(['plain/a.yaml', 'plain/b.yml', 'plain/c.yaml']);
  });
});
