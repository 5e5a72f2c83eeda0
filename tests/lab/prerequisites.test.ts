/**
 * The host prerequisites check: every missing tool at once, installed with apt-get as root on Debian/Ubuntu,
 * otherwise one error with one install command. The host is injected: nothing here runs apt-get or looks at PATH.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExitCode, MissingPrerequisiteError } from '../../core/errors.ts';
import {
  aptPackages,
  checkLabPrerequisites,
  ensureLabPrerequisites,
  isDebianLike,
  LAB_HOST_TOOLS,
  labRuntimeTools,
  type PrerequisiteHost,
} from '../../bootstrap/lab/prerequisites.ts';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n';
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';

interface FakeHost extends PrerequisiteHost {
  ran: { argv: readonly string[]; env: NodeJS.ProcessEnv }[];
  printed: string[];
}

/** A host where `absent` tools are missing; a successful apt-get install provides the tools of its packages. */
function fakeHost(opts: { absent?: string[]; root?: boolean; osRelease?: string; env?: NodeJS.ProcessEnv; aptInstalls?: boolean; aptExit?: number; go?: string } = {}): FakeHost {
  const absent = new Set(opts.absent ?? []);
  const host: FakeHost = {
    ran: [],
    printed: [],
    hasTool: (name) => !absent.has(name),
    isRoot: () => opts.root ?? true,
    osRelease: () => opts.osRelease ?? DEBIAN,
    buildPending: async () => true,
    checkGo: async () => (opts.go ? { what: opts.go, fix: 'put Go 1.26 on PATH' } : undefined),
    run: async (argv, env) => {
      host.ran.push({ argv, env });
      const code = opts.aptExit ?? 0;
      if (code === 0 && argv[1] === 'install' && opts.aptInstalls !== false) {
        for (const t of LAB_HOST_TOOLS) if (argv.includes(t.aptPackage)) absent.delete(t.tool);
      }
      return code;
    },
    print: (line) => host.printed.push(line),
    env: opts.env ?? {},
  };
  return host;
}

async function failure(p: Promise<unknown>): Promise<MissingPrerequisiteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MissingPrerequisiteError);
  return err as MissingPrerequisiteError;
}

const installCommands = (message: string) => message.match(/apt-get install/g) ?? [];

