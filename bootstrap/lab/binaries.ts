/** The built upstream binaries the lab runs; a missing one names the build command. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentBinary, kwokStageFiles } from './build/index.ts';
import type { LabBinaries } from './node-components.ts';

export function resolveLabBinaries(): LabBinaries {
  return {
    etcd: componentBinary('etcd'),
    kubeApiserver: componentBinary('kube-apiserver'),
    kubeControllerManager: componentBinary('kube-controller-manager'),
    kubeScheduler: componentBinary('kube-scheduler'),
    clusterproof: [process.execPath, join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'clusterproof.mjs')],
    kwok: componentBinary('kwok'),
    kwokStages: [...kwokStageFiles(), join(dirname(fileURLToPath(import.meta.url)), 'kwok', 'pod-ready-again.yaml')],
  };
}
