/**
 * Talos machine configs: generated and validated by the real talosctl (v1.11.5, built from the Go module proxy by
 * `clusterproof lab build --only talosctl`, or found on PATH); the talosctl steps after it (apply, bootstrap,
 * health) against a recording fake, since no Talos node exists here.
 *
 * The talosctl recipe is not in the default `lab build` set, so CI does not build it and these tests skip there
 * with the reason; they fail under CI=true only if the recipe is made default and the binary is still missing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { COMPONENTS } from '../../bootstrap/lab/build/components.ts';
import { TALOSCTL_UNVERIFIED_BY_SUMDB, TALOSCTL_VERSION } from '../../bootstrap/lab/build/talosctl.ts';
import { buildPaths } from '../../core/build-cache.ts';
import { executePlan, planBootstrap, type BootstrapPlan } from '../../bootstrap/plan.ts';
import { HealthTracker } from '../../bootstrap/talos/configs.ts';
import { findTool, ProcessToolRunner } from '../../bootstrap/tools.ts';
import { depsFor, fixedSeed, RecordingTools, type RunLog } from './support.ts';
import type { PveVmDouble } from './pve-vm-double.ts';

const recipe = COMPONENTS.find((c) => c.name === 'talosctl')!;
const talosctl = findTool('talosctl');
const SKIP = talosctl
  ? undefined
  : `talosctl is not built: run \`node bin/clusterproof.mjs lab build --only talosctl\` (not a default component, so CI skips this)`;

const stepsNamed = (plan: BootstrapPlan, ...ids: string[]): BootstrapPlan => ({ ...plan, steps: plan.steps.filter((s) => ids.includes(s.id)) });
const noProxmox = {} as PveVmDouble;
const newLog = (): RunLog => ({ lines: [], questions: [] });

describe('the talosctl recipe', () => {
  test('is v1.11.x and not built by a plain `lab build` (CI does not need it)', () => {
    expect(recipe.version).toMatch(/^v1\.11\.\d+$/);
    expect(recipe.default).toBe(false);
    if (process.env.CI === 'true' && recipe.default && !talosctl) throw new Error(`talosctl ${recipe.version} is a default component but not built`);
  });

  test.skipIf(!existsSync(`${buildPaths.srcDir(recipe)}/go.sum`))(
    'the go.sum lines the checksum database could not vouch for equal the ones talos records in its own go.sum',
    () => {
      const ours = readFileSync(`${buildPaths.srcDir(recipe)}/go.sum`, 'utf8').split('\n');
      const goModCache = process.env.GOMODCACHE ?? `${process.env.HOME ?? '/root'}/go/pkg/mod`;
      const upstreamFile = `${goModCache}/github.com/siderolabs/talos@${TALOSCTL_VERSION}/go.sum`;
      if (!existsSync(upstreamFile)) return; // module cache cleaned: nothing to compare against
      const upstream = readFileSync(upstreamFile, 'utf8').split('\n');
      for (const mod of TALOSCTL_UNVERIFIED_BY_SUMDB) {
        const mine = ours.filter((l) => l.startsWith(`${mod} `));
        expect(mine.length, mod).toBeGreaterThan(0);
        for (const line of mine) expect(upstream, line).toContain(line);
      }
    },
  );
});

describe.skipIf(!!SKIP)(`Talos configs from the real talosctl${SKIP ? ` (skipped: ${SKIP})` : ''}`, () => {
  const tools = new ProcessToolRunner();

  async function generate(change?: Parameters<typeof fixedSeed>[0]) {
    const loaded = fixedSeed(change);
    const plan = stepsNamed(planBootstrap(loaded), 'talos/secrets', 'talos/configs');
    const log = newLog();
    await executePlan(plan, depsFor(noProxmox, log, { tools }));
    return { plan, log, files: plan.files };
  }

  test('every node gets a config that talosctl validate accepts for metal, with the VIP, no CNI, no kube-proxy and the installer', async () => {
    const { plan, files, log } = await generate();
    expect(log.lines.filter((l) => l.includes('talosctl validate')).length).toBe(5);
    for (const node of plan.settings.nodes) {
      const config = parse(readFileSync(files.nodeConfig(node.name), 'utf8'));
      expect(config.machine.type).toBe(node.role === 'control-plane' ? 'controlplane' : 'worker');
      expect(config.machine.install).toMatchObject({
        disk: '/dev/sda',
        image: 'factory.talos.dev/installer/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.11.5',
      });
      expect(config.machine.network.hostname).toBe(node.name);
      const [link] = config.machine.network.interfaces;
      expect(link.addresses).toEqual([`${node.ip}/24`]);
      expect(link.vip).toEqual(node.role === 'control-plane' ? { ip: '192.168.40.60' } : undefined);
      expect(config.machine.kubelet.nodeIP.validSubnets).toEqual([`${node.ip}/32`]);
      expect(config.cluster.network.cni).toEqual({ name: 'none' });
      expect(config.cluster.proxy.disabled).toBe(true);
      expect(config.cluster.controlPlane.endpoint).toBe('https://192.168.40.60:6443');
      // KubePrism, which Cilium's k8sServicePort 7445 relies on, is on by default
      expect(config.machine.features.kubePrism).toEqual({ enabled: true, port: 7445 });
      if (node.role === 'control-plane') expect(config.cluster.etcd.advertisedSubnets).toEqual([`${node.ip}/32`]);
    }
    // talosconfig endpoints are the control planes, never the VIP
    const talosconfig = parse(readFileSync(files.talosconfig, 'utf8'));
    const ctx = talosconfig.contexts[talosconfig.context];
    expect(ctx.endpoints).toEqual(['192.168.40.61', '192.168.40.62', '192.168.40.63']);
    expect(ctx.nodes).toEqual(['192.168.40.61']);
  });

  test('with a gateway the interface is static (DHCP off, default route); pod and service CIDRs reach the cluster config', async () => {
    const { files } = await generate((p) => {
      p.network.gateway = '192.168.40.1';
      p.network.interface = 'eth0';
      p.network.podCIDR = '10.200.0.0/16';
      p.network.serviceCIDR = '10.201.0.0/16';
    });
    const config = parse(readFileSync(files.nodeConfig('cp-node-2'), 'utf8'));
    expect(config.machine.network.interfaces[0]).toEqual({
      interface: 'eth0',
      dhcp: false,
      addresses: ['192.168.40.62/24'],
      routes: [{ network: '0.0.0.0/0', gateway: '192.168.40.1' }],
      vip: { ip: '192.168.40.60' },
    });
    expect(config.cluster.network.podSubnets).toEqual(['10.200.0.0/16']);
    expect(config.cluster.network.serviceSubnets).toEqual(['10.201.0.0/16']);
  });

  test('secrets are generated once: a rerun keeps them and produces configs with the same CA', async () => {
    const loaded = fixedSeed();
    const plan = stepsNamed(planBootstrap(loaded), 'talos/secrets', 'talos/configs');
    await executePlan(plan, depsFor(noProxmox, newLog(), { tools }));
    const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const secrets = hash(plan.files.secrets);
    const ca = parse(readFileSync(plan.files.nodeConfig('cp-node-1'), 'utf8')).cluster.ca.crt;
    const log = newLog();
    await executePlan(plan, depsFor(noProxmox, log, { tools }));
    expect(hash(plan.files.secrets)).toBe(secrets);
    expect(log.lines.some((l) => l.endsWith('secrets.yaml exists: kept'))).toBe(true);
    expect(parse(readFileSync(plan.files.nodeConfig('cp-node-1'), 'utf8')).cluster.ca.crt).toBe(ca);
  });

  test('talosctl validate is real: a config with a broken VIP is refused, and the step fails naming it', async () => {
    const loaded = fixedSeed();
    const plan = stepsNamed(planBootstrap(loaded), 'talos/secrets', 'talos/configs');
    // break the VIP in the node patch the step writes (the profile schema would not let it through)
    const configs = plan.steps[1];
    const broken = {
      ...configs,
      async execute(ctx: Parameters<typeof configs.execute>[0]) {
        const writeFileSync = (await import('node:fs')).writeFileSync;
        const real = ctx.deps.tools;
        ctx.deps = {
          ...ctx.deps,
          tools: {
            run: (tool, args, o) => {
              if (args[0] === 'machineconfig' && args.includes(`@${plan.files.patchNode('cp-node-1')}`)) {
                writeFileSync(plan.files.patchNode('cp-node-1'), readFileSync(plan.files.patchNode('cp-node-1'), 'utf8').replace('ip: 192.168.40.60', 'ip: 192.168.40.600'));
              }
              return real.run(tool, args, o);
            },
          },
        };
        return configs.execute(ctx);
      },
    };
    const err = await executePlan({ ...plan, steps: [plan.steps[0], broken] }, depsFor(noProxmox, newLog(), { tools })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/step 2\/2 \(talos\/configs\): talosctl validate .*failed \(exit 1\)/s);
    expect((err as Error).message).toContain('failed to parse "192.168.40.600" as IP address');
  });
});

describe('Talos steps after the configs (recording fake talosctl)', () => {
  const talosSteps = ['talos/apply', 'talos/bootstrap', 'talos/kubeconfig'];

  test('first apply goes --insecure to the maintenance address; configured nodes are left alone; etcd bootstrapped once on the first control plane', async () => {
    const loaded = fixedSeed();
    const plan = stepsNamed(planBootstrap(loaded), ...talosSteps);
    const configured = new Set(['192.168.40.65']);
    const tools = new RecordingTools((tool, args) => {
      if (tool === 'talosctl' && args.includes('version')) {
        const ip = args[args.indexOf('-n') + 1];
        return configured.has(ip) ? { code: 0, stdout: 'v1.11.5' } : { code: 1, stderr: 'tls: certificate required' };
      }
      if (tool === 'talosctl' && args[0] === 'apply-config') {
        // the node installs and comes back at its own address with the cluster's PKI
        const file = args[args.indexOf('--file') + 1];
        const node = loaded.profile.nodes.find((n) => file.endsWith(`/${n.name}.yaml`))!;
        configured.add(node.ip);
      }
      if (tool === 'talosctl' && args.includes('members')) return { code: 1, stderr: 'etcd is not running' };
      return undefined;
    });
    const deps = depsFor(noProxmox, newLog(), { tools, allowRemote: true });
    // the addresses the proxmox/addresses step found
    const state = { addresses: new Map(loaded.profile.nodes.map((n, i) => [n.name, `192.168.40.${200 + i}`])) };
    const withState = { ...plan, steps: [{ ...plan.steps[0], execute: (ctx: any) => ((ctx.state.addresses = state.addresses), plan.steps[0].execute(ctx)) }, ...plan.steps.slice(1)] };
    await executePlan(withState, deps);

    const applies = tools.lines().filter((l) => l.startsWith('talosctl apply-config'));
    expect(applies).toEqual(
      ['cp-node-1', 'cp-node-2', 'cp-node-3', 'worker-node-1'].map(
        (n, i) => `talosctl apply-config --insecure --nodes 192.168.40.${200 + i} --file ${plan.files.nodeConfig(n)}`,
      ),
    );
    const bootstraps = tools.lines().filter((l) => l.endsWith(' bootstrap'));
    expect(bootstraps).toEqual([`talosctl --talosconfig ${plan.files.talosconfig} -e 192.168.40.61 -n 192.168.40.61 bootstrap`]);
    expect(tools.lines()).toContain(`talosctl --talosconfig ${plan.files.talosconfig} -e 192.168.40.61 -n 192.168.40.61 kubeconfig ${plan.files.kubeconfig} --force`);
    expect(tools.lines()).toContain(`kubectl --kubeconfig ${plan.files.kubeconfig} get --raw /readyz`);
  });

  test('the network guard refuses homelab addresses unless the run targets a real profile', async () => {
    const plan = stepsNamed(planBootstrap(fixedSeed()), 'talos/bootstrap');
    const tools = new RecordingTools();
    await expect(executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: false }))).rejects.toThrow(/network guard: refusing to contact 192\.168\.40\.61/);
    expect(tools.commands).toEqual([]);
  });

  test('a failing health wait names the check that is failing, not a bare timeout', async () => {
    const plan = stepsNamed(planBootstrap(fixedSeed()), 'talos/health');
    const output = [
      'discovered nodes: ["192.168.40.61" "192.168.40.62" "192.168.40.63" "192.168.40.64" "192.168.40.65"]',
      'waiting for etcd to be healthy: ...',
      'waiting for etcd to be healthy: OK',
      'waiting for all k8s nodes to report ready: ...',
      'waiting for all k8s nodes to report ready: some nodes are not ready: [worker-node-2]',
    ].join('\n');
    const tools = new RecordingTools((tool, args) => (args.includes('health') ? { code: 1, stdout: output, stderr: 'context deadline exceeded' } : undefined));
    await expect(executePlan(plan, depsFor(noProxmox, newLog(), { tools, allowRemote: true }))).rejects.toThrow(
      'Talos health check "all k8s nodes to report ready" is failing: some nodes are not ready: [worker-node-2]',
    );
  });

  test('the health tracker follows talosctl health output', () => {
    const t = new HealthTracker();
    for (const l of ['waiting for etcd to be healthy: ...', 'waiting for etcd to be healthy: OK', 'waiting for kubelet to be healthy: ...']) t.line(l);
    expect(t.passed).toEqual(['etcd to be healthy']);
    expect(t.failing).toEqual({ check: 'kubelet to be healthy', message: '...' });
    t.line('waiting for kubelet to be healthy: OK');
    expect(t.failing).toBeUndefined();
    expect(t.describe('rpc error: code = DeadlineExceeded')).toBe('talosctl health failed: rpc error: code = DeadlineExceeded');
  });
});
