/**
 * Kubernetes and Talos versions as a preflight reasons about them: a minor line ("1.35"), optionally a patch or
 * "x" (the latest patch of that line), and the hops from one minor to another, one minor at a time.
 */
import { UserError } from '../errors.ts';

export interface Version {
  major: number;
  minor: number;
  /** undefined: the line's latest patch ("1.35.x" or "1.35") */
  patch?: number;
}

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+|x))?$/;

export function parseVersion(text: string, what = 'version'): Version {
  const m = VERSION.exec(text.trim());
  if (!m) throw new UserError(`${what} "${text}" is not a version: expected e.g. 1.35.2, v1.35.2 or 1.35.x`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined || m[3] === 'x' ? undefined : Number(m[3]) };
}

/** A node's version string ("v1.34.4", "v1.34.4+talos"): the numeric part only. */
export function parseReported(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export const minorOf = (v: Version) => `${v.major}.${v.minor}`;
export const formatVersion = (v: Version) => (v.patch === undefined ? `${minorOf(v)}.x` : `${minorOf(v)}.${v.patch}`);

/** Negative when a is older. Patches compare only when both are known. */
export function compareMinor(a: Version, b: Version): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** Minor lines as numbers, "1.35" -> 35 (Kubernetes stays at major 1). */
export const minorNumber = (minor: string) => Number(minor.split('.')[1]);

/** The minors an upgrade from `from` to `to` lands on, in order: 1.34 -> 1.37 gives 1.35, 1.36, 1.37. */
export function hops(from: Version, to: Version): string[] {
  if (from.major !== to.major) throw new UserError(`an upgrade from ${minorOf(from)} to ${minorOf(to)} crosses a major version: not supported`);
  const out: string[] = [];
  for (let m = from.minor + 1; m <= to.minor; m++) out.push(`${from.major}.${m}`);
  return out;
}

/** `--to kubernetes=1.35.x,talos=v1.12.x` -> { kubernetes: '1.35.x', talos: 'v1.12.x' }; unknown names are bad input. */
export function parseTargets(text: string, known: readonly string[]): Record<string, Version> {
  const out: Record<string, Version> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = part.split('=').map((s) => s?.trim());
    if (!name || !value) throw new UserError(`--to: "${part}" is not name=version (e.g. kubernetes=1.35.x)`);
    if (!known.includes(name)) throw new UserError(`--to: unknown component "${name}"; known: ${known.join(', ')}`);
    out[name] = parseVersion(value, `--to ${name}`);
  }
  if (!out.kubernetes) throw new UserError('--to must name the Kubernetes version, e.g. --to kubernetes=1.35.x');
  return out;
}
