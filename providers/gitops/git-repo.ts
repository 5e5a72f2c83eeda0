/**
 * The gitops repository as suites change it: a private clone, edits, commits and pushes on the branch the target
 * allows (the lab's own repository; on a real target only the profile's gitops.testBranch), and the way back.
 * History is never rewritten: going back is a new commit restoring an earlier tree (what `git revert` would leave),
 * pushed like any other change. Pushes report what the git server said (the lab's server relays its webhook
 * delivery as `remote:` lines).
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, tryRun } from '../../core/command.ts';
import { assertDestination } from '../../core/safety/destinations.ts';

export interface PushResult {
  sha: string;
  /** the branch head before this push */
  before: string;
  /** wall clock at the moment `git push` returned */
  pushedAt: Date;
  /** the `remote:` lines the server sent back */
  remote: string[];
  webhook: boolean;
}

export const GIT_AUTHOR = { name: 'clusterproof', email: 'suites@clusterproof.invalid' };

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: GIT_AUTHOR.name, GIT_AUTHOR_EMAIL: GIT_AUTHOR.email, GIT_COMMITTER_NAME: GIT_AUTHOR.name, GIT_COMMITTER_EMAIL: GIT_AUTHOR.email };
}

/** The host a git URL reaches, for the network guard (http(s)://host/..., ssh://host/..., user@host:path). */
export function gitHost(url: string): string {
  const scp = /^[\w.-]+@([^:/]+):/.exec(url);
  if (scp) return scp[1]!;
  return new URL(url).hostname;
}

export class GitRepo {
  private dir?: string;

  constructor(
    readonly url: string,
    readonly branch: string,
    private readonly opts: { allowRemote?: boolean } = {},
  ) {
    assertDestination(gitHost(url), opts);
  }

  private async git(args: string[], timeoutMs = 60_000) {
    return run(['git', '-C', this.workdir, ...args], { env: gitEnv(), timeoutMs });
  }

  get workdir(): string {
    if (!this.dir) throw new Error('GitRepo: clone() first');
    return this.dir;
  }

  /** A fresh shallow-free clone of the branch in a temporary directory. */
  async clone(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'clusterproof-git-'));
    try {
      await run(['git', 'clone', '--quiet', '--branch', this.branch, this.url, this.dir], { env: gitEnv(), timeoutMs: 120_000 });
    } catch (err) {
      await rm(this.dir, { recursive: true, force: true });
      this.dir = undefined;
      throw err;
    }
    return this;
  }

  /** The branch head on the server (git ls-remote), without touching the clone. */
  async remoteHead(): Promise<string> {
    const { stdout } = await run(['git', 'ls-remote', this.url, `refs/heads/${this.branch}`], { env: gitEnv(), timeoutMs: 30_000 });
    const sha = stdout.split(/\s/)[0];
    if (!sha) throw new Error(`${this.url} has no branch ${this.branch}`);
    return sha;
  }

  /** Detach the work tree at `revision` (a commit ArgoCD reports), to read what it deploys. */
  async checkout(revision: string): Promise<void> {
    await this.git(['checkout', '--quiet', '--detach', revision]);
  }

  async read(path: string): Promise<string> {
    return readFile(join(this.workdir, path), 'utf8');
  }

  async write(path: string, text: string): Promise<void> {
    await mkdir(dirname(join(this.workdir, path)), { recursive: true });
    await writeFile(join(this.workdir, path), text);
  }

  async edit(path: string, change: (text: string) => string): Promise<void> {
    const before = await this.read(path);
    const after = change(before);
    if (after === before) throw new Error(`GitRepo.edit: the change left ${path} as it was`);
    await this.write(path, after);
  }

  async remove(path: string): Promise<void> {
    await this.git(['rm', '--quiet', path]);
  }

  exists(path: string): boolean {
    return existsSync(join(this.workdir, path));
  }

  /** Commit everything changed in the work tree; returns the new commit. */
  async commit(message: string): Promise<string> {
    await this.git(['add', '--all']);
    await this.git(['commit', '--quiet', '-m', message]);
    return this.headCommit();
  }

  async headCommit(): Promise<string> {
    return (await this.git(['rev-parse', 'HEAD'])).stdout.trim();
  }

  /** Uncommitted changes in the work tree. */
  async dirty(): Promise<boolean> {
    return (await this.git(['status', '--porcelain'])).stdout.trim() !== '';
  }

  /**
   * Push the branch (fast-forward only: a rejected push is an error, never forced). `webhook: false` asks the lab's
   * git server not to send the push webhook (push option), so ArgoCD can only learn of the commit by polling.
   */
  async push(opts: { webhook?: boolean } = {}): Promise<PushResult> {
    const webhook = opts.webhook ?? true;
    const before = await this.remoteHead();
    const args = ['push', '--porcelain', ...(webhook ? [] : ['-o', 'webhook=skip']), 'origin', `HEAD:refs/heads/${this.branch}`];
    const res = await tryRun(['git', '-C', this.workdir, ...args], { env: gitEnv(), timeoutMs: 60_000 });
    const pushedAt = new Date();
    if (res.code !== 0) throw new Error(`git push to ${this.url} ${this.branch} failed: ${(res.stderr || res.stdout).trim()}`);
    const remote = res.stderr
      .split('\n')
      .filter((l) => l.startsWith('remote:'))
      .map((l) => l.replace(/^remote:\s?/, '').trimEnd())
      .filter(Boolean);
    const sha = (await this.git(['rev-parse', 'HEAD'])).stdout.trim();
    return { sha, before, pushedAt, remote, webhook };
  }

  /** Sync the clone with the server's branch (after someone else, e.g. an undo, pushed). */
  async pull(): Promise<void> {
    await this.git(['fetch', '--quiet', 'origin', this.branch]);
    await this.git(['reset', '--quiet', '--hard', `origin/${this.branch}`]);
  }

  /** `git revert` of one commit, as a new commit. */
  async revert(sha: string, message?: string): Promise<string> {
    await this.git(['revert', '--no-edit', sha]);
    if (message) await this.git(['commit', '--quiet', '--amend', '-m', message]);
    return (await this.git(['rev-parse', 'HEAD'])).stdout.trim();
  }

  /**
   * A new commit whose tree is `sha`'s tree: the branch's content as it was at `sha`, history kept. Returns undefined
   * when the tree is already that (nothing to commit).
   */
  async restoreTree(sha: string, message: string): Promise<string | undefined> {
    await this.git(['fetch', '--quiet', 'origin', sha]).catch(() => undefined);
    await this.git(['read-tree', '--reset', '-u', sha]);
    const status = (await this.git(['status', '--porcelain'])).stdout.trim();
    if (!status) return undefined;
    return this.commit(message);
  }

  async dispose(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
