/**
 * The forge's bare repositories: creating and seeding one (idempotent), and preparing every repository the server
 * serves (push over HTTP allowed, push options advertised, the post-receive hook that reports pushes).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitEnv, gitIn, ZERO_SHA } from './git.ts';
import { run } from '../../../core/command.ts';
import { postReceiveHookScript } from './hook-script.ts';

export const SEED_COMMIT_MESSAGE = 'clusterproof lab: seed gitops repository';

export interface ForgeRepositoryOptions {
  reposDir: string;
  /** repository name, without .git */
  name: string;
  /** Populates the seed commit's work tree; returns the paths to commit (relative), or nothing to commit all of it. */
  files: (worktree: string) => void | string[] | Promise<void | string[]>;
  branch?: string;
  author?: { name: string; email: string };
}

export interface ForgeRepository {
  /** true when this call made the seed commit */
  created: boolean;
  /** the branch's commit */
  head: string;
  /** the bare repository's directory, <reposDir>/<name>.git */
  path: string;
}

const DEFAULT_AUTHOR = { name: 'clusterproof lab', email: 'lab@clusterproof.invalid' };

/** The config every served repository carries: push over smart HTTP, and push options (`git push -o webhook=skip`). */
export async function configureRepository(gitDir: string): Promise<void> {
  await gitIn(gitDir, ['config', 'http.receivepack', 'true']);
  await gitIn(gitDir, ['config', 'receive.advertisePushOptions', 'true']);
}

async function branchHead(gitDir: string, branch: string): Promise<string | undefined> {
  const { stdout } = await gitIn(gitDir, ['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`]);
  return stdout.trim() || undefined;
}

/**
 * Creates `<reposDir>/<name>.git` (bare, HEAD on `branch`) and, only when that branch has no commit yet, seeds it
 * with one commit made from a temporary work tree that `files` fills. Plumbing only (no hook runs), and the
 * identity is given on the command line, so no global git config is needed.
 */
export async function initForgeRepository(o: ForgeRepositoryOptions): Promise<ForgeRepository> {
  const branch = o.branch ?? 'main';
  const author = o.author ?? DEFAULT_AUTHOR;
  const path = join(o.reposDir, `${o.name}.git`);
  await mkdir(o.reposDir, { recursive: true });
  if (!existsSync(join(path, 'HEAD'))) {
    await run(['git', 'init', '--bare', '--quiet', `--initial-branch=${branch}`, path], { env: gitEnv() });
  }
  await configureRepository(path);
  const existing = await branchHead(path, branch);
  if (existing) return { created: false, head: existing, path };

  const scratch = await mkdtemp(join(tmpdir(), 'clusterproof-forge-seed-'));
  try {
    const worktree = join(scratch, 'tree');
    await mkdir(worktree);
    const paths = await o.files(worktree);
    const env = {
      GIT_INDEX_FILE: join(scratch, 'index'),
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    };
    const identity = ['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`];
    const inTree = [...identity, `--work-tree=${worktree}`];
    await gitIn(path, [...inTree, 'add', ...(paths && paths.length ? ['--', ...paths] : ['-A'])], { env });
    const tree = (await gitIn(path, [...inTree, 'write-tree'], { env })).stdout.trim();
    const head = (await gitIn(path, [...identity, 'commit-tree', tree, '-m', SEED_COMMIT_MESSAGE], { env })).stdout.trim();
    // the zero old value makes this fail, rather than overwrite, if a concurrent init seeded the branch first
    await gitIn(path, ['update-ref', '-m', 'clusterproof: seed', `refs/heads/${branch}`, head, ZERO_SHA]);
    return { created: true, head, path };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every `*.git` directory directly under reposDir. */
export async function listRepositories(reposDir: string): Promise<string[]> {
  const entries = await readdir(reposDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && e.name.endsWith('.git'))
    .map((e) => e.name)
    .sort();
}

/** Configures every repository under reposDir and (over)writes its post-receive hook; returns their names (with .git). */
export async function prepareServedRepositories(reposDir: string, hookPort: number): Promise<string[]> {
  const repos = await listRepositories(reposDir);
  const script = postReceiveHookScript(hookPort);
  for (const repo of repos) {
    const gitDir = join(reposDir, repo);
    await configureRepository(gitDir);
    const hooks = join(gitDir, 'hooks');
    await mkdir(hooks, { recursive: true });
    const hook = join(hooks, 'post-receive');
    await writeFile(hook, script, { mode: 0o755 });
    await chmod(hook, 0o755); // writeFile's mode applies only when it creates the file
  }
  return repos;
}
