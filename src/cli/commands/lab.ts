import type { Command } from 'commander';
import { Option } from 'commander';
import { labDown, labUp } from '../../../bootstrap/lab/lab.ts';
import { labStatus, formatLabStatus } from '../../../bootstrap/lab/status.ts';
import { registerLabBuild } from './lab-build.ts';
import { labNode, labPlan } from '../../../bootstrap/lab/plan.ts';
import { labTlsFiles } from '../../../bootstrap/lab/tls-files.ts';
import { labPaths } from '../../../bootstrap/lab/paths.ts';
import { ExitCode } from '../../errors.ts';
import { LAB_VARIANTS, parseVariant } from '../../../bootstrap/lab/variants.ts';

const stamp = (started: number) => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`;

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'The embedded lab: the seed topology (3 control planes behind a VIP, 2 workers) on this machine, made of\n' +
        'real etcd, kube-apiserver, controller-manager, scheduler and kwok nodes in network namespaces on\n' +
        '198.18.40.0/24. Needs root. Typical use: lab build, lab up, run --target lab, lab down.',
    );
  registerLabBuild(lab);

  lab
    .command('up')
    .description('Bring the lab up (idempotent: on a running lab it only checks readiness) and write its profile.')
    .option('--variant <name>', `a lab with one property broken on purpose, for negative controls: ${Object.keys(LAB_VARIANTS).join(', ')}`)
    .action(async (opts: { variant?: string }) => {
      const started = performance.now();
      const result = await labUp((step) => console.log(`${stamp(started)} ${step}`), { variant: parseVariant(opts.variant) });
      console.log(
        result.alreadyUp
          ? `lab already up and ready (${result.seconds.toFixed(1)} s); profile: ${result.profile}`
          : `lab up in ${result.seconds.toFixed(1)} s; profile: ${result.profile}\n  next: clusterproof run --target lab`,
      );
    });

  lab
    .command('down')
    .description('Stop every lab process and remove every namespace, link, route and lock it created.')
    .action(async () => {
      const started = performance.now();
      const result = await labDown((step) => console.log(`${stamp(started)} ${step}`));
      console.log(result.removed.length ? `lab down in ${result.seconds.toFixed(1)} s: ${result.removed.join(', ')}` : 'the lab was not up: nothing to remove');
    });

  lab
    .command('status')
    .description('Each node and its components, etcd members and leader, the VIP holder.')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const status = await labStatus();
      console.log(opts.json ? JSON.stringify(status, null, 2) : formatLabStatus(status));
      if (!status.up) process.exitCode = ExitCode.checkFailed;
    });

  // internal: started detached by `lab up`, and inside each control-plane namespace by the supervisor
  lab
    .command('supervise', { hidden: true })
    .description('run the lab supervisor in the foreground (started by lab up)')
    .action(async () => {
      const { supervisorConfig } = await import('../../../bootstrap/lab/lab.ts');
      const { superviseLab } = await import('../../../bootstrap/lab/supervisor.ts');
      await superviseLab(await supervisorConfig());
      await new Promise(() => undefined); // runs until SIGTERM
    });

  lab
    .command('vip-agent', { hidden: true })
    .description('hold the lab VIP through an etcd election (runs inside a control-plane namespace)')
    .requiredOption('--node <name>')
    .requiredOption('--etcd <url>')
    .addOption(new Option('--lease <seconds>').argParser(Number).default(60))
    .action(async (opts: { node: string; etcd: string; lease: number }) => {
      const { VipAgent } = await import('../../../bootstrap/lab/vip-agent.ts');
      const tls = labTlsFiles(labPaths.pki());
      labNode(opts.node);
      const agent = new VipAgent({
        node: opts.node,
        vip: labPlan.vip,
        prefixLength: labPlan.lan.prefixLength,
        iface: 'eth0',
        etcdUrl: opts.etcd,
        tls: { caFile: tls.etcdCa.cert, certFile: tls.kubeVipEtcdClient.cert, keyFile: tls.kubeVipEtcdClient.key },
        leaseSeconds: opts.lease,
        electionKey: `clusterproof-lab:vip:election:${labPlan.vip}`,
      });
      const stop = async () => {
        await agent.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop());
      process.on('SIGINT', () => void stop());
      await agent.run();
    });
}
