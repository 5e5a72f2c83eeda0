/**
 * Images made from this machine's Debian packages, with no registry: the named packages and their Depends/PreDepends
 * closure (apt-cache), downloaded as .debs from the apt mirror into <cache>/debs/ (apt-get download, checked against
 * the SHA256 apt's index gives), each extracted with `dpkg-deb -x` into a staging dir of its own. The image keeps only
 * the paths the recipe names, the shared libraries and loader those ELF files need (read from their headers,
 * recursively), the copyright files of the packages that contributed, and the recipe's own files
 * (debian/<name>/, e.g. nginx.conf, passwd). Cached by the hash of the .debs (names and SHA256), the recipe, its own
 * files and this builder's sources: <cache>/images/<name>-<hash>/{image.tar,image.json}.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../../../core/build-cache.ts';
import { hasTool, run, tryRun } from '../../../core/command.ts';
import { MissingPrerequisiteError, UserError } from '../../../core/errors.ts';
import { run as runIn } from '../build/exec.ts';
import { elfNeeds } from './elf.ts';
import { ociArchive, type ImageConfig, type ImageFile, type OciArchive } from './oci-archive.ts';

const SOURCES = dirname(fileURLToPath(import.meta.url));

export interface DebianImage {
  /** the reference pods use; its tag must be the upstream version of `versionOf` */
  ref: string;
  /** cache dir prefix, and the dir under bootstrap/lab/images/debian/ holding the image's own files */
  name: string;
  /** apt packages to start the closure from */
  packages: string[];
  /** the package whose upstream version is the tag (checked: a new upstream version in apt stops the build) */
  versionOf: string;
  /** paths from the packages the program needs (a directory: all of it but docs); shared libraries are found from these */
  keep: string[];
  links?: Array<{ path: string; target: string }>;
  /** directories the image needs with their modes (git keeps neither empty directories nor modes) */
  dirs?: Array<{ path: string; mode: number }>;
  config: ImageConfig;
}

export interface Deb {
  package: string;
  version: string;
  /** file name as apt-get download writes it (epoch colon as %3a) */
  file: string;
  uri: string;
  size: number;
  sha256: string;
}

/** Tool -> the Debian package that installs it. */
const TOOLS: Record<string, string> = { 'apt-get': 'apt', 'apt-cache': 'apt', 'dpkg-deb': 'dpkg' };

export function requireDebianTools(): void {
  for (const [tool, pkg] of Object.entries(TOOLS)) {
    if (!hasTool(tool)) {
      throw new MissingPrerequisiteError(`\`${tool}\` is not installed; the lab's Debian-based images (nginx, redis) are made from .deb packages with it`, `apt-get install -y ${pkg}`);
    }
  }
}

const debsDir = () => join(cacheDir(), 'debs');
const APT_TIMEOUT = 120_000;
// apt's output is parsed: never translated
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

/** Alternatives of one dependency, in apt's order; a virtual package stands for its providers. */
interface Alternative {
  name: string;
  providers?: string[];
}

/** Parses `apt-cache depends` output: package -> its dependency groups (each a list of alternatives). */
export function parseAptDepends(out: string): Map<string, Alternative[][]> {
  const result = new Map<string, Alternative[][]>();
  let groups: Alternative[][] = [];
  let open: Alternative[] | undefined;
  let last: Alternative | undefined;
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    if (!line.startsWith(' ')) {
      groups = [];
      open = undefined;
      result.set(line.trim(), groups);
      continue;
    }
    const dep = /^ (\||\s)(?:Depends|PreDepends): (.+)$/.exec(line);
    if (dep) {
      const raw = dep[2]!.trim().replace(/:any$/, '');
      last = raw.startsWith('<') ? { name: raw.slice(1, -1), providers: [] } : { name: raw };
      if (!open) groups.push((open = []));
      open.push(last);
      if (dep[1] !== '|') open = undefined;
    } else if (/^ {4}\S/.test(line) && last?.providers) {
      last.providers.push(line.trim().replace(/:any$/, ''));
    }
  }
  return result;
}