describe('lab prerequisites', () => {
  test('everything present: nothing is run and nothing printed', async () => {
    const host = fakeHost();
    await ensureLabPrerequisites({ command: 'npm start', building: true, host });
    expect(host.ran).toEqual([]);
    expect(host.printed).toEqual([]);
  });

  test('several tools missing, as root on Debian: apt-get update, then one install of every package, each said with why', async () => {
    const host = fakeHost({ absent: ['iptables', 'arptables', 'ping', 'arping', 'redis-check-rdb'] });
    await ensureLabPrerequisites({ command: 'npm start', host });
    expect(host.ran.map((r) => r.argv.join(' '))).toEqual([
      'apt-get update',
      'apt-get install -y iptables iputils-arping redis-tools iputils-ping',
    ]);
    expect(host.ran.every((r) => r.env.DEBIAN_FRONTEND === 'noninteractive')).toBe(true);
    const out = host.printed.join('\n');
    expect(out).toContain('installing 4 apt package(s)');
    expect(out).toContain('CLUSTERPROOF_NO_APT=1');
    for (const [pkg, why] of [
      ['iptables', 'arptables: a partition drops ARP too'],
      ['iputils-arping', 'arping: the VIP holder announces'],
      ['redis-tools', "redis-check-rdb: ArgoCD's cache"],
      ['iputils-ping', 'ping: npm test pings'],
    ]) {
      expect(host.printed.find((l) => l.trim().startsWith(`${pkg} `)), pkg).toContain(why);
    }
  });

  test('Ubuntu counts as Debian: it installs too', async () => {
    const host = fakeHost({ absent: ['git'], osRelease: UBUNTU });
    await ensureLabPrerequisites({ command: 'npm start', host });
    expect(host.ran.at(-1)?.argv).toEqual(['apt-get', 'install', '-y', 'git']);
  });

  test('not root: one error naming every missing tool, root, and exactly one install command with all packages', async () => {
    const host = fakeHost({ root: false, absent: ['iptables', 'arptables', 'arping', 'redis-check-rdb'] });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', host }));
    expect(host.ran).toEqual([]);
    expect(err.exitCode).toBe(ExitCode.missingPrerequisite);
    for (const tool of ['iptables', 'arptables', 'arping', 'redis-check-rdb']) expect(err.message).toContain(`\`${tool}\``);
    expect(err.message).toContain('root');
    expect(err.message).toContain('sudo -E npm start');
    expect(installCommands(err.message)).toHaveLength(1);
    expect(err.message).toContain('sudo apt-get install -y iptables iputils-arping redis-tools');
  });

  test('not Debian or Ubuntu: names the tools and their packages, runs nothing', async () => {
    const host = fakeHost({ osRelease: FEDORA, absent: ['arping', 'openssl'] });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', host }));
    expect(host.ran).toEqual([]);
    expect(err.message).toMatch(/install arping, openssl with your distribution's package manager/);
    expect(err.message).toContain('iputils-arping openssl');
    expect(err.message).not.toContain('sudo');
  });

  test('still missing after apt-get install: a clear failure naming what is still absent', async () => {
    const host = fakeHost({ absent: ['arptables', 'git'], aptInstalls: false });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', host }));
    expect(host.ran).toHaveLength(2);
    expect(err.message).toContain('still missing after `apt-get install -y iptables git`');
    expect(err.message).toContain('`arptables`');
    expect(err.message).toContain('`git`');
  });

  test('apt-get failing: the failure names the command and its exit code', async () => {
    const host = fakeHost({ absent: ['git'], aptExit: 100 });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', host }));
    expect(host.ran.map((r) => r.argv.join(' '))).toEqual(['apt-get update']);
    expect(err.message).toContain('`apt-get update` exited 100');
  });

  test('CLUSTERPROOF_NO_APT=1: nothing is installed; the error gives the command to run', async () => {
    const host = fakeHost({ absent: ['iptables', 'ping'], env: { CLUSTERPROOF_NO_APT: '1' } });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', host }));
    expect(host.ran).toEqual([]);
    expect(err.message).toContain('CLUSTERPROOF_NO_APT is set');
    expect(installCommands(err.message)).toHaveLength(1);
    expect(err.message).toContain('apt-get update && apt-get install -y iptables iputils-ping');
    expect(err.message).not.toContain('sudo');
  });

  test("Go is reported with the tools when a build is pending, with the build's own fix", async () => {
    const host = fakeHost({ root: false, absent: ['git'], go: 'Go is not installed' });
    const err = await failure(ensureLabPrerequisites({ command: 'npm start', building: true, host }));
    expect(err.message).toContain('Go, to build the lab components: Go is not installed');
    expect(err.message).toContain('put Go 1.26 on PATH');
    expect(err.message).toContain('`git`');
  });

  test('Go is not asked for when nothing is to be built, nor by lab up', async () => {
    const host = { ...fakeHost({ go: 'Go is not installed' }), buildPending: async () => false };
    expect((await checkLabPrerequisites({ command: 'npm start', building: true, host })).go).toBeUndefined();
    expect((await checkLabPrerequisites({ command: 'lab up', host: fakeHost({ go: 'Go is not installed' }) })).go).toBeUndefined();
  });

  test('os-release: Debian, Ubuntu and derivatives by ID or ID_LIKE; others and none are not', () => {
    expect(isDebianLike(DEBIAN)).toBe(true);
    expect(isDebianLike(UBUNTU)).toBe(true);
    expect(isDebianLike('ID=linuxmint\nID_LIKE="ubuntu debian"\n')).toBe(true);
    expect(isDebianLike(FEDORA)).toBe(false);
    expect(isDebianLike('ID=rhel\nID_LIKE="fedora"\n')).toBe(false);
    expect(isDebianLike(undefined)).toBe(false);
  });

  test('each package is installed once, in table order', () => {
    expect(aptPackages(LAB_HOST_TOOLS.filter((t) => ['iptables', 'arptables', 'iptables-save'].includes(t.tool)))).toEqual(['iptables']);
  });
});

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

/** Host tools named in the source: requireTools(...) arguments and the literal program of run/spawn/execInNode calls. */
function toolsNamedIn(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/\brequireTools\(([^)]*)\)/g)) names.push(...[...m[1]!.matchAll(/'([\w.-]+)'/g)].map((q) => q[1]!));
  for (const m of source.matchAll(/\b(?:run|tryRun|spawn|execFile|execFileSync)\(\s*\[?\s*'([\w.-]+)'/g)) names.push(m[1]!);
  for (const m of source.matchAll(/\b(?:execInNode|tryExecInNode|runInNode)\(\s*\w+,\s*\[\s*'([\w.-]+)'/g)) names.push(m[1]!);
  return names;
}

describe('the prerequisites table keeps up with the source', () => {
  // Go is checked by the build (findGo), not as a host package
  const notHostPackages = new Set(['go']);
  const table = new Set(LAB_HOST_TOOLS.map((t) => t.tool));

  test('every tool the lab and its tests require or run is in the table', () => {
    const files = [...sources('bootstrap/lab').filter((f) => !f.startsWith('bootstrap/lab/build/')), ...sources('tests/lab')];
    const named = new Map<string, string>();
    for (const f of files) for (const tool of toolsNamedIn(readFileSync(join(ROOT, f), 'utf8'))) named.set(tool, f);
    expect(named.size).toBeGreaterThan(5);
    const absent = [...named].filter(([tool]) => !table.has(tool) && !notHostPackages.has(tool)).map(([tool, f]) => `${tool} (${f})`);
    expect(absent).toEqual([]);
  });

  test('the scan sees requireTools, run, spawn and execInNode', () => {
    const src = "requireTools('ip', 'sysctl');\nrun(['git', 'init']);\nspawn('arping', []);\nexecInNode(node, [\n 'sysctl', '-w']);";
    expect(toolsNamedIn(src)).toEqual(['ip', 'sysctl', 'git', 'arping', 'sysctl']);
  });

  test('lab up requires every tool the lab runs, and none that only the tests run', () => {
    expect(labRuntimeTools()).toEqual(LAB_HOST_TOOLS.filter((t) => !t.testsOnly).map((t) => t.tool));
    expect(labRuntimeTools()).not.toContain('ping');
    expect(readFileSync(join(ROOT, 'bootstrap/lab/lab.ts'), 'utf8')).toContain('requireTools(...labRuntimeTools())');
  });
});
