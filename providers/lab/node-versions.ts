/**
 * Which Kubernetes release each lab node boots: the lab's "installed image". `lab up --kubernetes` sets every node,
 * a rolling upgrade sets one node before it reboots it, and the supervisor reads it at every power-on (as a machine
 * boots what is installed on its disk). A node absent from the file boots the lab's default build.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { labPaths } from './paths.ts';

export type NodeVersions = Record<string, string>;

export function readNodeVersions(): NodeVersions {
  const file = labPaths.nodeVersions();
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as NodeVersions) : {};
}

/** Atomic: a supervisor reading it while it is written sees the old map or the new one. */
export function writeNodeVersions(versions: NodeVersions): void {
  const file = labPaths.nodeVersions();
  if (!Object.keys(versions).length) return rmSync(file, { force: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(versions, null, 1));
  renameSync(`${file}.tmp`, file);
}

export function setNodeVersion(node: string, version: string): void {
  writeNodeVersions({ ...readNodeVersions(), [node]: version });
}
