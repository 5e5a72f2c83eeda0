/**
 * The lab's own long-running processes, started by the supervisor inside the nodes' namespaces: the VIP agent, a real
 * worker's API load balancer, the git server. Hidden commands of `clusterproof lab`; bin/clusterproof.mjs runs them
 * through cli/lab-process-main.ts, a program with only these, because each is started several times at once during
 * lab up and the whole CLI (which loads the Kubernetes client) takes seconds to start. Keep this module's imports light.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { labNode, labPlan } from '../../providers/lab/plan.ts';
import { labTlsFiles } from '../../bootstrap/lab/tls-files.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { UserError } from '../../core/errors.ts';

export const LAB_PROCESS_COMMANDS = ['vip-agent', 'api-lb', 'git-server'] as const;

const parsePort = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`not a port: ${v}`);
  return n;
};

export function registerLabProcesses(lab: Command): void {
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
