import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveProfilePath } from './run.ts';
import { openTargetFile } from '../../fixtures/targets/index.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../../bootstrap/lab/build/index.ts';
import { labDown, labUp } from '../../bootstrap/lab/lab.ts';
import { ensureLabPrerequisites } from '../../bootstrap/lab/prerequisites.ts';
import { labStatus, formatLabStatus } from '../../bootstrap/lab/status.ts';
import { registerLabBuild } from './lab-build.ts';
import { registerLabProcesses } from './lab-processes.ts';
import { ExitCode, UserError } from '../../core/errors.ts';
import { LAB_VARIANTS, parseVariant } from '../../bootstrap/lab/variants.ts';
import { DEFAULT_WORKER_MODE, parseWorkerMode, WORKER_MODES } from '../../bootstrap/lab/worker/worker-mode.ts';

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
        'real etcd, kube-apiserver, controller-manager and scheduler (kwok plays their kubelets), and real workers ' +
        '(kubelet, containerd, CNI, kube-proxy) in network namespaces on ' +
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
        .default(DEFAULT_WORKER_MODE),
    )
    .addOption(
      new Option('--poll-interval <seconds>', 'ArgoCD reconciliation (poll) interval; upstream default 120')
        .env('CLUSTERPROOF_LAB_POLL_INTERVAL')
        .argParser(seconds('--poll-interval')),
    )
    .addOption(
      new Option('--poll-jitter <seconds>', 'ArgoCD reconciliation jitter; upstream default 60').env('CLUSTERPROOF_LAB_POLL_JITTER').argParser(seconds('--poll-jitter', true)),
    )
    .option('--kubernetes <version>', `the Kubernetes release every node runs (default ${DEFAULT_KUBERNETES_VERSION}; another one is built with \`lab build --kubernetes <version>\`)`)
    .action(async (opts: { variant?: string; workers?: string; pollInterval?: number; pollJitter?: number; kubernetes?: string }) => {
      await ensureLabPrerequisites({ command: 'node bin/clusterproof.mjs lab up' });
      const started = performance.now();
      const result = await labUp((step) => console.log(`${stamp(started)} ${step}`), {
        variant: parseVariant(opts.variant),
        workers: parseWorkerMode(opts.workers),
        gitops: { pollSeconds: opts.pollInterval, pollJitterSeconds: opts.pollJitter },
        kubernetes: opts.kubernetes,
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

  lab
    .command('upgrade')
    .description(
      'Roll the lab to another Kubernetes release, one node at a time: control planes first (the VIP holder last: stop, swap ' +
        'binaries, start, wait /readyz at the new version and etcd healthy), then each worker (cordon, drain through the ' +
        'Eviction API, kubelet and kube-proxy swapped, Ready at the new version, uncordon, every Deployment whole again). ' +
        'Build the release first: lab build --kubernetes <version>. The suite upgrade/rolling does the same under probes and load.',
    )
    .requiredOption('--to <version>', 'the release, e.g. v1.35.4 (one minor above the lab at most)')
    .action(async (opts: { to: string }) => {
      if (!/^v\d+\.\d+\.\d+$/.test(opts.to)) throw new UserError(`--to ${opts.to}: expected a release such as v1.35.4`);
      const profilePath = resolveProfilePath({ target: 'lab' });
      const target = await openTargetFile(profilePath);
      if (!target.upgrade) throw new UserError('the lab offers no rolling upgrade (no node power or etcd access in its profile)', ExitCode.checkFailed);
      const why = await target.upgrade.cannotReach(opts.to);
      if (why) throw new UserError(why, /not built/.test(why) ? ExitCode.missingPrerequisite : ExitCode.badInput);
      const started = performance.now();
      console.log(`${stamp(started)} versions now: ${Object.entries(await target.upgrade.versions()).map(([n, v]) => `${n} ${v}`).join(', ')}`);
      const steps = await target.upgrade.run(opts.to, {
        onStepStart: (node) => console.log(`${stamp(started)} ${node}: upgrading to ${opts.to}`),
        onStepDone: (s) => console.log(`${stamp(started)} ${s.node}: ${s.from} -> ${s.to} in ${s.seconds.toFixed(1)} s (${s.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)} s`).join('; ')})`),
      });
      console.log(`${stamp(started)} lab upgraded to ${opts.to}: ${steps.length} node(s); versions: ${Object.entries(await target.upgrade.versions()).map(([n, v]) => `${n} ${v}`).join(', ')}`);
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

  registerLabProcesses(lab);
}
