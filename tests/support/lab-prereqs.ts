/**
 * Whether this machine can run the lab: root, and the components built. Outside CI a missing prerequisite
 * skips the lab tests with the reason; under CI=true it is a failure (a green CI must have run them).
 */
import { test } from 'vitest';
import { isRoot } from '../../core/command.ts';
import { resolveLabBinaries } from '../../bootstrap/lab/binaries.ts';
import { componentBinary } from '../../bootstrap/lab/build/index.ts';
import { resolveWorkerBinaries } from '../../bootstrap/lab/worker/worker-node.ts';

/** The lab's default build: the control planes' components and the real workers' (the lab's default workers). */
export function labPrerequisiteMissing(): string | undefined {
  if (!isRoot()) return 'the lab needs root (network namespaces)';
  try {
    const { clusterproof } = resolveLabBinaries();
    resolveWorkerBinaries(clusterproof);
    for (const b of ['argocd', 'metallb-controller', 'kustomize', 'coredns', 'metallb-speaker']) componentBinary(b);
  } catch (err) {
    return `${(err as Error).message.split('\n')[0]} (run \`node bin/clusterproof.mjs lab build\`)`;
  }
  return undefined;
}

/** Call at the top of a lab test file; returns the skip reason (and registers a failing test under CI). */
export function labSkipReason(): string | undefined {
  const missing = labPrerequisiteMissing();
  if (missing && process.env.CI === 'true') {
    test('lab prerequisites are present under CI', () => {
      throw new Error(`lab tests cannot run: ${missing}`);
    });
  }
  return missing;
}
