/**
 * The gitops repository's applications (bootstrap/gitops/apps/*), the same content for the lab and a
 * homelab. The lab's git server is seeded with them and ArgoCD applies them, as on a homelab.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { AppSpec } from '../../core/profile/schema.ts';

export const APPS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'apps');

export function appManifests(app: string): k8s.KubernetesObject[] {
  const dir = join(APPS_DIR, app);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as k8s.KubernetesObject))
    .filter((o) => o && o.kind && o.kind !== 'Kustomization');
}

/** The properties each app must hold, derived from its manifests so the profile cannot drift from them. */
export function labAppsProfile(overlay?: string): AppSpec[] {
  return readdirSync(APPS_DIR)
    .sort()
    .map((app) => {
      const objects = appManifests(app);
      const deploy = objects.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
      const svc = objects.find((o) => o.kind === 'Service') as k8s.V1Service | undefined;
      const anti = deploy.spec?.template.spec?.affinity?.podAntiAffinity;
      const antiAffinity = anti?.requiredDuringSchedulingIgnoredDuringExecution?.length
        ? 'required'
        : anti?.preferredDuringSchedulingIgnoredDuringExecution?.length
          ? 'preferred'
          : 'none';
      return {
        name: app,
        namespace: deploy.metadata!.namespace!,
        path: overlay ? `overlays/${overlay}/${app}` : `apps/${app}`,
        workload: {
          kind: 'Deployment' as const,
          name: deploy.metadata!.name!,
          replicas: deploy.spec?.replicas ?? 1,
          antiAffinity,
          topologyKey: 'kubernetes.io/hostname',
        },
        service: svc
          ? { name: svc.metadata!.name!, type: (svc.spec?.type ?? 'ClusterIP') as 'ClusterIP' | 'NodePort' | 'LoadBalancer', port: svc.spec!.ports![0]!.port }
          : undefined,
      };
    });
}