/**
 * The Depends/PreDepends closure of `roots`, one concrete package per dependency: an alternative already chosen wins,
 * else the first real package, else (a virtual one) its first provider, as apt would pick on an empty system. One
 * `apt-cache depends --recurse` (which lists every alternative's closure too), then the choice here.
 */
export async function resolveClosure(roots: string[]): Promise<string[]> {
  const flags = ['--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances'];
  const res = await tryRun(['apt-cache', 'depends', ...flags, ...roots], { timeoutMs: APT_TIMEOUT, env: C_LOCALE });
  if (res.code !== 0) throw new UserError(`\`apt-cache depends ${roots.join(' ')}\` failed: ${res.stderr.trim()}\n  fix: apt-get update (the package lists may be missing)`);
  const depends = parseAptDepends(res.stdout);
  const chosen = new Set<string>(roots);
  const pending = [...roots];
  while (pending.length) {
    const pkg = pending.shift()!;
    const groups = depends.get(pkg);
    if (!groups) throw new UserError(`apt-cache depends lists nothing for ${pkg} (needed by ${roots.join(', ')})`);
    for (const group of groups) {
      const candidates = group.flatMap((a) => a.providers ?? [a.name]);
      if (candidates.some((c) => chosen.has(c))) continue;
      const pick = candidates[0];
      if (!pick) throw new UserError(`no installable package provides ${group.map((a) => a.name).join(' | ')} (needed by ${pkg})`);
      chosen.add(pick);
      pending.push(pick);
    }
  }
  return [...chosen].sort();
}

/** What apt would download for each package (its candidate version): file name, URI, size and SHA256. */
export async function debsOf(packages: string[]): Promise<Deb[]> {
  const res = await tryRun(['apt-get', 'download', '--print-uris', '-q', ...packages], { timeoutMs: APT_TIMEOUT, env: C_LOCALE });
  if (res.code !== 0) throw new UserError(`\`apt-get download --print-uris\` failed: ${res.stderr.trim()}\n  fix: apt-get update (the package lists may be missing)`);
  const debs: Deb[] = [];
  for (const line of res.stdout.split('\n')) {
    const m = /^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (!m) continue;
    const [name, version] = m[2]!.split('_');
    debs.push({ package: name!, version: decodeURIComponent(version!), file: m[2]!, uri: m[1]!, size: Number(m[3]), sha256: m[4]! });
  }
  const missing = packages.filter((p) => !debs.some((d) => d.package === p));
  if (missing.length) throw new UserError(`apt gives no download for ${missing.join(', ')}${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`);
  return debs.sort((a, b) => (a.package < b.package ? -1 : 1));
}

