/**
 * Everything the lab needs from the host, checked all at once before any long work: root, the host tools (with
 * the Debian package of each and why the lab runs it) and, when a build is pending, Go. As root on Debian or
 * Ubuntu the missing packages are installed with apt-get; otherwise one error names all of them and the one
 * command that installs them. CLUSTERPROOF_NO_APT=1 turns the installing off.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasTool, isRoot } from '../../core/command.ts';
import { buildPaths } from '../../core/build-cache.ts';
import { MissingPrerequisiteError } from '../../core/errors.ts';
import { selectComponents } from './build/index.ts';
import { findGo, recipeHash } from './build/go-build.ts';

export interface HostTool {
  tool: string;
  /** the Debian/Ubuntu package that provides it */
  aptPackage: string;
  why: string;
  /** run only by the project's own lab tests (npm test), not by the lab itself */
  testsOnly?: boolean;
}

export const LAB_HOST_TOOLS: readonly HostTool[] = [
  { tool: 'ip', aptPackage: 'iproute2', why: 'the lab is network namespaces, veth pairs, a bridge and routes' },
  { tool: 'sysctl', aptPackage: 'procps', why: 'each node namespace gets its ARP and IPv6 settings' },
  { tool: 'iptables', aptPackage: 'iptables', why: "a partition drops a node's IP traffic" },
  // Debian's iptables provides arptables (arptables-nft, through update-alternatives)
  { tool: 'arptables', aptPackage: 'iptables', why: 'a partition drops ARP too' },
  { tool: 'arping', aptPackage: 'iputils-arping', why: 'the VIP holder announces a VIP move with gratuitous ARP' },
  { tool: 'openssl', aptPackage: 'openssl', why: "the lab's PKI signs its certificates" },
  { tool: 'git', aptPackage: 'git', why: "the lab's git server hosts the gitops repository" },
  { tool: 'redis-check-rdb', aptPackage: 'redis-tools', why: "ArgoCD's cache: the lab runs it as redis-server" },
  { tool: 'umount', aptPackage: 'mount', why: 'lab down unmounts the emptied /run/netns' },
  { tool: 'mount', aptPackage: 'mount', why: "a real worker's own /run, /var/log and masked kernel tunables are mounts in its mount namespace" },
  { tool: 'unshare', aptPackage: 'util-linux', why: 'each real worker gets a mount namespace of its own' },
  { tool: 'nsenter', aptPackage: 'util-linux', why: "a real worker's processes start inside its network and mount namespaces" },
  { tool: 'sh', aptPackage: 'dash', why: "a real worker's processes join its cgroup subtree before they exec" },
  { tool: 'apt-get', aptPackage: 'apt', why: "the real workers' nginx and redis images are made from Debian packages (apt-get download)" },
  { tool: 'apt-cache', aptPackage: 'apt', why: 'the dependency closure of those packages' },
  { tool: 'dpkg-deb', aptPackage: 'dpkg', why: 'the .deb files are unpacked into the image' },
  { tool: 'ping', aptPackage: 'iputils-ping', why: 'npm test pings across the lab network', testsOnly: true },
  { tool: 'iptables-save', aptPackage: 'iptables', why: 'npm test checks that lab down left no rule behind', testsOnly: true },
  { tool: 'pgrep', aptPackage: 'procps', why: 'npm test checks that lab down left no process behind', testsOnly: true },
];

/** The tools the lab itself runs (what `lab up` requires as a last check). */
export function labRuntimeTools(): string[] {
  return LAB_HOST_TOOLS.filter((t) => !t.testsOnly).map((t) => t.tool);
}

export interface MissingPrerequisites {
  root: boolean;
  tools: HostTool[];
  /** why Go does not do, and how to fix it (from the build's own check) */
  go?: { what: string; fix: string };
}

export interface PrerequisiteHost {
  hasTool(name: string): boolean;
  isRoot(): boolean;
  /** the text of /etc/os-release, undefined when there is none */
  osRelease(): string | undefined;
  /** the lab components' build is pending, so `start` will need Go */
  buildPending(): Promise<boolean>;
  /** undefined when Go will do, else why not and the fix */
  checkGo(): Promise<{ what: string; fix: string } | undefined>;
  /** runs argv with its output on this terminal, `env` added to this process's; resolves with the exit code */
  run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number>;
  print(line: string): void;
  /** where CLUSTERPROOF_NO_APT is read */
  env: NodeJS.ProcessEnv;
}

export interface PrerequisiteOptions {
  /** the command line the user ran, for the "run it as root" fix, e.g. `npm start` */
  command: string;
  /** the command builds the lab components first: Go is checked too when a build is pending */
  building?: boolean;
  host?: Partial<PrerequisiteHost>;
}

// the lab runs as root, whose PATH (sudo's secure_path too) has the sbin directories even when this user's does not
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

async function defaultBuildPending(): Promise<boolean> {
  for (const r of selectComponents()) {
    try {
      const stamp = JSON.parse(await readFile(buildPaths.stamp(r), 'utf8')) as { recipeHash?: string };
      if (stamp.recipeHash !== recipeHash(r)) return true;
    } catch {
      return true;
    }
  }
  return false;
}

async function defaultCheckGo(): Promise<{ what: string; fix: string } | undefined> {
  try {
    await findGo();
    return undefined;
  } catch (err) {
    if (!(err instanceof MissingPrerequisiteError)) throw err;
    const [what, fix = ''] = err.message.split('\n  fix: ');
    return { what: what!, fix };
  }
}

