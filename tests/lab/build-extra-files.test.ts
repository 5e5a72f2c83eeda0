/**
 * Recipes that carry source files of our own into the wrapper module (`files`), and the two phase-2 recipes that
 * came with them: the MetalLB speaker (its own recipe beside the controller's) and CoreDNS (a main package of ours
 * linking only the cluster DNS plugins). The recipe checks always run; the offline build of a `files` recipe needs
 * Go (skipped with the reason without it, a failure under CI); the checks of the built speaker and CoreDNS run when
 * `lab build` has filled the cache (skipped otherwise, and a failure under CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { COMPONENTS, COREDNS_PLUGINS, NO_COMMIT, type ComponentRecipe } from '../../bootstrap/lab/build/components.ts';
import { buildRecipe, findGo, isUpToDate, recipeHash, wrapperFiles, writeWrapper } from '../../bootstrap/lab/build/go-build.ts';
import { componentBinary, selectComponents } from '../../bootstrap/lab/build/index.ts';

const ci = process.env.CI === 'true';
const recipe = (name: string) => COMPONENTS.find((c) => c.name === name)!;
const coredns = recipe('coredns');
const speaker = recipe('metallb-speaker');
const mainGo = coredns.files!['cmd/coredns/main.go'];

describe('extra files in the wrapper module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterproof-extra-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('they are part of the recipe hash; a recipe without them hashes as before the field existed', () => {
    expect(recipeHash(coredns)).not.toBe(recipeHash({ ...coredns, files: { 'cmd/coredns/main.go': `${mainGo}// changed\n` } }));
    expect(recipeHash(coredns)).not.toBe(recipeHash({ ...coredns, files: { ...coredns.files, 'cmd/coredns/extra.go': 'package main\n' } }));
    for (const c of COMPONENTS.filter((c) => c.files === undefined)) {
      expect(recipeHash({ ...c, files: undefined }), c.name).toBe(recipeHash(c));
    }
  });

  test('written beside go.mod and tools.go, in their subdirectories', async () => {
    await writeWrapper(coredns, dir);
    expect(readFileSync(join(dir, 'go.mod'), 'utf8')).toBe(coredns.goMod);
    expect(readFileSync(join(dir, 'tools.go'), 'utf8')).toContain('_ "lab.local/corednsbin/cmd/coredns"');
    expect(readFileSync(join(dir, 'cmd/coredns/main.go'), 'utf8')).toBe(mainGo);
  });

  test('a path outside the wrapper, or one replacing its own files, is refused', () => {
    for (const bad of ['../escape.go', '/etc/x.go', './main.go', 'cmd/../../x.go', 'go.mod', 'go.sum', 'tools.go']) {
      expect(() => wrapperFiles({ ...coredns, files: { [bad]: 'package main\n' } }), bad).toThrow(/must be a plain relative path/);
    }
  });

  test('a main package of ours builds offline, is stamped with -X and probed like any upstream one', { timeout: 180_000 }, async (ctx) => {
    let go;
    try {
      go = await findGo();
    } catch (e) {
      if (ci) throw e;
      return ctx.skip(`no usable Go: ${(e as Error).message.split('\n')[0]}`);
    }
    const hello: ComponentRecipe = {
      ...recipe('vegeta'),
      name: 'hello',
      version: 'v0.0.1',
      module: 'lab.local/hellobin',
      goMod: 'module lab.local/hellobin\n\ngo 1.26.0\n',
      binaries: [{ name: 'hello', pkg: 'lab.local/hellobin/cmd/hello' }],
      files: { 'cmd/hello/main.go': 'package main\n\nvar version = "unstamped"\n\nfunc main() { println("hello " + version) }\n' },
      ldflags: ['-s', '-w', '-X main.version=v0.0.1'],
      probes: [{ binary: 'hello', args: [], expect: 'hello v0.0.1' }],
    };
    const saved = process.env.CLUSTERPROOF_CACHE_DIR;
    process.env.CLUSTERPROOF_CACHE_DIR = join(dir, 'cache');
    try {
      const built = await buildRecipe(hello, { ...go, env: { ...go.env, GOPROXY: 'off' } }, () => undefined);
      expect(Object.keys(built.binaries)).toEqual(['hello']);
      expect(readFileSync(join(dir, 'cache', 'src', 'hello-v0.0.1', 'cmd', 'hello', 'main.go'), 'utf8')).toContain('unstamped');
      expect(await isUpToDate(hello)).toEqual({ upToDate: true, reason: 'cached' });
      // another file content is another recipe: the stamp no longer matches
      const changed = { ...hello, files: { 'cmd/hello/main.go': hello.files!['cmd/hello/main.go'].replace('hello ', 'hi ') } };
      expect((await isUpToDate(changed)).reason).toMatch(/^recipe changed/);
    } finally {
      if (saved === undefined) delete process.env.CLUSTERPROOF_CACHE_DIR;
      else process.env.CLUSTERPROOF_CACHE_DIR = saved;
    }
  });
});

describe('the MetalLB speaker and CoreDNS recipes', () => {
  test('both are in the default build (the real workers run them)', () => {
    expect(speaker.default).toBe(true);
    expect(coredns.default).toBe(true);
    expect(selectComponents().map((c) => c.name)).toContain('metallb-speaker');
    expect(selectComponents().map((c) => c.name)).toContain('coredns');
    expect(selectComponents({ only: ['metallb-speaker', 'coredns'] }).map((c) => c.name)).toEqual(['metallb-speaker', 'coredns']);
  });

  test('the speaker: the controller module, version and stamps, in a wrapper of its own', () => {
    const controller = recipe('metallb');
    expect(speaker.module).toBe(controller.module);
    expect(speaker.version).toBe(controller.version);
    expect(speaker.ldflags).toEqual(controller.ldflags);
    expect(speaker.goMod).toBe(controller.goMod.replace('lab.local/metallbbin', 'lab.local/metallbspeakerbin'));
    expect(speaker.binaries).toEqual([{ name: 'metallb-speaker', pkg: 'go.universe.tf/metallb/speaker' }]);
    // outside a pod it needs both, or it exits before reaching the point where it fails for want of a cluster
    expect(speaker.probes[0].args).toEqual(expect.arrayContaining(['--namespace=metallb-system', '--node-name=probe']));
    expect(speaker.probes[0].expect).toBe(`MetalLB speaker starting version 0.15.3 (commit ${NO_COMMIT}, branch v0.15.3)`);
  });

  test('CoreDNS: our main links each plugin and declares exactly them as directives, in plugin.cfg order', () => {
    expect(coredns.binaries).toEqual([{ name: 'coredns', pkg: 'lab.local/corednsbin/cmd/coredns' }]);
    expect([...COREDNS_PLUGINS].sort()).toEqual(
      ['cache', 'errors', 'forward', 'health', 'kubernetes', 'loadbalance', 'log', 'loop', 'ready', 'reload'],
    );
    const imported = [...mainGo.matchAll(/^\t_ "github\.com\/coredns\/coredns\/plugin\/([a-z]+)"$/gm)].map((m) => m[1]);
    expect(imported.sort()).toEqual([...COREDNS_PLUGINS].sort());
    const block = /var directives = \[\]string\{\n([^}]*)\}/.exec(mainGo)![1];
    expect([...block.matchAll(/"([a-z]+)"/g)].map((m) => m[1])).toEqual([...COREDNS_PLUGINS]);
    expect(mainGo).toMatch(/dnsserver\.Directives = directives\n\tcoremain\.Run\(\)/);
    expect(coredns.ldflags).toContain(`-X github.com/coredns/coredns/coremain.GitCommit=${NO_COMMIT}`);
    expect(coredns.probes).toEqual([{ binary: 'coredns', args: ['-version'], expect: 'CoreDNS-1.12.4' }]);
  });

  test("the directive order is the one of the CoreDNS module's own plugin.cfg", async (ctx) => {
    let modCache = '';
    try {
      const go = await findGo();
      modCache = spawnSync(go.go, ['env', 'GOMODCACHE'], { encoding: 'utf8', env: go.env }).stdout.trim();
    } catch {
      // no Go: no module cache to read either
    }
    const cfg = join(modCache, `github.com/coredns/coredns@${coredns.version}`, 'plugin.cfg');
    if (!modCache || !existsSync(cfg)) {
      return ctx.skip(`the CoreDNS ${coredns.version} module is not in Go's module cache (\`lab build --only coredns\` fetches it)`);
    }
    const order = readFileSync(cfg, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':')[0]);
    expect(order.filter((p) => (COREDNS_PLUGINS as readonly string[]).includes(p))).toEqual([...COREDNS_PLUGINS]);
  });
});

describe('the built speaker and CoreDNS', async () => {
  const states = await Promise.all([speaker, coredns].map(async (c) => ({ c, state: await isUpToDate(c) })));
  const notBuilt = states.filter((s) => !s.state.upToDate).map((s) => `${s.c.name} ${s.c.version}: ${s.state.reason}`);
  const skipReason = notBuilt.length
    ? `not built (\`node bin/clusterproof.mjs lab build\`): ${notBuilt.join('; ')}`
    : undefined;
  if (skipReason && process.env.CI === 'true') {
    test('the speaker and CoreDNS are built under CI', () => {
      throw new Error(skipReason);
    });
  }

  test('CoreDNS reports its version and links the ten plugins', (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const v = spawnSync(componentBinary('coredns'), ['-version'], { encoding: 'utf8', timeout: 20_000 });
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^CoreDNS-1\\.12\\.4\nlinux/\\w+, go[\\d.]+, ${NO_COMMIT}\n$`));
    const plugins = spawnSync(componentBinary('coredns'), ['-plugins'], { encoding: 'utf8', timeout: 20_000 }).stdout.split('\n');
    for (const p of COREDNS_PLUGINS) expect(plugins).toContain(p);
    // a plugin CoreDNS links in full but that this build leaves out
    expect(plugins).not.toContain('hosts');
  });

  test('a Corefile directive outside the ten is refused', (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const r = spawnSync(componentBinary('coredns'), ['-conf', 'stdin'], {
      input: '.:15353 {\n  hosts\n  forward . 127.0.0.1:15399\n}\n',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("Unknown directive 'hosts'");
  });
});