const sha256File = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** Makes sure every .deb is in <cache>/debs/ with the SHA256 apt expects; downloads the others. */
export async function fetchDebs(debs: Deb[], onLine: (line: string) => void): Promise<void> {
  await mkdir(debsDir(), { recursive: true });
  const missing: Deb[] = [];
  for (const d of debs) {
    const path = join(debsDir(), d.file);
    if (!existsSync(path) || (await sha256File(path)) !== d.sha256) missing.push(d);
  }
  if (!missing.length) return;
  const hosts = [...new Set(missing.map((d) => new URL(d.uri).host))].join(', ');
  const mb = (missing.reduce((n, d) => n + d.size, 0) / 1e6).toFixed(1);
  onLine(`apt-get download: ${missing.length} of ${debs.length} .debs (${mb} MB) from ${hosts}`);
  const partial = await mkdtemp(join(debsDir(), '.partial-'));
  try {
    // as root apt drops to _apt for downloads, which cannot write this directory: download as root, without the warning
    const args = ['download', '-q', '-o', 'APT::Sandbox::User=root', ...missing.map((d) => `${d.package}=${d.version}`)];
    const got = await runIn('apt-get', args, { cwd: partial, env: C_LOCALE, timeoutMs: 600_000 });
    if (got.code !== 0) throw new UserError(`apt-get download failed:\n${got.output.trim()}`);
    for (const d of missing) {
      const path = join(partial, d.file);
      if (!existsSync(path)) throw new UserError(`apt-get download gave no ${d.file}`);
      if ((await sha256File(path)) !== d.sha256) throw new UserError(`${d.file}: SHA256 differs from apt's index`);
      await rename(path, join(debsDir(), d.file));
    }
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

interface Entry {
  pkg: string;
  abs: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  target?: string;
}

/** Every path of every extracted package; a later package (by name) wins a path two packages ship. */
async function indexPackages(staging: string, packages: string[]): Promise<Map<string, Entry>> {
  const index = new Map<string, Entry>();
  const walk = async (pkg: string, root: string, rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
      if (!type) continue;
      index.set(path, { pkg, abs, type, mode: st.mode & 0o7777, ...(type === 'symlink' ? { target: await readlink(abs) } : {}) });
      if (type === 'dir') await walk(pkg, root, path);
    }
  };
  for (const pkg of packages) await walk(pkg, join(staging, pkg), '');
  return index;
}

const PRUNED = ['usr/share/doc/', 'usr/share/man/', 'usr/share/info/', 'usr/share/locale/', 'usr/share/lintian/'];
// where the loader looks when there is no ld.so.cache (the image has none)
const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib'];
// loaded with dlopen, so in no DT_NEEDED: glibc unwinds with libgcc_s (pthread_exit, pthread_cancel, backtrace)
const DLOPENED: Record<string, string[]> = { 'libc.so.6': ['libgcc_s.so.1'] };

/** The files the image needs from the extracted packages: the recipe's paths and everything they link. */
async function selectFromPackages(image: DebianImage, index: Map<string, Entry>): Promise<Map<string, Entry>> {
  const kept = new Map<string, Entry>();
  const queue: string[] = [];

  /** Resolves symlinks inside the image root (keeping each one passed through); undefined when nothing is there. */
  const resolve = (path: string, hops = 0): string | undefined => {
    const parts = path.split('/').filter((p) => p && p !== '.');
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === '..') {
        out.pop();
        continue;
      }
      out.push(parts[i]!);
      const here = out.join('/');
      const e = index.get(here);
      if (!e) return undefined;
      if (e.type !== 'symlink') continue;
      if (hops > 40) throw new UserError(`${image.name} image: symlink loop at /${here}`);
      kept.set(here, e);
      const base = e.target!.startsWith('/') ? [] : out.slice(0, -1);
      return resolve([...base, e.target!, ...parts.slice(i + 1)].join('/'), hops + 1);
    }
    return out.join('/');
  };

  const keep = async (path: string, why: string, required = true): Promise<boolean> => {
    const real = resolve(path);
    const e = real === undefined ? undefined : index.get(real);
    if (!e || real === undefined) {
      if (required) throw new UserError(`${image.name} image: /${path} (${why}) is in none of its packages`);
      return false;
    }
    if (kept.has(real)) return true;
    kept.set(real, e);
    if (e.type === 'file') queue.push(real);
    else if (e.type === 'dir') {
      // not required: a link in the directory to a file of a package outside the closure is kept as it is, dangling
      for (const p of [...index.keys()].filter((p) => p.startsWith(`${real}/`) && !PRUNED.some((x) => p.startsWith(x)))) await keep(p, why, false);
    }
    return true;
  };

  for (const p of image.keep) await keep(p, 'named by the recipe');
  while (queue.length) {
    const file = queue.shift()!;
    const needs = elfNeeds(await readFile(index.get(file)!.abs));
    if (!needs) continue;
    if (needs.interpreter) await keep(needs.interpreter, `the loader of /${file}`);
    const dirs = [...needs.runpath.map((d) => d.replace('$ORIGIN', posix.dirname(`/${file}`))), ...LIBRARY_DIRS];
    for (const soname of [...needs.needed, ...(DLOPENED[posix.basename(file)] ?? [])]) {
      let found = false;
      for (const d of dirs) if (!found) found = await keep(posix.join(d, soname), '', false);
      if (!found) throw new UserError(`${image.name} image: /${file} needs ${soname}, which no package of its closure ships`);
    }
  }
  const contributors = new Set([...kept.values()].filter((e) => e.type !== 'dir').map((e) => e.pkg));
  for (const pkg of [...contributors].sort()) await keep(`usr/share/doc/${pkg}/copyright`, 'copyright', false);
  return kept;
}

