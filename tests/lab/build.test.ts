/**
 * The lab's component builds. Recipe and error-path checks always run; the checks of the built binaries run when
 * `clusterproof lab build` has filled the cache (CI runs it first: under CI=true a missing build is a failure,
 * elsewhere the test is skipped with the reason).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode, MissingPrerequisiteError, UserError } from '../../core/errors.ts';
import {
  buildComponents,
  COMPONENTS,
  componentBinary,
  kwokStageFiles,
  kwokStagesDir,
  labBinDir,
  selectComponents,
} from '../../bootstrap/lab/build/index.ts';
import { DEFAULT_KUBERNETES_VERSION, type ComponentRecipe } from '../../bootstrap/lab/build/components.ts';
import { buildRecipe, findGo, isUpToDate, recipeHash } from '../../bootstrap/lab/build/go-build.ts';

const ci = process.env.CI === 'true';

function output(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, KUBECONFIG: '/dev/null' } });
  return `${r.stdout}${r.stderr}`;
}

describe('recipes', () => {
  test('a plain build selects what the lab runs; --only takes components or binaries', () => {
    expect(selectComponents().map((c) => c.name)).toEqual([
      'kubernetes',
      'etcd',
      'kwok',
      'load-engine',
      'metallb',
      'argocd',
      'kustomize',
      'kubernetes-node',
      'containerd',
      'runc',
      'cni-plugins',
      'metallb-speaker',
      'coredns',
    ]);
    expect(selectComponents({ only: ['kube-apiserver', 'etcdctl'] }).map((c) => c.name)).toEqual(['kubernetes', 'etcd']);
    expect(selectComponents({ all: true }).length).toBe(COMPONENTS.length);
    expect(selectComponents({ only: ['kubelet', 'runc'] }).map((c) => c.name)).toEqual(['kubernetes-node', 'runc']);
    expect(() => selectComponents({ only: ['cilium-agent'] })).toThrow(UserError);
    expect(() => selectComponents({ only: ['cilium-agent'] })).toThrow(/unknown component "cilium-agent"; known: kubernetes/);
  });

  test('binaries live in <cache>/bin/<component>-<version>/', () => {
    const k8s = COMPONENTS.find((c) => c.name === 'kubernetes')!;
    expect(componentBinary('kube-apiserver', { mustExist: false })).toBe(join(labBinDir(), `kubernetes-${k8s.version}`, 'kube-apiserver'));
    expect(componentBinary('argocd-server', { mustExist: false })).toMatch(/\/argocd-v[\d.]+\/argocd-server$/);
    expect(kwokStageFiles().map((f) => f.slice(kwokStagesDir().length + 1))).toEqual([
      'node-initialize.yaml',
      'node-heartbeat-with-lease.yaml',
      'pod-ready.yaml',
      'pod-complete.yaml',
      'pod-delete.yaml',
    ]);
    expect(() => componentBinary('cilium-agent')).toThrow(/no lab component builds a binary named "cilium-agent"/);
  });

  test('the Kubernetes wrapper pins all 31 staging modules and stamps the version in both version packages', () => {
    const k8s = COMPONENTS.find((c) => c.name === 'kubernetes')!;
    expect(k8s.version).toBe(DEFAULT_KUBERNETES_VERSION);
    expect(k8s.goMod.match(/^\tk8s\.io\/[a-z-]+ => k8s\.io\/[a-z-]+ v0\.34\.4$/gm)).toHaveLength(31);
    for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      expect(k8s.ldflags).toContain(`-X ${p}.gitVersion=${DEFAULT_KUBERNETES_VERSION}`);
      expect(k8s.ldflags).toContain(`-X ${p}.gitMajor=1`);
      expect(k8s.ldflags).toContain(`-X ${p}.gitMinor=34`);
    }
    expect(k8s.tags).toEqual(['selinux', 'notest']);
    // the hash keys the cache: stable, and blind to the description
    expect(recipeHash(k8s)).toBe(recipeHash({ ...k8s, description: 'other words' }));
    expect(recipeHash(k8s)).not.toBe(recipeHash({ ...k8s, ldflags: [...k8s.ldflags, '-X a.b=c'] }));
  });

  test('missing Go: the message says what is needed, and that Debian 12 golang is too old', async () => {
    const err = await findGo({ pathVar: '/nonexistent', fallbackDirs: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPrerequisiteError);
    expect((err as UserError).exitCode).toBe(ExitCode.missingPrerequisite);
    expect((err as Error).message).toMatch(/Go 1\.26 or newer on PATH/);
    expect((err as Error).message).toMatch(/Debian 12 ships Go 1\.19/);
    expect((err as Error).message).toMatch(/GOTOOLCHAIN=go1\.26\.8/);
  });
});

describe('a failed build', () => {
  const cache = mkdtempSync(join(tmpdir(), 'clusterproof-build-test-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  test('names the component and keeps its log, quoting its last lines', async (ctx) => {
    let go;
    try {
      go = await findGo();
    } catch (e) {
      if (ci) throw e;
      ctx.skip(`no usable Go: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    // offline and deterministic: the wrapper imports a package that does not exist
    const broken: ComponentRecipe = {
      ...COMPONENTS.find((c) => c.name === 'vegeta')!,
      name: 'broken',
      version: 'v0.0.1',
      goMod: 'module lab.local/brokenbin\n\ngo 1.26.0\n',
      binaries: [{ name: 'broken', pkg: 'lab.local/brokenbin/cmd/broken' }],
      probes: [],
    };
    const saved = process.env.CLUSTERPROOF_CACHE_DIR;
    process.env.CLUSTERPROOF_CACHE_DIR = cache;
    try {
      const err = await buildRecipe(broken, { ...go, env: { ...go.env, GOPROXY: 'off', GOFLAGS: '' } }, () => undefined).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      const log = join(cache, 'logs', 'broken-v0.0.1.log');
      expect((err as Error).message).toContain('building broken v0.0.1 failed: go mod tidy exited 1');
      expect((err as Error).message).toContain(`log kept at ${log}`);
      expect((err as Error).message).toMatch(/lab\.local\/brokenbin\/cmd\/broken/);
      expect(readFileSync(log, 'utf8')).toContain('$ go mod tidy');
      // no stamp: the next build retries
      expect(existsSync(join(cache, 'bin', 'broken-v0.0.1', '.clusterproof-build.json'))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.CLUSTERPROOF_CACHE_DIR;
      else process.env.CLUSTERPROOF_CACHE_DIR = saved;
    }
  });
});

describe('built components', async () => {
  const notBuilt: string[] = [];
  for (const c of selectComponents()) {
    const state = await isUpToDate(c);
    if (!state.upToDate) notBuilt.push(`${c.name} ${c.version}: ${state.reason}`);
  }
  const skipReason = notBuilt.length
    ? `not built (run \`node bin/clusterproof.mjs lab build\`): ${notBuilt.join('; ')}`
    : undefined;

  if (skipReason && ci) {
    test('the lab components are built under CI', () => {
      throw new Error(`the lab build test cannot run: ${skipReason}`);
    });
    return;
  }

  test('each binary reports its upstream version', (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    for (const b of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      expect(output(componentBinary(b), ['--version']).trim()).toBe(`Kubernetes ${DEFAULT_KUBERNETES_VERSION}`);
    }
    expect(output(componentBinary('kubectl'), ['version', '--client'])).toContain(`Client Version: ${DEFAULT_KUBERNETES_VERSION}`);
    expect(output(componentBinary('etcd'), ['--version'])).toMatch(/^etcd Version: 3\.6\.\d+$/m);
    expect(output(componentBinary('etcdctl'), ['version'])).toMatch(/^etcdctl version: 3\.6\.\d+$/m);
    expect(output(componentBinary('kwok'), ['--version'])).toMatch(/^kwok version v0\.8\.0 /);
    for (const f of kwokStageFiles()) expect(readFileSync(f, 'utf8')).toMatch(/^kind: Stage$/m);
  });

  test('a second build is a no-op: every component cached, nothing rewritten, in seconds', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const bins = selectComponents().flatMap((c) => c.binaries.map((b) => componentBinary(b.name)));
    const mtimes = bins.map((b) => statSync(b).mtimeMs);
    const t0 = Date.now();
    const results = await buildComponents({ renderer: 'silent' });
    const seconds = (Date.now() - t0) / 1000;
    expect(results.map((r) => `${r.component}:${r.status}`)).toEqual(selectComponents().map((c) => `${c.name}:cached`));
    expect(bins.map((b) => statSync(b).mtimeMs)).toEqual(mtimes);
    expect(seconds).toBeLessThan(20);
  });
});
