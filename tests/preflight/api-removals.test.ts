import { describe, expect, test } from 'vitest';
import { API_LIFECYCLE, atRiskOnPath, findDeprecatedRequests, findRemovals, lifecycleOf, parseDeprecatedRequests } from '../../core/preflight/api-removals.ts';

const use = (apiVersion: string, kind: string) => ({ apiVersion, kind, name: 'gold', where: 'git app1-nginx@1a2b3c4d5e6f apps/app1-nginx/vac.yaml' });

describe('removed and deprecated APIs', () => {
  test('the table is upstream data with its source', () => {
    expect(API_LIFECYCLE.source).toMatch(/k8s\.io\/api v0\.\d+\.\d+( \+ v0\.\d+\.\d+)* .*zz_generated\.prerelease-lifecycle\.go/);
    // the union keeps a removal whose package the newer release deleted
    expect(lifecycleOf('autoscaling/v2beta1', 'HorizontalPodAutoscaler')).toMatchObject({ deprecated: '1.22', removed: '1.25' });
    expect(lifecycleOf('flowcontrol.apiserver.k8s.io/v1beta3', 'FlowSchema')).toMatchObject({ deprecated: '1.29', removed: '1.32' });
    expect(lifecycleOf('apps/v1', 'Deployment')).toBeUndefined();
  });

  test('a version removed on the path blocks, naming the object, where it is and the version that removes it', () => {
    const [f] = findRemovals([use('storage.k8s.io/v1alpha1', 'VolumeAttributesClass')], '1.34', '1.35');
    expect(f).toMatchObject({ severity: 'blocker' });
    expect(f!.message).toBe('VolumeAttributesClass gold uses storage.k8s.io/v1alpha1, removed in Kubernetes 1.35, deprecated since 1.32 (git app1-nginx@1a2b3c4d5e6f apps/app1-nginx/vac.yaml)');
    expect(f!.fix).toBe('migrate it to storage.k8s.io/v1 VolumeAttributesClass before upgrading to 1.35');
  });

  test('deprecated by the target but removed later warns; removed beyond a longer path blocks', () => {
    const beta = [use('storage.k8s.io/v1beta1', 'VolumeAttributesClass')];
    expect(findRemovals(beta, '1.34', '1.35').map((f) => f.severity)).toEqual(['warning']);
    expect(findRemovals(beta, '1.34', '1.37')[0]!.message).toContain('removed in Kubernetes 1.37');
  });

  test('a version already not served blocks; a GA version is fine', () => {
    expect(findRemovals([use('flowcontrol.apiserver.k8s.io/v1beta3', 'FlowSchema')], '1.34', '1.35')[0]!.message).toContain('Kubernetes 1.32 already stopped serving');
    expect(findRemovals([use('apps/v1', 'Deployment')], '1.34', '1.37')).toEqual([]);
  });

  test('the path picks the entries removed after the current minor up to the target, and those deprecated by it', () => {
    const risk = atRiskOnPath('1.34', '1.35').map((a) => `${a.group}/${a.version} ${a.kind}`);
    expect(risk).toContain('storage.k8s.io/v1alpha1 VolumeAttributesClass');
    expect(risk).toContain('storage.k8s.io/v1beta1 VolumeAttributesClass');
    expect(risk).not.toContain('flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema');
  });

  test('the metric names clients in no manifest; a removal on the path blocks', () => {
    const text = [
      '# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested',
      'apiserver_requested_deprecated_apis{group="storage.k8s.io",removed_release="1.35",resource="volumeattributesclasses",subresource="",version="v1alpha1"} 1',
      'apiserver_requested_deprecated_apis{group="",removed_release="",resource="endpoints",subresource="",version="v1"} 1',
    ].join('\n');
    const reqs = [...parseDeprecatedRequests('cp1', text), ...parseDeprecatedRequests('cp2', text)];
    expect(reqs).toHaveLength(4);
    const findings = findDeprecatedRequests(reqs, '1.34', '1.35');
    expect(findings.map((f) => f.severity)).toEqual(['blocker', 'warning']);
    expect(findings[0]!.message).toBe('a client requested storage.k8s.io/v1alpha1 volumeattributesclasses (apiserver_requested_deprecated_apis on cp1, cp2): removed in Kubernetes 1.35');
    expect(findings[1]!.message).toContain('v1 endpoints');
  });
});
