/**
 * Builds one recipe: writes the wrapper module, runs `go mod tidy` and `go build`, links, post-build steps, then
 * proves the result by running each binary's version probe. Everything the go command prints goes to the log.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { ExitCode, MissingPrerequisiteError, UserError } from '../../../core/errors.ts';
import { recipeToolsGo, type ComponentRecipe, type VersionProbe } from './components.ts';
import { buildPaths } from '../../../core/build-cache.ts';
import { copyKwokStages, kwokStageOutputs } from './kwok-stages.ts';
import { run } from './exec.ts';

/** The oldest Go that builds every recipe (kwok v0.8.0 and etcd v3.6.16 declare go 1.26.0). */
export const MIN_GO = { major: 1, minor: 26 };

export interface GoToolchain {
  /** absolute path of the go command */
  go: string;
  /** e.g. go1.26.8 */
  version: string;
  /** environment for go commands: PATH includes the toolchain's dir */
  env: NodeJS.ProcessEnv;
}

const GO_FIX =
  `put Go ${MIN_GO.major}.${MIN_GO.minor} or newer on PATH (e.g. the official toolchain in /usr/local/go, then ` +
  `export PATH=/usr/local/go/bin:$PATH). Do not run \`apt-get install golang\`: Debian 12 ships Go 1.19, far too old ` +
  `for these modules. With any Go >= 1.21 already on PATH, \`export GOTOOLCHAIN=go1.26.8\` makes it fetch ` +
  `Go 1.26.8 from the Go module proxy.`;

function findOnPath(cmd: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The go command to build with, checked for version; throws MissingPrerequisiteError with the fix otherwise. */
export async function findGo(opts: { pathVar?: string; fallbackDirs?: string[] } = {}): Promise<GoToolchain> {
  const pathVar = opts.pathVar ?? process.env.PATH;
  let go = findOnPath('go', pathVar);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathVar };
  for (const dir of opts.fallbackDirs ?? ['/usr/local/go/bin']) {
    if (go) break;
    if (existsSync(join(dir, 'go'))) {
      go = join(dir, 'go');
      env.PATH = `${dir}${delimiter}${pathVar ?? ''}`;
    }
  }
  if (!go) throw new MissingPrerequisiteError('Go is not installed: no `go` on PATH (nor in /usr/local/go/bin).', GO_FIX);
  const r = await run(go, ['env', 'GOVERSION'], { env, cwd: process.cwd() });
  const version = r.output.trim().split('\n').pop() ?? '';
  const m = /^go(\d+)\.(\d+)/.exec(version);
  if (r.code !== 0 || !m) {
    throw new MissingPrerequisiteError(`${go} does not work (\`go env GOVERSION\`: ${r.output.trim() || `exit ${r.code}`}).`, GO_FIX);
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_GO.major || (major === MIN_GO.major && minor < MIN_GO.minor)) {
    throw new MissingPrerequisiteError(`${go} is ${version}; the lab's components need Go ${MIN_GO.major}.${MIN_GO.minor} or newer.`, GO_FIX);
  }
  return { go, version, env };
}

/**
 * A cgo recipe's C side, checked before any download: a C compiler, pkg-config and each library's headers. Throws
 * MissingPrerequisiteError naming all of them and the one command that installs them.
 */
export async function checkCLibraries(r: ComponentRecipe, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!r.cLibraries?.length) return;
  const missing: string[] = [];
  const packages = new Set<string>();
  const cc = await run('gcc', ['--version'], { cwd: '/', env });
  if (cc.code !== 0) {
    missing.push('a C compiler (gcc)');
    packages.add('gcc');
  }
  for (const lib of r.cLibraries) {
    const found = await run('pkg-config', ['--exists', lib.pkgConfig], { cwd: '/', env });
    if (found.code === 127) {
      missing.push('pkg-config');
      packages.add('pkg-config');
    }
    if (found.code !== 0) {
      missing.push(`the ${lib.pkgConfig} headers`);
      packages.add(lib.aptPackage);
    }
  }
  if (missing.length) {
    throw new MissingPrerequisiteError(
      `${r.name} is built with cgo and links ${r.cLibraries.map((l) => l.pkgConfig).join(', ')}: missing ${[...new Set(missing)].join(', ')}`,
      `apt-get install -y ${[...packages].join(' ')} (Debian/Ubuntu), then run the build again`,
    );
  }
}

/**
 * The wrapper module's files: go.mod, tools.go and the recipe's own `files`, by path relative to the wrapper dir.
 * A `files` path must stay inside the wrapper dir and must not replace go.mod, go.sum or tools.go.
 */
export function wrapperFiles(r: ComponentRecipe): Record<string, string> {
  const out: Record<string, string> = { 'go.mod': r.goMod, 'tools.go': recipeToolsGo(r) };
  for (const [path, content] of Object.entries(r.files ?? {})) {
    const norm = normalize(path);
    if (isAbsolute(path) || norm !== path || norm.split(sep).includes('..') || ['go.mod', 'go.sum', 'tools.go'].includes(norm)) {
      throw new Error(`recipe ${r.name}: extra file "${path}" must be a plain relative path inside the wrapper module, not go.mod/go.sum/tools.go`);
    }
    out[path] = content;
  }
  return out;
}