async function ownFiles(image: DebianImage): Promise<ImageFile[]> {
  const root = join(SOURCES, 'debian', image.name);
  const files: ImageFile[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if ((await lstat(join(root, path))).isDirectory()) await walk(path);
      else files.push({ path, content: await readFile(join(root, path)), mode: 0o644 });
    }
  };
  if (existsSync(root)) await walk('');
  return files;
}

/** The image from .debs already in <cache>/debs/: extract, select, pack. Same .debs and recipe, same bytes. */
export async function assembleDebianImage(image: DebianImage, debs: Deb[]): Promise<OciArchive & { files: number; packagesUsed: string[] }> {
  const staging = await mkdtemp(join(tmpdir(), `clusterproof-${image.name}-rootfs-`));
  try {
    for (const d of debs) {
      await mkdir(join(staging, d.package));
      await run(['dpkg-deb', '-x', join(debsDir(), d.file), join(staging, d.package)], { timeoutMs: APT_TIMEOUT });
    }
    const index = await indexPackages(staging, debs.map((d) => d.package));
    const kept = await selectFromPackages(image, index);
    const own = await ownFiles(image);
    const ours = new Set([...own.map((f) => f.path), ...(image.links ?? []).map((l) => l.path), ...(image.dirs ?? []).map((d) => d.path)]);
    const dirModes = new Map<string, number>();
    const files: ImageFile[] = [];
    for (const [path, e] of kept) {
      for (let p = posix.dirname(path); p !== '.'; p = posix.dirname(p)) {
        const parent = index.get(p);
        if (parent?.type === 'dir') dirModes.set(p, parent.mode);
      }
      if (ours.has(path)) continue;
      if (e.type === 'dir') dirModes.set(path, e.mode);
      else if (e.type === 'symlink') files.push({ path, type: 'symlink', target: e.target! });
      else files.push({ path, content: await readFile(e.abs), mode: e.mode });
    }
    for (const d of image.dirs ?? []) dirModes.set(d.path, d.mode);
    files.push(...own, ...(image.links ?? []).map((l) => ({ path: l.path, type: 'symlink' as const, target: l.target })));
    files.push(...[...dirModes].map(([path, mode]) => ({ path, type: 'directory' as const, mode })));
    const oci = await ociArchive(image.ref, files, image.config);
    const packagesUsed = [...new Set([...kept.values()].filter((e) => e.type !== 'dir').map((e) => e.pkg))].sort();
    return { ...oci, files: files.filter((f) => f.type !== 'directory').length, packagesUsed };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Hash of everything the image is made from. */
async function inputHash(image: DebianImage, debs: Deb[]): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(image));
  for (const d of debs) h.update(`${d.file} ${d.sha256}\n`);
  for (const f of await ownFiles(image)) if ('content' in f) h.update(f.path).update(f.content);
  for (const src of ['debian-image.ts', 'elf.ts', 'oci-archive.ts']) h.update(await readFile(join(SOURCES, src)));
  return h.digest('hex').slice(0, 16);
}