function runInheritingOutput(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file!, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function defaultHost(): PrerequisiteHost {
  return {
    hasTool: (name) => hasTool(name) || SBIN_DIRS.some((dir) => existsSync(join(dir, name))),
    isRoot,
    osRelease: () => (existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : undefined),
    buildPending: defaultBuildPending,
    checkGo: defaultCheckGo,
    run: runInheritingOutput,
    print: (line) => console.log(line),
    env: process.env,
  };
}

/** Debian, Ubuntu and their derivatives, from os-release's ID and ID_LIKE. */
export function isDebianLike(osRelease: string | undefined): boolean {
  const ids = (osRelease ?? '')
    .split('\n')
    .map((line) => /^(ID|ID_LIKE)=(.*)$/.exec(line.trim()))
    .flatMap((m) => (m ? m[2]!.replace(/^["']|["']$/g, '').split(/\s+/) : []));
  return ids.some((id) => id === 'debian' || id === 'ubuntu');
}

/** The packages providing these tools, each once, in table order. */
export function aptPackages(tools: readonly HostTool[]): string[] {
  return [...new Set(tools.map((t) => t.aptPackage))];
}

export async function checkLabPrerequisites(opts: PrerequisiteOptions): Promise<MissingPrerequisites> {
  const host = { ...defaultHost(), ...opts.host };
  const missing: MissingPrerequisites = { root: !host.isRoot(), tools: LAB_HOST_TOOLS.filter((t) => !host.hasTool(t.tool)) };
  if (opts.building && (await host.buildPending())) missing.go = await host.checkGo();
  return missing;
}

const nothingMissing = (m: MissingPrerequisites) => !m.root && m.tools.length === 0 && !m.go;

function aptOptedOut(env: NodeJS.ProcessEnv): boolean {
  const v = env.CLUSTERPROOF_NO_APT ?? '';
  return v !== '' && v !== '0';
}

/** One line per package: what it is for. */
function packageLines(tools: readonly HostTool[]): string[] {
  const pkgs = aptPackages(tools);
  const width = Math.max(...pkgs.map((p) => p.length));
  return pkgs.map((pkg) => {
    const its = tools.filter((t) => t.aptPackage === pkg);
    return `  ${pkg.padEnd(width)}  ${its.map((t) => `${t.tool}: ${t.why}`).join('; ')}`;
  });
}

function toolFix(tools: readonly HostTool[], root: boolean, debianLike: boolean): string {
  const pkgs = aptPackages(tools).join(' ');
  if (!debianLike) {
    return `install ${tools.map((t) => t.tool).join(', ')} with your distribution's package manager (on Debian/Ubuntu the packages are: ${pkgs})`;
  }
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${pkgs}`;
}

function missingError(opts: PrerequisiteOptions, m: MissingPrerequisites, debianLike: boolean, heading: string): MissingPrerequisiteError {
  const items: string[] = [];
  const fixes: string[] = [];
  if (m.root) {
    items.push('root: the lab makes network namespaces, a bridge and routes');
    fixes.push(`run it as root, e.g. \`sudo -E ${opts.command}\``);
  }
  for (const t of m.tools) items.push(`\`${t.tool}\` (${t.aptPackage}): ${t.why}`);
  if (m.tools.length) fixes.push(toolFix(m.tools, !m.root, debianLike));
  if (m.go) {
    items.push(`Go, to build the lab components: ${m.go.what}`);
    if (m.go.fix) fixes.push(m.go.fix);
  }
  return new MissingPrerequisiteError(`${heading}\n${items.map((i) => `  - ${i}`).join('\n')}`, fixes.join('\n  fix: '));
}

/**
 * Returns when the host has everything the lab needs. As root on Debian/Ubuntu (unless CLUSTERPROOF_NO_APT is set)
 * it first installs the missing packages, saying which and why; whatever is still missing is one
 * MissingPrerequisiteError naming all of it.
 */
export async function ensureLabPrerequisites(opts: PrerequisiteOptions): Promise<void> {
  const host = { ...defaultHost(), ...opts.host };
  const check = () => checkLabPrerequisites({ ...opts, host });
  let missing = await check();
  if (nothingMissing(missing)) return;
  const debianLike = isDebianLike(host.osRelease());
  const optedOut = aptOptedOut(host.env);
  const canInstall = !missing.root && debianLike && host.hasTool('apt-get') && !optedOut;
  const heading = `${opts.command} needs what this machine does not have yet${optedOut && missing.tools.length ? ' (CLUSTERPROOF_NO_APT is set: not installing it)' : ''}:`;
  if (missing.tools.length === 0 || !canInstall) throw missingError(opts, missing, debianLike, heading);

  const pkgs = aptPackages(missing.tools);
  host.print(`${opts.command}: installing ${pkgs.length} apt package(s) the lab needs (CLUSTERPROOF_NO_APT=1 leaves that to you):`);
  for (const line of packageLines(missing.tools)) host.print(line);
  const aptEnv = { DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of [
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', ...pkgs],
  ]) {
    host.print(`$ DEBIAN_FRONTEND=noninteractive ${argv.join(' ')}`);
    const code = await host.run(argv, aptEnv);
    if (code !== 0) {
      throw new MissingPrerequisiteError(
        `\`${argv.join(' ')}\` exited ${code} (its output is above), so the lab's packages are not installed`,
        toolFix(missing.tools, true, true),
      );
    }
  }
  missing = await check();
  if (nothingMissing(missing)) return;
  throw missingError(opts, missing, debianLike, missing.tools.length ? `${opts.command}: still missing after \`apt-get install -y ${pkgs.join(' ')}\`:` : heading);
}
