/**
 * The addon steps and disaster recovery, run against a recording fake helm/kubectl/talosctl: what is written, what
 * is run, in which order, and that secrets stay in files, never on a command line.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { executePlan, planBootstrap, type BootstrapPlan } from '../../bootstrap/plan.ts';
import type { PveVmDouble } from './pve-vm-double.ts';
import { depsFor, fixedSeed, RecordingTools, type RunLog } from './support.ts';

const stepsNamed = (plan: BootstrapPlan, ...ids: string[]): BootstrapPlan => ({ ...plan, steps: plan.steps.filter((s) => ids.includes(s.id)) });
const noProxmox = {} as PveVmDouble;
const newLog = (): RunLog => ({ lines: [], questions: [] });

describe('addon steps', () => {
  test('Cilium, MetalLB, ArgoCD and the gitops registration run in order, with the files they apply written first', async () => {
    process.env.CP_TEST_WEBHOOK_SECRET = 's3cret-webhook-value';
    const loaded = fixedSeed((p) => {
      p.gitops!.webhook!.secret = { env: 'CP_TEST_WEBHOOK_SECRET' };
      p.gitops!.repo = 'https://git.example.invalid/me/gitops-2.git';
    });
    const plan = stepsNamed(planBootstrap(loaded), 'addons/cilium', 'addons/metallb', 'addons/argocd', 'addons/gitops');
    const tools = new RecordingTools();
    await executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: true }));
    const { files } = plan;
    const lines = tools.lines();

    expect(lines[0]).toBe(
      `helm upgrade --install cilium cilium --repo https://helm.cilium.io/ --version 1.18.0 --namespace kube-system --values ${files.ciliumValues} --kubeconfig ${files.kubeconfig} --wait --timeout 15m`,
    );
    const k = `kubectl --kubeconfig ${files.kubeconfig}`;
    expect(lines.slice(1)).toEqual([
      `${k} apply --server-side --field-manager clusterproof -f https://raw.githubusercontent.com/metallb/metallb/v0.15.3/config/manifests/metallb-native.yaml`,
      `${k} wait --for condition=Established --timeout 120s crd/ipaddresspools.metallb.io crd/l2advertisements.metallb.io`,
      `${k} -n metallb-system rollout status deployment/controller --timeout 5m`,
      `${k} -n metallb-system rollout status daemonset/speaker --timeout 5m`,
      `${k} apply --server-side --field-manager clusterproof -f ${files.metallbPool}`,
      `${k} apply --server-side --field-manager clusterproof -f ${files.argocdNamespace}`,
      `${k} apply --server-side --force-conflicts --field-manager clusterproof -n argocd -f https://raw.githubusercontent.com/argoproj/argo-cd/v3.2.11/manifests/install.yaml`,
      `${k} apply --server-side --force-conflicts --field-manager clusterproof -f ${files.argocdPatches}`,
      `${k} -n argocd rollout restart deployment/argocd-repo-server statefulset/argocd-application-controller`,
      `${k} -n argocd rollout status deployment/argocd-server --timeout 10m`,
      `${k} -n argocd rollout status deployment/argocd-repo-server --timeout 10m`,
      `${k} -n argocd rollout status statefulset/argocd-application-controller --timeout 10m`,
      `${k} apply --server-side --field-manager clusterproof -f ${files.gitopsRepository}`,
      `${k} apply --server-side --force-conflicts --field-manager clusterproof -f ${files.gitopsRoot}`,
      `${k} -n argocd wait application/root --for jsonpath={.status.sync.status}=Synced --timeout 10m`,
    ]);

    // the webhook secret is in a 0600 file, never on a command line
    expect(lines.join('\n')).not.toContain('s3cret-webhook-value');
    const patches = parseAllDocuments(readFileSync(files.argocdPatches, 'utf8')).map((d) => d.toJS());
    expect(patches.find((d) => d.kind === 'Secret').stringData).toEqual({ 'webhook.github.secret': 's3cret-webhook-value' });
    expect(patches.find((d) => d.kind === 'ConfigMap').data).toEqual({ 'timeout.reconciliation': '120s' });
    expect(statSync(files.argocdPatches).mode & 0o777).toBe(0o600);

    const pool = parseAllDocuments(readFileSync(files.metallbPool, 'utf8')).map((d) => d.toJS());
    expect(pool.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['IPAddressPool/default', 'L2Advertisement/l2']);
    const root = parseAllDocuments(readFileSync(files.gitopsRoot, 'utf8')).map((d) => d.toJS());
    expect(root.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['AppProject/gitops-2-root', 'AppProject/gitops-2', 'AppProject/default', 'Application/root']);
    expect(root[3].spec.source.repoURL).toBe('https://git.example.invalid/me/gitops-2.git');
    // the repository content to push, pointing back at the profile's repository
    expect(readFileSync(join(files.gitopsRepoDir, 'argocd/apps/app2-redis.yaml'), 'utf8')).toContain('repoURL: https://git.example.invalid/me/gitops-2.git');
    delete process.env.CP_TEST_WEBHOOK_SECRET;
  });

  test('when the root app never syncs the failure says what to push', async () => {
    const plan = stepsNamed(planBootstrap(fixedSeed()), 'addons/gitops');
    const tools = new RecordingTools((_tool, args) => (args.includes('application/root') ? { code: 1, stderr: 'error: timed out waiting for the condition on applications/root' } : undefined));
    await expect(executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: true }))).rejects.toThrow(
      /timed out waiting for the condition.*does https:\/\/github\.com\/CHANGE-ME\/gitops-2\.git \(branch main\) hold argocd\/apps\/\*\.yaml naming it\? Push the content of .*gitops-repo/s,
    );
  });
});

describe('disaster recovery: --recover-from', () => {
  test('the plan bootstraps etcd from the snapshot', () => {
    const plan = planBootstrap(fixedSeed(), { recoverFrom: '/backups/db.snapshot' });
    const step = plan.steps.find((s) => s.id === 'talos/bootstrap')!;
    expect(step.title).toBe('Recover etcd on cp-node-1 from /backups/db.snapshot');
    expect(step.actions.map((a) => a.text)).toContain(
      `talosctl --talosconfig ${plan.files.talosconfig} -e 192.168.40.61 -n 192.168.40.61 bootstrap --recover-from=/backups/db.snapshot`,
    );
  });

  test('recovers on an empty etcd, and refuses next to a running one', async () => {
    const loaded = fixedSeed();
    const snapshot = join(loaded.profile.bootstrap!.outputDir!, 'db.snapshot');
    writeFileSync(snapshot, 'snapshot');
    const plan = stepsNamed(planBootstrap(loaded, { recoverFrom: snapshot }), 'talos/bootstrap');

    let members = false;
    const tools = new RecordingTools((_t, args) =>
      args.includes('members') ? (members ? { code: 0, stdout: 'NODE ID HOSTNAME\n192.168.40.61 8a3f cp-node-1\n' } : { code: 1, stderr: 'etcd not running' }) : undefined,
    );
    await executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: true }));
    expect(tools.lines().at(-1)).toBe(`talosctl --talosconfig ${plan.files.talosconfig} -e 192.168.40.61 -n 192.168.40.61 bootstrap --recover-from=${snapshot}`);

    members = true;
    const before = tools.commands.length;
    await expect(executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: true }))).rejects.toThrow(
      /already has members: recovering from .* now would start a second, diverging etcd/,
    );
    expect(tools.lines().slice(before).some((l) => l.includes(' bootstrap'))).toBe(false);
  });

  test('--destroy and --recover-from exclude each other', () => {
    expect(() => planBootstrap(fixedSeed(), { destroy: true, recoverFrom: 'x' })).toThrow('--destroy and --recover-from exclude each other');
  });
});
