/**
 * GitHub's `push` webhook event, built from the repository for one updated ref, with the fields and JSON types
 * GitHub sends (ArgoCD parses it with go-playground/webhooks' github.PushPayload: ids are numbers, URLs strings).
 * ArgoCD matches repository.html_url (no .git) against its Applications' repoURL, compares the branch with
 * repository.default_branch, and reads the added/modified/removed paths of the commits.
 */
import { createHash } from 'node:crypto';
import { FORGE_ACCOUNT, gitIn, ZERO_SHA } from './git.ts';

/** GitHub lists at most this many commits in a push event (the newest ones). */
export const MAX_COMMITS = 20;

export interface RefUpdate {
  before: string;
  after: string;
  ref: string;
}

export interface GitUser {
  name: string;
  email: string;
  username: string;
}

export interface PushCommit {
  id: string;
  tree_id: string;
  distinct: boolean;
  message: string;
  timestamp: string;
  url: string;
  author: GitUser;
  committer: GitUser;
  added: string[];
  removed: string[];
  modified: string[];
}

export interface PushEvent {
  ref: string;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  base_ref: null;
  compare: string;
  commits: PushCommit[];
  head_commit: PushCommit | null;
  repository: {
    id: number;
    name: string;
    full_name: string;
    private: boolean;
    owner: { login: string; name: string; id: number; type: string; html_url: string };
    html_url: string;
    description: null;
    fork: boolean;
    url: string;
    clone_url: string;
    default_branch: string;
    master_branch: string;
  };
  pusher: { name: string; email: string };
  sender: { login: string; id: number; type: string; site_admin: boolean; html_url: string };
}

/** Parses the post-receive hook's stdin: one `<old> <new> <ref>` per line. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f): f is [string, string, string] => f.length === 3 && /^[0-9a-f]{40,64}$/.test(f[0]) && /^[0-9a-f]{40,64}$/.test(f[1]))
    .map(([before, after, ref]) => ({ before, after, ref }));
}

/** A stable numeric id for a name, as GitHub gives every repository and account one. */
const numericId = (name: string) => Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16);

const isZero = (sha: string) => /^0+$/.test(sha);

const gitUser = (name: string, email: string): GitUser => ({ name, email, username: email.split('@')[0] ?? name });

async function listCommits(gitDir: string, u: RefUpdate): Promise<string[]> {
  if (isZero(u.after)) return [];
  // a new ref has no base: the commits reachable from it (GitHub caps the list)
  const range = isZero(u.before) ? [u.after] : [`${u.before}..${u.after}`];
  const { stdout } = await gitIn(gitDir, ['rev-list', `--max-count=${MAX_COMMITS}`, ...range, '--']);
  return stdout.split('\n').filter(Boolean).reverse(); // oldest first, as GitHub lists them
}

type CommitMeta = Omit<PushCommit, 'added' | 'removed' | 'modified' | 'url' | 'distinct'>;

async function commitMetadata(gitDir: string, ids: string[]): Promise<Map<string, CommitMeta>> {
  const metas = new Map<string, CommitMeta>();
  if (!ids.length) return metas;
  const format = ['%H', '%T', '%an', '%ae', '%cn', '%ce', '%cI', '%B'].join('%x00') + '%x1e';
  const { stdout } = await gitIn(gitDir, ['log', '--no-walk=unsorted', `--format=${format}`, ...ids, '--']);
  for (const record of stdout.split('\x1e')) {
    const [id, tree, an, ae, cn, ce, timestamp, message] = record.replace(/^\n/, '').split('\0');
    if (!id || !tree) continue;
    metas.set(id, {
      id,
      tree_id: tree,
      message: (message ?? '').replace(/\n+$/, ''),
      timestamp: timestamp ?? '',
      author: gitUser(an ?? '', ae ?? ''),
      committer: gitUser(cn ?? '', ce ?? ''),
    });
  }
  return metas;
}

