import { join } from 'node:path';
import { stateDir } from '../../core/state-dir.ts';

/** Where the running lab keeps its runtime state (data dirs, logs, pids, its profile). */
export function labStateDir(): string {
  return process.env.CLUSTERPROOF_LAB_DIR ?? join(stateDir(), 'lab');
}

export const labPaths = {
  profile: () => join(labStateDir(), 'profile.yaml'),
  logs: () => join(labStateDir(), 'logs'),
  data: () => join(labStateDir(), 'data'),
  pki: () => join(labStateDir(), 'pki'),
  supervisorPid: () => join(labStateDir(), 'supervisor.pid'),
  processes: () => join(labStateDir(), 'processes.json'),
  lock: () => join(labStateDir(), 'lab.lock'),
  /** node -> the Kubernetes release it boots, where it differs from the lab's build default (lab up --kubernetes, lab upgrade) */
  nodeVersions: () => join(labStateDir(), 'node-versions.json'),
};
