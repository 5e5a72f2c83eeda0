/**
 * Reading state from iproute2's JSON output, and writing the host's per-interface sysctls.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { run, tryRun } from '../../core/command.ts';

export interface IpLink {
  ifname: string;
  flags: string[];
  operstate: string;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}

export interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

export interface IpAddr {
  ifname: string;
  addr_info: IpAddrInfo[];
}

export interface IpRoute {
  type?: string;
  dst: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  table?: string;
  flags?: string[];
}

function parseJson<T>(text: string): T[] {
  const trimmed = text.trim();
  return trimmed === '' ? [] : (JSON.parse(trimmed) as T[]);
}

function nsArgs(netns?: string): string[] {
  return netns ? ['-n', netns] : [];
}

/** Links of the host (or of `netns`), with details (kind, master). */
export async function listLinks(netns?: string): Promise<IpLink[]> {
  const { stdout } = await run(['ip', ...nsArgs(netns), '-j', '-d', 'link', 'show']);
  return parseJson<IpLink>(stdout);
}

export async function listAddrs(netns?: string): Promise<IpAddr[]> {
  const { stdout } = await run(['ip', ...nsArgs(netns), '-j', '-4', 'addr', 'show']);
  return parseJson<IpAddr>(stdout);
}

/** IPv4 routes of every table (`table all`). */
export async function listRoutes(netns?: string): Promise<IpRoute[]> {
  const { stdout } = await run(['ip', ...nsArgs(netns), '-j', '-4', 'route', 'show', 'table', 'all']);
  return parseJson<IpRoute>(stdout);
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'netns', 'list']);
  return parseJson<{ name: string }>(stdout).map((n) => n.name);
}

/** Pids of processes whose network namespace is `netns`. */
export async function netnsPids(netns: string): Promise<number[]> {
  const result = await tryRun(['ip', 'netns', 'pids', netns]);
  if (result.code !== 0) return [];
  return result.stdout
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

/** Writes a per-interface sysctl of the host namespace, e.g. ('ipv4', 'cp-br0', 'arp_accept', 1). Skipped if absent. */
export async function setHostInterfaceSysctl(family: 'ipv4' | 'ipv6', ifname: string, key: string, value: number): Promise<void> {
  const path = `/proc/sys/net/${family}/conf/${ifname}/${key}`;
  if (!existsSync(path)) return; // e.g. IPv6 disabled on this kernel
  await writeFile(path, `${value}\n`);
}

/** `ip route get` for the host: the route it would take, or the kernel's refusal ("No route to host"). */
export async function routeGet(ip: string, netns?: string): Promise<{ ok: true; route: IpRoute } | { ok: false; error: string }> {
  const result = await tryRun(['ip', ...nsArgs(netns), '-j', 'route', 'get', ip]);
  if (result.code !== 0) return { ok: false, error: result.stderr.trim() };
  const [route] = parseJson<IpRoute>(result.stdout);
  return route ? { ok: true, route } : { ok: false, error: 'no route returned' };
}
