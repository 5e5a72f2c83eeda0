import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where clusterproof keeps state that must outlive a process: the fault ledger, the lab's runtime state.
 * CLUSTERPROOF_STATE_DIR overrides it (tests use a temporary directory).
 */
export function stateDir(): string {
  if (process.env.CLUSTERPROOF_STATE_DIR) return process.env.CLUSTERPROOF_STATE_DIR;
  if (process.getuid?.() === 0) return '/var/lib/clusterproof';
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'clusterproof');
}