/** The .debs an image is made from: the closure of its packages, as apt would download them now. */
/**
 * What apt answers depends only on its package lists, sources and pinning: a fingerprint of those files (name, size,
 * mtime) keys a saved answer, so a lab up with cached images asks apt nothing (its two queries take ~2 s per image).
 */
async function aptStateKey(packages: string[]): Promise<string> {
  const h = createHash('sha256').update(packages.join(' '));
  for (const dir of ['/var/lib/apt/lists', '/etc/apt', '/etc/apt/sources.list.d', '/etc/apt/preferences.d']) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const st = await lstat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) h.update(`${dir}/${name} ${st.size} ${st.mtimeMs}\n`);
    }
  }
  return h.digest('hex').slice(0, 16);
}

async function aptDebs(packages: string[]): Promise<Deb[]> {
  const saved = join(cacheDir(), 'images', 'apt-answers', `${await aptStateKey(packages)}.json`);
  if (existsSync(saved)) return JSON.parse(await readFile(saved, 'utf8')) as Deb[];
  const debs = await debsOf(await resolveClosure(packages));
  await mkdir(dirname(saved), { recursive: true });
  await writeFile(`${saved}.${process.pid}.tmp`, JSON.stringify(debs));
  await rename(`${saved}.${process.pid}.tmp`, saved);
  return debs;
}

export async function debsForImage(image: DebianImage): Promise<Deb[]> {
  const debs = await aptDebs(image.packages);
  const main = debs.find((d) => d.package === image.versionOf);
  const upstream = main?.version.replace(/^\d+:/, '').replace(/-[^-]+$/, '');
  const tag = image.ref.slice(image.ref.lastIndexOf(':') + 1);
  if (upstream !== tag) throw new UserError(`${image.ref}: apt's ${image.versionOf} is ${main?.version ?? 'missing'}, not ${tag}; change the image's tag with the package`);
  return debs;
}

export interface BuiltDebianImage {
  ref: string;
  archive: string;
  manifestDigest: string;
  cached: boolean;
  debs: Deb[];
}

export async function buildDebianImage(image: DebianImage, onLine: (line: string) => void = () => undefined): Promise<BuiltDebianImage> {
  requireDebianTools();
  const debs = await debsForImage(image);
  const dir = join(cacheDir(), 'images', `${image.name}-${await inputHash(image, debs)}`);
  const archive = join(dir, 'image.tar');
  const meta = join(dir, 'image.json');
  if (existsSync(meta) && existsSync(archive)) {
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { ref: string; manifestDigest: string };
    if (saved.ref === image.ref) return { ref: image.ref, archive, manifestDigest: saved.manifestDigest, cached: true, debs };
  }
  const main = debs.find((d) => d.package === image.versionOf)!;
  onLine(`${image.name}: ${image.versionOf} ${main.version} and ${debs.length - 1} packages of its closure`);
  await fetchDebs(debs, onLine);
  const t0 = Date.now();
  const oci = await assembleDebianImage(image, debs);
  onLine(`${image.name}: ${oci.files} files from ${oci.packagesUsed.length} packages, ${(oci.archive.length / 2 ** 20).toFixed(1)} MiB, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await mkdir(dir, { recursive: true });
  const saved = { ref: image.ref, manifestDigest: oci.manifestDigest, bytes: oci.archive.length, packagesUsed: oci.packagesUsed, debs: debs.map((d) => `${d.package} ${d.version}`) };
  // another build of the same image may be writing too: each writes its own temp file, then renames (same bytes)
  for (const [path, content] of [[archive, oci.archive], [meta, JSON.stringify(saved, null, 2)]] as const) {
    await writeFile(`${path}.${process.pid}.tmp`, content);
    await rename(`${path}.${process.pid}.tmp`, path);
  }
  return { ref: image.ref, archive, manifestDigest: oci.manifestDigest, cached: false, debs };
}
