/**
 * The bootstrap plan: lint gates it, the dry run prints every layer and touches nothing, and the addon manifests
 * say what the Talos, MetalLB and ArgoCD docs say.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { metallbPoolManifests } from '../../bootstrap/addons/addons.ts';
import { childApplications, PLACEHOLDER_REPO, projectManifests, renderRepository, rootApplication } from '../../bootstrap/gitops/argocd.ts';
import { BootstrapLintError, formatPlan, planBootstrap } from '../../bootstrap/plan.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Profile } from '../../core/profile/schema.ts';
import { runCli } from '../support/cli.ts';
import { FIXED_SEED, fixedSeed } from './support.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ORDER = [
  'proxmox/access',
  'proxmox/iso',
  'proxmox/vm/cp-node-1',
  'proxmox/vm/cp-node-2',
  'proxmox/vm/cp-node-3',
  'proxmox/vm/worker-node-1',
  'proxmox/vm/worker-node-2',
  'proxmox/start',
  'proxmox/addresses',
  'talos/secrets',
  'talos/configs',
  'talos/apply',
  'talos/bootstrap',
  'talos/kubeconfig',
  'addons/cilium',
  'talos/health',
  'addons/metallb',
  'addons/argocd',
  'addons/gitops',
];

describe('clusterproof bootstrap --dry-run', () => {
  test('on profiles/seed.yaml stops on the VIP/pool collision with the lint message, planning nothing', async () => {
    const { code, output } = await runCli(['bootstrap', '--profile', 'profiles/seed.yaml', '--dry-run']);
    expect(code).toBe(ExitCode.checkFailed);
    expect(output).toContain('bootstrap stopped before planning anything: the profile has 1 topology error(s).');
    expect(output).toContain('✗ network.loadBalancerPools[0].addresses[0]  [vip-in-lb-pool]');
    expect(output).toContain('the API VIP 192.168.40.60 is also in MetalLB pool "default" (192.168.40.60/32)');
    expect(output).toMatch(/fix: give MetalLB an address of its own: replace 192\.168\.40\.60\/32 with 192\.168\.40\.70\/32/);
    expect(output).not.toContain('steps, in order');
  });

  test('on the seed with the pool moved off the VIP prints the full ordered plan for every layer and changes nothing', async () => {
    const { code, output } = await runCli(['bootstrap', '--profile', FIXED_SEED, '--dry-run'], { CLUSTERPROOF_STATE_DIR: mkdtempSync(join(tmpdir(), 'cp-state-')) });
    expect(code).toBe(ExitCode.ok);
    const ids = [...output.matchAll(/^\[(proxmox|talos|addons)\] \d+\. (\S+):/gm)].map((m) => m[2]);
    expect(ids).toEqual(ORDER);
    // the API calls, talosctl / helm / kubectl commands and manifests of every layer
    for (const line of [
      'api   POST /nodes/pve/storage/local/download-url url=https://factory.talos.dev/image/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515/v1.11.5/metal-amd64.iso',
      'api   POST /nodes/pve/qemu vmid=161 name=cp-node-1 tags=clusterproof ostype=l26 cpu=x86-64-v2-AES sockets=1 cores=2 memory=4096',
      'api   POST /nodes/pve/qemu/165/status/start  (if stopped)',
      'run   talosctl gen secrets -o ',
      'run   talosctl validate --config ',
      "run   talosctl apply-config --insecure --nodes '<maintenance address>' --file ",
      '-n 192.168.40.61 bootstrap',
      'run   helm upgrade --install cilium cilium --repo https://helm.cilium.io/ --version 1.18.0',
      'health --wait-timeout 20m --control-plane-nodes 192.168.40.61,192.168.40.62,192.168.40.63 --worker-nodes 192.168.40.64,192.168.40.65',
      'https://raw.githubusercontent.com/metallb/metallb/v0.15.3/config/manifests/metallb-native.yaml',
      '|     - 192.168.40.70/32',
      'https://raw.githubusercontent.com/argoproj/argo-cd/v3.2.11/manifests/install.yaml',
      '|       nodePort: 31659',
      "-n argocd wait application/root --for 'jsonpath={.status.sync.status}=Synced'",
    ]) {
      expect(output).toContain(line);
    }
    expect(output).toContain('dry run: nothing was contacted, written or changed.');
    // the token is named by its reference, never resolved
    expect(output).toContain('API token from $PROXMOX_TOKEN_ID');
  });

  test('the fixture is profiles/seed.yaml with only the pool moved', () => {
    const strip = (t: string) => t.split('\n').filter((l) => !l.startsWith('#'));
    const seed = strip(readFileSync(new URL('../../profiles/seed.yaml', import.meta.url), 'utf8'));
    const fixed = strip(readFileSync(FIXED_SEED, 'utf8'));
    expect(fixed.length).toBe(seed.length);
    const differing = seed.map((l, i) => [l, fixed[i]]).filter(([a, b]) => a !== b);
    expect(differing).toEqual([
      [
        '      addresses: [192.168.40.60/32] # as documented; this is the API VIP too (lint error vip-in-lb-pool)',
        '      addresses: [192.168.40.70/32] # moved off the VIP 192.168.40.60, as lint\'s fix says (the only change from profiles/seed.yaml)',
      ],
    ]);
  });

  test('planning is pure: no output directory, no secret resolved', () => {
    const loaded = fixedSeed((p) => {
      p.bootstrap = { ...p.bootstrap!, outputDir: join(p.bootstrap!.outputDir!, 'never-created') };
    });
    const before = { ...process.env };
    delete process.env.PROXMOX_TOKEN_SECRET;
    const plan = planBootstrap(loaded);
    formatPlan(plan);
    expect(existsSync(plan.files.dir)).toBe(false);
    process.env = before;
  });

  test('lint errors stop the plan programmatically too, with lint\'s own words', () => {
    const loaded = fixedSeed((p) => (p.network.loadBalancerPools[0].addresses = ['192.168.40.60/32']));
    let err: unknown;
    try {
      planBootstrap(loaded);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootstrapLintError);
    expect((err as BootstrapLintError).exitCode).toBe(ExitCode.checkFailed);
    expect((err as Error).message).toContain('[vip-in-lb-pool]');
  });

  test('what bootstrap cannot do is said up front: the dry run shows BLOCKED and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-blocked-'));
    const text = readFileSync(FIXED_SEED, 'utf8').replace('resources: { cores: 2, memoryMiB: 4096, diskGiB: 20 }', 'resources: { cores: 2, memoryMiB: 1024, diskGiB: 20 }');
    const file = join(dir, 'small-cp.yaml');
    (await import('node:fs')).writeFileSync(file, text);
    const { code, output } = await runCli(['bootstrap', '--profile', file, '--dry-run']);
    expect(code).toBe(ExitCode.checkFailed);
    expect(output).toContain('BLOCKED: a real run stops at the first step on:');
    expect(output).toContain("nodes[0].resources.memoryMiB: 1024 MiB is below Talos' minimum of 2048 MiB for a control-plane node");
    // the whole plan is still shown
    expect(output).toContain('[addons] 19. addons/gitops');
  });
});

describe('addon manifests', () => {
  /**
   * What the plan gives helm for Cilium (the values file the Cilium step writes and names in --values) and what it
   * gives Talos for every node (patch-all): the Cilium values must fit what that Talos config leaves to Cilium.
   */
  function ciliumOnTalos(change?: (p: Profile) => void) {
    const plan = planBootstrap(fixedSeed(change));
    const writtenBy = (stepId: string, path: string) => {
      const step = plan.steps.find((s) => s.id === stepId);
      const file = step?.actions.find((a) => a.kind === 'file' && a.text === path);
      expect(file?.body, `${stepId} writes ${path}`).toBeDefined();
      return { step: step!, doc: parse(file!.body!) };
    };
    const cilium = writtenBy('addons/cilium', plan.files.ciliumValues);
    const helm = cilium.step.actions.find((a) => a.kind === 'run' && a.text.startsWith('helm upgrade --install cilium '))?.text;
    return { plan, values: cilium.doc, helm, talosPatch: writtenBy('talos/configs', plan.files.patchAll).doc };
  }

  test('Cilium takes over what Talos leaves out: kube-proxy, and the way to the API server (KubePrism, not the VIP)', () => {
    const { plan, values, helm, talosPatch } = ciliumOnTalos();
    expect(helm).toContain(` --values ${plan.files.ciliumValues} `);

    // Talos runs no kube-proxy and no CNI (deploying-cilium), so Cilium must serve Services itself
    expect(talosPatch.cluster.proxy.disabled).toBe(true);
    expect(talosPatch.cluster.network.cni.name).toBe('none');
    expect(values.kubeProxyReplacement).toBe(true);

    // Without kube-proxy the kubernetes Service is not reachable before Cilium runs, so Cilium needs the API server's
    // address itself. KubePrism serves it on every node's loopback, on 7445 by default since Talos 1.6 (kubeprism.md);
    // the VIP would make the CNI depend on etcd and on VIP failover ("pods use KubePrism", vip.md).
    const [major, minor] = plan.settings.spec.talos.version.replace(/^v/, '').split('.').map(Number);
    expect(major > 1 || (major === 1 && minor >= 6), `Talos ${plan.settings.spec.talos.version} has KubePrism on by default`).toBe(true);
    const kubePrism = talosPatch.machine?.features?.kubePrism;
    expect(kubePrism?.enabled).not.toBe(false);
    expect(['localhost', '127.0.0.1'], 'k8sServiceHost: KubePrism on the node\'s loopback').toContain(values.k8sServiceHost);
    expect(values.k8sServicePort).toBe(kubePrism?.port ?? 7445);
  });

  test('Cilium fits Talos: cgroup v2 already mounted, no SYS_MODULE, pod addresses from the profile\'s podCIDR', () => {
    const podCIDR = '10.200.0.0/16'; // not Talos' default, so it shows where pod addresses come from
    const { values, talosPatch } = ciliumOnTalos((p) => (p.network.podCIDR = podCIDR));

    // Talos mounts cgroup v2 at /sys/fs/cgroup itself; the chart's default mounts its own at /run/cilium/cgroupv2
    // through the host's mount namespace (deploying-cilium; chart README, cgroup.*)
    expect(values.cgroup.autoMount.enabled).toBe(false);
    expect(values.cgroup.hostRoot).toBe('/sys/fs/cgroup');

    // Talos forbids loading kernel modules, so its docs take the chart's default capability lists minus SYS_MODULE.
    // These are the Cilium chart's defaults (chart README, securityContext.capabilities.*); only these two lists hold
    // SYS_MODULE, so both must be given, or the chart's defaults come back.
    const chartDefaults = {
      ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
      cleanCiliumState: ['NET_ADMIN', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE'],
    };
    const capabilities = values.securityContext.capabilities as Record<string, string[]>;
    for (const [container, defaults] of Object.entries(chartDefaults)) {
      expect(capabilities[container], `securityContext.capabilities.${container}`).toBeDefined();
      expect([...capabilities[container]].sort(), container).toEqual(defaults.filter((c) => c !== 'SYS_MODULE').sort());
    }
    for (const [container, list] of Object.entries(capabilities)) expect(list, container).not.toContain('SYS_MODULE');

    // Talos gives the controller-manager the profile's pod subnet; with ipam "kubernetes" Cilium uses each node's
    // podCIDR from it (the chart's default, cluster-pool, would hand out 10.0.0.0/8 whatever the profile says)
    expect(talosPatch.cluster.network.podSubnets).toEqual([podCIDR]);
    expect(values.ipam.mode).toBe('kubernetes');
  });

  test('MetalLB: an IPAddressPool per profile pool and an L2Advertisement; a pool holding the VIP is refused even past lint', () => {
    const plan = planBootstrap(fixedSeed());
    expect(metallbPoolManifests(plan.settings)).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default', namespace: 'metallb-system' }, spec: { addresses: ['192.168.40.70/32'] } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'l2', namespace: 'metallb-system' }, spec: { ipAddressPools: ['default'] } },
    ]);
    const colliding = { ...plan.settings, profile: structuredClone(plan.settings.profile) };
    colliding.profile.network.loadBalancerPools[0].addresses = ['192.168.40.50-192.168.40.69'];
    expect(() => metallbPoolManifests(colliding)).toThrow(/refusing to give MetalLB pool "default" \(192\.168\.40\.50-192\.168\.40\.69\) the API VIP 192\.168\.40\.60/);
  });

  test('ArgoCD projects restrict sources, destinations and kinds; the default project is locked', () => {
    const target = { repoURL: 'https://git.example.invalid/me/gitops-2.git', branch: 'prod' };
    const [root, apps, def] = projectManifests(target);
    expect(root.metadata.name).toBe('gitops-2-root');
    expect(root.spec.sourceRepos).toEqual([target.repoURL]);
    expect(root.spec.destinations).toEqual([{ server: 'https://kubernetes.default.svc', namespace: 'argocd' }]);
    expect(root.spec.clusterResourceWhitelist).toEqual([]);
    expect(root.spec.namespaceResourceWhitelist).toEqual([{ group: 'argoproj.io', kind: 'Application' }]);
    expect(apps.spec.sourceRepos).toEqual([target.repoURL]);
    expect(apps.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual(['app1-nginx', 'app2-redis', 'app3-guestbook']);
    expect(apps.spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(def.metadata.name).toBe('default');
    expect(def.spec).toEqual({ sourceRepos: [], destinations: [], clusterResourceWhitelist: [], namespaceResourceWhitelist: [] });
  });

  test('the app of apps and every Application sync automatically with prune and self-heal, from the profile\'s repository', () => {
    const target = { repoURL: 'https://git.example.invalid/me/gitops-2.git', branch: 'prod' };
    const root = rootApplication(target);
    expect(root.spec).toMatchObject({
      project: 'gitops-2-root',
      source: { repoURL: target.repoURL, targetRevision: 'prod', path: 'argocd/apps' },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
    const children = childApplications(target);
    expect(children.map((c) => c.doc.metadata.name)).toEqual(['app1-nginx', 'app2-redis', 'app3-guestbook']);
    for (const { doc } of children) {
      expect(doc.spec.project).toBe('gitops-2');
      expect(doc.spec.source).toEqual({ repoURL: target.repoURL, targetRevision: 'prod', path: `apps/${doc.metadata.name}` });
      expect(doc.spec.destination.namespace).toBe(doc.metadata.name);
      expect(doc.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    }
    // the committed files name the placeholder; only rendering puts the real repository in
    expect(childApplications({ repoURL: PLACEHOLDER_REPO, branch: 'main' })[0].doc.spec.source.repoURL).toBe(PLACEHOLDER_REPO);
  });

  test('the repository content is rendered for the profile\'s repository, to be pushed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-gitops-'));
    const written = renderRepository(dir, { repoURL: 'https://git.example.invalid/me/gitops-2.git', branch: 'main' });
    expect(written).toContain('apps/app3-guestbook/service.yaml');
    expect(written).toContain('argocd/apps/app1-nginx.yaml');
    const app = parse(readFileSync(join(dir, 'argocd/apps/app1-nginx.yaml'), 'utf8'));
    expect(app.spec.source.repoURL).toBe('https://git.example.invalid/me/gitops-2.git');
  });
});