/** Writes the wrapper module of `r` into `dir` (go.sum and everything else already there are left alone). */
export async function writeWrapper(r: ComponentRecipe, dir: string): Promise<void> {
  for (const [path, content] of Object.entries(wrapperFiles(r))) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/**
 * The part of a recipe that changes what gets built: its hash keys the stamp. `files` is part of it when present;
 * a recipe without it hashes exactly as before the field existed (JSON.stringify leaves out absent keys).
 */
export function recipeHash(r: ComponentRecipe): string {
  const { description: _d, default: _def, ...build } = r;
  return createHash('sha256')
    .update(JSON.stringify({ stampVersion: 1, ...build, toolsGo: recipeToolsGo(r) }))
    .digest('hex')
    .slice(0, 16);
}

export interface BuildStamp {
  component: string;
  version: string;
  recipeHash: string;
  goVersion: string;
  builtAt: string;
  buildSeconds: number;
  binaries: Record<string, number>;
}

/** Files a complete build leaves in the bin dir (binaries, links, post-build outputs). */
export function expectedOutputs(r: ComponentRecipe): string[] {
  const dir = buildPaths.binDir(r);
  return [
    ...r.binaries.map((b) => join(dir, b.name)),
    ...Object.keys(r.links).map((l) => join(dir, l)),
    ...(r.postBuild.includes('kwok-stages') ? kwokStageOutputs(dir) : []),
  ];
}

const probeEnv = (): NodeJS.ProcessEnv => {
  // a probe must never reach a cluster: no in-cluster config, no user kubeconfig
  const env = { ...process.env };
  for (const k of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'KUBECONFIG', 'KUBERNETES_MASTER']) delete env[k];
  return env;
};

async function runProbe(r: ComponentRecipe, p: VersionProbe): Promise<{ ok: boolean; detail: string }> {
  const dir = buildPaths.binDir(r);
  let args = p.args;
  if (p.needsEmptyKubeconfig) {
    const kc = join(buildPaths.srcDir(r), 'empty.kubeconfig');
    if (!existsSync(kc)) {
      await mkdir(dirname(kc), { recursive: true });
      await writeFile(kc, 'apiVersion: v1\nkind: Config\n');
    }
    args = args.map((a) => a.replace('{emptyKubeconfig}', kc));
  }
  const res = await run(join(dir, p.binary), args, { cwd: dir, env: probeEnv(), timeoutMs: 20_000, until: p.anyExitCode ? p.expect : undefined });
  const ok = res.output.includes(p.expect) && (p.anyExitCode || res.code === 0);
  const cmd = `${p.binary} ${p.args.join(' ')}`;
  const first = res.output.trim().split('\n').slice(0, 3).join(' | ');
  return { ok, detail: ok ? `${cmd}: ${p.expect}` : `${cmd} (exit ${res.code}) printed "${first}", expected "${p.expect}"` };
}

/** Every probe of the recipe; resolves to the failures (empty when the component is proven). */
export async function probeComponent(r: ComponentRecipe): Promise<string[]> {
  const failures: string[] = [];
  for (const p of r.probes) {
    const res = await runProbe(r, p);
    if (!res.ok) failures.push(res.detail);
  }
  return failures;
}

/** Up to date: the stamp matches this recipe, every output exists, every binary reports its version. */
export async function isUpToDate(r: ComponentRecipe): Promise<{ upToDate: boolean; reason: string }> {
  let stamp: BuildStamp;
  try {
    stamp = JSON.parse(await readFile(buildPaths.stamp(r), 'utf8')) as BuildStamp;
  } catch {
    return { upToDate: false, reason: 'not built yet (no build stamp)' };
  }
  const hash = recipeHash(r);
  if (stamp.recipeHash !== hash) return { upToDate: false, reason: `recipe changed (${stamp.recipeHash} -> ${hash})` };
  for (const f of expectedOutputs(r)) {
    try {
      await access(f, fsConstants.R_OK);
    } catch {
      return { upToDate: false, reason: `${f} is missing` };
    }
  }
  const failures = await probeComponent(r);
  if (failures.length > 0) return { upToDate: false, reason: failures.join('; ') };
  return { upToDate: true, reason: 'cached' };
}

function defaultBinaryName(pkg: string): string {
  const parts = pkg.split('/');
  let last = parts[parts.length - 1];
  if (/^v\d+$/.test(last) && parts.length > 1) last = parts[parts.length - 2];
  return last;
}

