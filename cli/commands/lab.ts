import type { Command } from 'commander';
import { Option } from 'commander';
import { labDown, labUp } from '../../bootstrap/lab/lab.ts';
import { ensureLabPrerequisites } from '../../bootstrap/lab/prerequisites.ts';
import { labStatus, formatLabStatus } from '../../bootstrap/lab/status.ts';
import { registerLabBuild } from './lab-build.ts';
import { labNode, labPlan } from '../../providers/lab/plan.ts';
import { labTlsFiles } from '../../bootstrap/lab/tls-files.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { ExitCode, UserError } from '../../core/errors.ts';
import { LAB_VARIANTS, parseVariant } from '../../bootstrap/lab/variants.ts';
import { parseWorkerMode, WORKER_MODES } from '../../bootstrap/lab/worker/worker-mode.ts';

const parsePort = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`not a port: ${v}`);
  return n;
};

const stamp = (started: number) => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`;

/** A whole number of seconds from the command line, or a UserError naming the flag and the value. */
function seconds(flag: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
      throw new UserError(`${flag} "${value}": expected a whole number of seconds${allowZero ? ' (0 or more)' : ' (1 or more)'}, e.g. ${flag} 30`);
    }
    return n;
  };
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'The embedded lab: the seed topology (3 control planes behind a VIP, 2 workers) on this machine, made of ' +
        'real etcd, kube-apiserver, controller-manager, scheduler and kwok nodes in network namespaces on ' +
        '198.18.40.0/24. Needs root. Typical use: lab build, lab up, run --target lab, lab down.',
    );
  registerLabBuild(lab);

  lab
    .command('up')
    .description('Bring the lab up (idempotent: on a running lab it only checks readiness) and write its profile.')
    .option('--variant <name>', `a lab with one property broken on purpose, for negative controls: ${Object.keys(LAB_VARIANTS).join(', ')}`)
    .addOption(
      new Option('--workers <kind>', `what the two workers are: ${Object.entries(WORKER_MODES).map(([k, v]) => `${k} (${v})`).join('; ')}`)
        .env('CLUSTERPROOF_LAB_WORKERS')
        .default('kwok'),
    )
    .addOption(
      new Option('--poll-interval <seconds>', 'ArgoCD reconciliation (poll) interval; upstream default 120')
        .env('CLUSTERPROOF_LAB_POLL_INTERVAL')
        .argParser(seconds('--poll-interval')),
    )
    .addOption(
      new Option('--poll-jitter <seconds>', 'ArgoCD reconciliation jitter; upstream default 60').env('CLUSTERPROOF_LAB_POLL_JITTER').argParser(seconds('--poll-jitter', true)),
    )
    .action(async (opts: { variant?: string; workers?: string; pollInterval?: number; pollJitter?: number }) => {
      await ensureLabPrerequisites({ command: 'node bin/clusterproof.mjs lab up' });
      const started = performance.now();
      const result = await labUp((step) => console.log(`${stamp(started)} ${step}`), {
        variant: parseVariant(opts.variant),
        workers: parseWorkerMode(opts.workers),
        gitops: { pollSeconds: opts.pollInterval, pollJitterSeconds: opts.pollJitter },
      });
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
      const { supervisorConfig } = await import('../../bootstrap/lab/lab.ts');
      const { superviseLab } = await import('../../bootstrap/lab/supervisor.ts');
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
      const { VipAgent } = await import('../../bootstrap/lab/vip-agent.ts');
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

  lab
    .command('api-lb', { hidden: true })
    .description("a real worker's node-local API load balancer, as Talos' KubePrism (runs inside the worker's namespaces)")
    .requiredOption('--listen <host:port>')
    .option('--upstream <host:port>', 'an API server; repeat for each', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { listen: string; upstream: string[] }) => {
      const { ApiLoadBalancer } = await import('../../bootstrap/lab/worker/api-lb.ts');
      const split = (hp: string) => {
        const i = hp.lastIndexOf(':');
        return { host: hp.slice(0, i), port: parsePort(hp.slice(i + 1)) };
      };
      const lb = new ApiLoadBalancer(opts.upstream.map(split), { log: (line) => console.log(line) });
      const listen = split(opts.listen);
      await lb.listen(listen.host, listen.port);
      console.log(`api-lb: ${opts.listen} -> ${opts.upstream.join(', ')}`);
      process.on('SIGTERM', () => process.exit(0));
      await new Promise(() => undefined);
    });

  lab
    .command('git-server', { hidden: true })
    .description('the lab git server: smart HTTP and a GitHub-format signed push webhook (runs inside the forge namespace)')
    .requiredOption('--listen <host:port>', 'address to serve git on')
    .requiredOption('--repos <dir>', 'directory of bare repositories (*.git)')
    .requiredOption('--deliveries <file>', 'JSON lines file recording each webhook delivery')
    .requiredOption('--hook-port <n>', 'loopback port of the post-receive hook callback', parsePort)
    .requiredOption('--public-url <url>', 'base URL clients use (html_url, clone_url), e.g. http://198.18.40.10')
    .option('--webhook-url <url>', 'where push events go (ArgoCD: http://<argocd>/api/webhook)')
    .option('--webhook-secret-file <file>', 'file holding the shared webhook secret')
    .action(
      async (opts: { listen: string; repos: string; deliveries: string; hookPort: number; publicUrl: string; webhookUrl?: string; webhookSecretFile?: string }) => {
        const { startGitServer, parseListenAddress } = await import('../../bootstrap/lab/forge/server.ts');
        if (!opts.webhookUrl !== !opts.webhookSecretFile) throw new UserError('--webhook-url and --webhook-secret-file go together');
        const { host, port } = parseListenAddress(opts.listen);
        const server = await startGitServer({
          listenHost: host,
          port,
          reposDir: opts.repos,
          deliveriesFile: opts.deliveries,
          hookPort: opts.hookPort,
          publicBaseUrl: opts.publicUrl,
          webhook: opts.webhookUrl && opts.webhookSecretFile ? { url: opts.webhookUrl, secretFile: opts.webhookSecretFile } : undefined,
        });
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop());
        process.on('SIGINT', () => void stop());
        await new Promise(() => undefined); // serves until SIGTERM
      },
    );
}
