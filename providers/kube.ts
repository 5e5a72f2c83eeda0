/**
 * Kubernetes API access for suites, through the address the profile names (the VIP on an HA target).
 * Thin on purpose: typed clients from @kubernetes/client-node plus the few operations every suite needs.
 */
import * as k8s from '@kubernetes/client-node';
import { assertDestination } from '../core/safety/destinations.ts';

export const SENTINEL_NAMESPACE = 'kube-system';

export class KubeAccess {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly coordination: k8s.CoordinationV1Api;
  readonly server: string;

  constructor(
    readonly config: k8s.KubeConfig,
    opts: { allowRemote?: boolean } = {},
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server;
    assertDestination(new URL(cluster.server).hostname, opts);
    this.core = config.makeApiClient(k8s.CoreV1Api);
    this.apps = config.makeApiClient(k8s.AppsV1Api);
    this.coordination = config.makeApiClient(k8s.CoordinationV1Api);
  }

  static fromFile(path: string, opts: { allowRemote?: boolean } = {}): KubeAccess {
    const config = new k8s.KubeConfig();
    config.loadFromFile(path);
    return new KubeAccess(config, opts);
  }

  /** The same credentials against one specific API server (e.g. a surviving control-plane node, not the VIP). */
  through(server: string, opts: { allowRemote?: boolean } = {}): KubeAccess {
    const kc = new k8s.KubeConfig();
    const current = this.config.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: this.config.clusters.map((c) => (c.name === current.name ? { ...c, server } : c)),
      users: this.config.users,
      contexts: this.config.contexts,
      currentContext: this.config.currentContext,
    });
    return new KubeAccess(kc, opts);
  }

  async nodes(): Promise<k8s.V1Node[]> {
    return (await this.core.listNode()).items;
  }

  static isReady(node: k8s.V1Node): boolean {
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  /**
   * Write a sentinel ConfigMap through the API (an etcd quorum write). Resolves true on success; throws the
   * API error otherwise so callers can tell "refused" from "unreachable".
   */
  async writeSentinel(name: string, data: Record<string, string>): Promise<void> {
    const body: k8s.V1ConfigMap = { metadata: { name, labels: { 'clusterproof.io/sentinel': 'true' } }, data };
    try {
      await this.core.createNamespacedConfigMap({ namespace: SENTINEL_NAMESPACE, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      await this.core.replaceNamespacedConfigMap({ name, namespace: SENTINEL_NAMESPACE, body });
    }
  }

  async readSentinel(name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.core.readNamespacedConfigMap({ name, namespace: SENTINEL_NAMESPACE })).data ?? {};
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async deleteSentinels(): Promise<void> {
    await this.core.deleteCollectionNamespacedConfigMap({ namespace: SENTINEL_NAMESPACE, labelSelector: 'clusterproof.io/sentinel=true' });
  }
}
