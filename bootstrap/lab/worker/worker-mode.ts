/**
 * What the lab's workers are: `real` (the default: kubelet, containerd, runc, CNI and kube-proxy in each worker's
 * namespaces; see worker-node.ts) or `kwok` (nodes and pods on paper, nothing serves: a lab without a data plane that
 * starts faster and idles lighter). Chosen by `lab up --workers`, kept for the life of the lab and written into its
 * profile; control planes stay kwok.
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
export const DEFAULT_WORKER_MODE: WorkerMode = 'real';

const modeFile = () => join(labStateDir(), 'workers');

export function parseWorkerMode(name: string | undefined): WorkerMode {
  if (name === undefined) return DEFAULT_WORKER_MODE;
  if (!Object.hasOwn(WORKER_MODES, name)) {
    throw new UserError(`--workers "${name}": expected one of ${Object.entries(WORKER_MODES).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  }
  return name as WorkerMode;
}

export function saveWorkerMode(mode: WorkerMode | undefined): void {
  if (mode === undefined) rmSync(modeFile(), { force: true });
  else writeFileSync(modeFile(), mode);
}

export function currentWorkerMode(): WorkerMode {
  return existsSync(modeFile()) ? parseWorkerMode(readFileSync(modeFile(), 'utf8').trim()) : DEFAULT_WORKER_MODE;
}