/** The paths a commit added, modified and removed, against its first parent (renames as remove + add, like GitHub). */
export async function changedFiles(gitDir: string, id: string): Promise<Pick<PushCommit, 'added' | 'removed' | 'modified'>> {
  const { stdout } = await gitIn(gitDir, ['diff-tree', '-r', '-z', '--no-commit-id', '--name-status', '--no-renames', '--root', '--diff-merges=first-parent', id]);
  const files = { added: [] as string[], removed: [] as string[], modified: [] as string[] };
  const fields = stdout.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i];
    const path = fields[i + 1] ?? '';
    if (status === 'A') files.added.push(path);
    else if (status === 'D') files.removed.push(path);
    else if (status) files.modified.push(path);
  }
  return files;
}

async function defaultBranch(gitDir: string): Promise<string> {
  const { stdout } = await gitIn(gitDir, ['symbolic-ref', '--short', 'HEAD']).catch(() => ({ stdout: 'main' }));
  return stdout.trim() || 'main';
}

async function isForced(gitDir: string, u: RefUpdate): Promise<boolean> {
  if (isZero(u.before) || isZero(u.after)) return false;
  return gitIn(gitDir, ['merge-base', '--is-ancestor', u.before, u.after]).then(
    () => false,
    () => true,
  );
}

export interface PushEventContext {
  /** the bare repository */
  gitDir: string;
  /** repository name, without .git */
  name: string;
  /** the forge's public base URL, e.g. http://198.18.40.10 (no trailing slash) */
  publicBaseUrl: string;
}

export async function buildPushEvent(ctx: PushEventContext, u: RefUpdate): Promise<PushEvent> {
  const base = ctx.publicBaseUrl.replace(/\/+$/, '');
  const htmlUrl = `${base}/${ctx.name}`;
  const ids = await listCommits(ctx.gitDir, u);
  const wanted = isZero(u.after) || ids.includes(u.after) ? ids : [...ids, u.after];
  const [metas, files, branch, forced] = await Promise.all([
    commitMetadata(ctx.gitDir, wanted),
    Promise.all(wanted.map((id) => changedFiles(ctx.gitDir, id))),
    defaultBranch(ctx.gitDir),
    isForced(ctx.gitDir, u),
  ]);
  const full = new Map<string, PushCommit>();
  wanted.forEach((id, i) => {
    const meta = metas.get(id);
    if (meta) full.set(id, { ...meta, distinct: true, url: `${htmlUrl}/commit/${id}`, ...files[i]! });
  });
  const commits = ids.map((id) => full.get(id)).filter((c): c is PushCommit => !!c);
  const owner = { login: FORGE_ACCOUNT, name: FORGE_ACCOUNT, id: numericId(`user:${FORGE_ACCOUNT}`), type: 'User', html_url: `${base}/${FORGE_ACCOUNT}` };
  return {
    ref: u.ref,
    before: u.before,
    after: u.after,
    created: isZero(u.before),
    deleted: isZero(u.after),
    forced,
    base_ref: null,
    compare: isZero(u.before) || isZero(u.after) ? `${htmlUrl}/commit/${isZero(u.after) ? u.before : u.after}` : `${htmlUrl}/compare/${u.before.slice(0, 12)}...${u.after.slice(0, 12)}`,
    commits,
    head_commit: isZero(u.after) ? null : (full.get(u.after) ?? null),
    repository: {
      id: numericId(`repo:${ctx.name}`),
      name: ctx.name,
      full_name: `${FORGE_ACCOUNT}/${ctx.name}`,
      private: false,
      owner,
      html_url: htmlUrl,
      description: null,
      fork: false,
      url: htmlUrl,
      clone_url: `${htmlUrl}.git`,
      default_branch: branch,
      master_branch: branch,
    },
    pusher: { name: FORGE_ACCOUNT, email: `${FORGE_ACCOUNT}@users.noreply.forge.invalid` },
    sender: { login: FORGE_ACCOUNT, id: owner.id, type: 'User', site_admin: false, html_url: owner.html_url },
  };
}