/** Only one build of a component at a time (two `lab build`s racing would corrupt the wrapper and the bin dir). */
async function withLock<T>(r: ComponentRecipe, fn: () => Promise<T>): Promise<T> {
  const lock = buildPaths.lock(r);
  await mkdir(dirname(lock), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      let alive = false;
      if (pid > 0) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (alive) {
        throw new UserError(`another build of ${r.name} ${r.version} is running (pid ${pid}); wait for it to finish`, ExitCode.checkFailed);
      }
      await unlink(lock).catch(() => undefined);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

export interface BuildOneResult {
  seconds: number;
  binaries: Record<string, number>;
}

/**
 * Builds `r` into its bin dir. Binaries are written in place so that go's build cache, seeing an identical
 * output already there, leaves it alone; completeness is the stamp's job (removed first, written last).
 */
export async function buildRecipe(r: ComponentRecipe, go: GoToolchain, onLine: (line: string) => void): Promise<BuildOneResult> {
  await checkCLibraries(r, go.env);
  return withLock(r, async () => {
    const started = Date.now();
    const src = buildPaths.srcDir(r);
    const bin = buildPaths.binDir(r);
    const logPath = buildPaths.log(r);
    await Promise.all([mkdir(src, { recursive: true }), mkdir(bin, { recursive: true }), mkdir(dirname(logPath), { recursive: true })]);
    await rm(buildPaths.stamp(r), { force: true });
    const log = createWriteStream(logPath);
    const logLine = (s: string) => log.write(s.endsWith('\n') ? s : `${s}\n`);
    const env: NodeJS.ProcessEnv = { ...go.env, ...r.env, GOFLAGS: '-buildvcs=false' };
    let pending = '';
    const onData = (chunk: string) => {
      log.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) onLine(l.trim());
    };
    const step = async (args: string[]) => {
      const t0 = Date.now();
      logLine(`\n$ go ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
      const res = await run(go.go, args, { cwd: src, env, onData });
      logLine(`# exit ${res.code} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      if (res.code !== 0) throw await buildFailure(r, `go ${args[0]}${args[1] && !args[1].startsWith('-') ? ` ${args[1]}` : ''} exited ${res.code}`, log, logPath);
    };
    try {
      logLine(`# clusterproof lab build: ${r.name} ${r.version} (recipe ${recipeHash(r)}), ${go.version} at ${go.go}`);
      logLine(`# started ${new Date(started).toISOString()} in ${src}`);
      logLine(`# env: ${Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(' ')} GOFLAGS=${env.GOFLAGS}`);
      await writeWrapper(r, src);
      onLine('go mod tidy');
      await step(['mod', 'tidy']);

      const common = ['build', '-trimpath', ...(r.tags.length ? ['-tags', r.tags.join(',')] : []), '-ldflags', r.ldflags.join(' ')];
      const grouped = r.binaries.filter((b) => defaultBinaryName(b.pkg) === b.name);
      const single = r.binaries.filter((b) => defaultBinaryName(b.pkg) !== b.name);
      if (grouped.length > 0) {
        onLine(`go build ${grouped.map((b) => b.name).join(', ')}`);
        await step([...common, '-o', `${bin}/`, ...grouped.map((b) => b.pkg)]);
      }
      for (const b of single) {
        onLine(`go build ${b.name}`);
        await step([...common, '-o', join(bin, b.name), b.pkg]);
      }
      for (const [link, target] of Object.entries(r.links)) {
        const p = join(bin, link);
        if ((await readlink(p).catch(() => undefined)) !== target) {
          await rm(p, { force: true });
          await symlink(target, p);
        }
      }
      if (r.postBuild.includes('kwok-stages')) {
        onLine('copy kwok stages');
        const copied = await copyKwokStages(r, go, src, bin);
        logLine(`# kwok stages copied from ${copied.from}:\n${copied.files.map((f) => `#   ${f}`).join('\n')}`);
      }
      const failures = await probeComponent(r);
      for (const p of r.probes) logLine(`# probe: ${p.binary} ${p.args.join(' ')} -> expect "${p.expect}"`);
      if (failures.length > 0) throw await buildFailure(r, `built, but the version check failed: ${failures.join('; ')}`, log, logPath);

      const binaries: Record<string, number> = {};
      for (const b of r.binaries) binaries[b.name] = (await stat(join(bin, b.name))).size;
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      const stamp: BuildStamp = {
        component: r.name,
        version: r.version,
        recipeHash: recipeHash(r),
        goVersion: go.version,
        builtAt: new Date().toISOString(),
        buildSeconds: seconds,
        binaries,
      };
      await writeFile(buildPaths.stamp(r), `${JSON.stringify(stamp, null, 2)}\n`);
      logLine(`# done in ${seconds} s: ${Object.entries(binaries).map(([n, s]) => `${n} ${(s / 1e6).toFixed(1)} MB`).join(', ')}`);
      return { seconds, binaries };
    } finally {
      await new Promise<void>((res) => log.end(res));
    }
  });
}

async function buildFailure(r: ComponentRecipe, what: string, log: NodeJS.WritableStream, logPath: string): Promise<UserError> {
  await new Promise<void>((res) => log.write('', () => res()));
  const text = await readFile(logPath, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-15).map((l) => `    ${l}`).join('\n');
  return new UserError(
    `building ${r.name} ${r.version} failed: ${what}\n  log kept at ${logPath}; its last lines:\n${tail}`,
    ExitCode.checkFailed,
  );
}
