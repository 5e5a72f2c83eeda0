import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The build cache, outside the repository so a fresh clone (CI) reuses what an earlier run built:
 *   <cache>/bin/<component>-<version>/   binaries, kwok stages, the build stamp
 *   <cache>/src/<component>-<version>/   the wrapper module (go.mod, go.sum, tools.go)
 *   <cache>/logs/<component>-<version>.log  the last build's output (kept on failure)
 * <cache> is CLUSTERPROOF_CACHE_DIR, else /var/cache/clusterproof as root, else $XDG_CACHE_HOME/clusterproof.
 */
export function cacheDir(): string {
  if (process.env.CLUSTERPROOF_CACHE_DIR) return process.env.CLUSTERPROOF_CACHE_DIR;
  if (process.getuid?.() === 0) return '/var/cache/clusterproof';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'clusterproof');
}

/** The parent of every component's bin dir. */
export function labBinDir(): string {
  return join(cacheDir(), 'bin');
}

export interface ComponentKey {
  name: string;
  version: string;
}

const key = (c: ComponentKey) => `${c.name}-${c.version}`;

export const buildPaths = {
  binDir: (c: ComponentKey) => join(labBinDir(), key(c)),
  srcDir: (c: ComponentKey) => join(cacheDir(), 'src', key(c)),
  log: (c: ComponentKey) => join(cacheDir(), 'logs', `${key(c)}.log`),
  stamp: (c: ComponentKey) => join(labBinDir(), key(c), '.clusterproof-build.json'),
  lock: (c: ComponentKey) => join(cacheDir(), 'src', `${key(c)}.lock`),
};
