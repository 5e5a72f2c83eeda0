/**
 * MetalLB's speakers the way a cluster runs them: the `speaker` DaemonSet of the upstream manifest (the one of the
 * controller's exact module version, from the Go module cache), hostNetwork on every real worker, with its RBAC and
 * memberlist secret; only the image differs (the lab's, built from the metallb-speaker component; there is no
 * registry) and the control-plane tolerations are dropped (the control planes are kwok nodes: a speaker "running"
 * there would win elections and answer nothing).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { MissingPrerequisiteError } from '../../../core/errors.ts';
import { findRecipe } from '../build/index.ts';
import { moduleCache } from '../addons/objects.ts';
import { labGitops } from '../addons/endpoints.ts';

const FIELD_MANAGER = 'clusterproof-lab';

/** The speaker's objects in metallb-native.yaml: its identity and rights, its exclusion config, the DaemonSet. */
const SPEAKER_OBJECTS: Array<[kind: string, name: string]> = [
  ['ServiceAccount', 'speaker'],
  ['Role', 'pod-lister'],
  ['RoleBinding', 'pod-lister'],
  ['ClusterRole', 'metallb-system:speaker'],
  ['ClusterRoleBinding', 'metallb-system:speaker'],
  ['ConfigMap', 'metallb-excludel2'],
  ['DaemonSet', 'speaker'],
];

export function upstreamSpeakerManifest(): string {
  const recipe = findRecipe('metallb')!;
  const file = join(moduleCache(), `${recipe.module}@${recipe.version}`, 'config', 'manifests', 'metallb-native.yaml');
  if (!existsSync(file)) throw new MissingPrerequisiteError(`the MetalLB ${recipe.version} manifest is not in the Go module cache (${file})`, 'node bin/clusterproof.mjs lab build');
  return file;
}

export function speakerObjects(manifest: string, image: string, memberlistKey: string): k8s.KubernetesObject[] {
  const docs = parseAllDocuments(readFileSync(manifest, 'utf8'))
    .map((d) => d.toJS() as k8s.KubernetesObject)
    .filter((o) => o?.kind);
  const out: k8s.KubernetesObject[] = [];
  for (const [kind, name] of SPEAKER_OBJECTS) {
    const o = docs.find((d) => d.kind === kind && d.metadata?.name === name);
    if (!o) throw new Error(`${manifest} has no ${kind} ${name}: the lab's MetalLB speaker setup does not match this MetalLB version`);
    out.push(kind === 'DaemonSet' ? labDaemonSet(o as k8s.V1DaemonSet, image) : o);
  }
  out.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'memberlist', namespace: labGitops.metallbNamespace },
    stringData: { secretkey: memberlistKey },
  } as k8s.V1Secret);
  return out;
}

function labDaemonSet(ds: k8s.V1DaemonSet, image: string): k8s.V1DaemonSet {
  const out = structuredClone(ds);
  const pod = out.spec!.template.spec!;
  const speaker = pod.containers.find((c) => c.name === 'speaker');
  if (!speaker) throw new Error('the upstream speaker DaemonSet has no container named speaker');
  speaker.image = image;
  speaker.imagePullPolicy = 'Never';
  pod.tolerations = (pod.tolerations ?? []).filter((t) => !/node-role\.kubernetes\.io\/(master|control-plane)/.test(t.key ?? ''));
  return out;
}

export async function installSpeakers(kc: k8s.KubeConfig, image: string): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  // the key only has to be shared by the speakers of this lab
  for (const o of speakerObjects(upstreamSpeakerManifest(), image, randomBytes(32).toString('base64'))) {
    await client.patch(o, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }
}
