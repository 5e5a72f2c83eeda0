/**
 * Secrets are resolved at use time, never stored in the profile: { env: VAR } reads the variable, { file: PATH }
 * reads the file. Relative paths start at the directory of the profile the reference came from.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import type { SecretRef } from './schema.ts';

export interface ResolveOptions {
  /** directory relative file paths start from; defaults to the loaded profile's directory, else the cwd */
  baseDir?: string;
  env?: Record<string, string | undefined>;
}

/** Filled by loadProfile: which directory each reference of a loaded profile is relative to. */
const profileDirs = new WeakMap<object, string>();

export function rememberProfileDir(value: unknown, dir: string): void {
  if (value === null || typeof value !== 'object') return;
  const ref = value as Record<string, unknown>;
  if (typeof ref.env === 'string' || typeof ref.file === 'string') profileDirs.set(ref, dir);
  for (const child of Object.values(ref)) rememberProfileDir(child, dir);
}

/** The secret's value (file content without its trailing newline). `field` names it in error messages. */
export async function resolveSecret(ref: SecretRef, field = 'secret', opts: ResolveOptions = {}): Promise<string> {
  return resolveSecretSync(ref, field, opts);
}

export function resolveSecretSync(ref: SecretRef, field = 'secret', opts: ResolveOptions = {}): string {
  const env = opts.env ?? process.env;
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (value === undefined) {
      throw new UserError(`${field}: environment variable ${ref.env} is not set; export ${ref.env}=... before running clusterproof`);
    }
    if (value === '') throw new UserError(`${field}: environment variable ${ref.env} is set but empty`);
    return value;
  }
  if (ref.file !== undefined) {
    const path = secretFilePath(ref, opts.baseDir);
    return readSecretFile(path, ref.file, field).replace(/\r?\n$/, '');
  }
  throw new UserError(`${field}: a secret reference needs exactly one of { env: VAR } or { file: PATH }`);
}

/**
 * For file references (kubeconfig, talosconfig): the absolute path of the file, where { env: VAR } names the file
 * as KUBECONFIG and TALOSCONFIG do.
 */
export function resolveFileRef(ref: SecretRef, field = 'file', opts: ResolveOptions = {}): string {
  const env = opts.env ?? process.env;
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (!value) throw new UserError(`${field}: environment variable ${ref.env} is not set; set it to the path of the file`);
    return expandPath(value, process.cwd());
  }
  if (ref.file !== undefined) {
    const path = secretFilePath(ref, opts.baseDir);
    readSecretFile(path, ref.file, field);
    return path;
  }
  throw new UserError(`${field}: a file reference needs exactly one of { env: VAR } or { file: PATH }`);
}

function secretFilePath(ref: SecretRef, baseDir: string | undefined): string {
  return expandPath(ref.file as string, baseDir ?? profileDirs.get(ref) ?? process.cwd());
}

function expandPath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function readSecretFile(path: string, asWritten: string, field: string): string {
  const shown = path === asWritten ? path : `${asWritten} (${path})`;
  try {
    if (statSync(path).isDirectory()) throw new UserError(`${field}: ${shown} is a directory, expected a file`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${field}: file ${shown} does not exist`);
    if (code === 'EACCES') throw new UserError(`${field}: file ${shown} is not readable (permission denied)`);
    throw new UserError(`${field}: cannot read file ${shown}: ${(err as Error).message}`);
  }
}
