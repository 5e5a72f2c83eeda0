/**
 * What the lab's workers are: `kwok` (the default until the data plane is complete: nodes and pods on paper) or
 * `real` (kubelet, containerd, runc, CNI and kube-proxy in each worker's namespaces; see worker-node.ts). Chosen by
 * `lab up --workers`, kept for the life of the lab and written into its profile; control planes stay kwok.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import { labStateDir } from '../../../providers/lab/paths.ts';

export const WORKER_MODES = {
  kwok: 'kwok plays each worker\'s kubelet: pods are Running on paper, nothing serves',
  real: 'each worker runs kubelet, containerd, runc, the CNI bridge and kube-proxy: pods are real containers',
} as const;
export type WorkerMode = keyof typeof WORKER_MODES;

const modeFile = () => join(labStateDir(), 'workers');

export function parseWorkerMode(name: string | undefined): WorkerMode {
  if (name === undefined) return 'kwok';
  if (!Object.hasOwn(WORKER_MODES, name)) {
    throw new UserError(`--workers "${name}": expected one of ${Object.entries(WORKER_MODES).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  }
  return name as WorkerMode;
}

export function saveWorkerMode(mode: WorkerMode): void {
  if (mode === 'kwok') rmSync(modeFile(), { force: true });
  else writeFileSync(modeFile(), mode);
}

export function currentWorkerMode(): WorkerMode {
  return existsSync(modeFile()) ? parseWorkerMode(readFileSync(modeFile(), 'utf8').trim()) : 'kwok';
}
