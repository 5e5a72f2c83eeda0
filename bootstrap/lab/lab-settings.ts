/**
 * The lab's timings. Upstream defaults everywhere, except where a default would make CI wait minutes for
 * nothing; each exception is stated here and written into the lab profile, and suites assert against the
 * profile, never against a constant.
 */
import type { LabSettings } from './node-components.ts';

export const LAB_SETTINGS: LabSettings = {
  // upstream kube-controller-manager default since 1.32 (kubernetes PR #126287)
  nodeMonitorGracePeriodSeconds: 50,
  // upstream is 300 s (DefaultTolerationSeconds); 30 s keeps the eviction experiment inside the CI budget
  defaultTolerationSeconds: 30,
  // Talos' VIP election: an etcd session with the default 60 s TTL
  vipLeaseSeconds: 60,
  // kubelet's default node lease
  nodeLeaseSeconds: 40,
};

export const LAB_PVE_PORT = 8006;
export const LAB_PVE_TOKEN_ID = 'root@pam!clusterproof';
