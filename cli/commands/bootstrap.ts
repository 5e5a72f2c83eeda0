import { reachesBeyondLab } from '../../core/profile/target-kind.ts';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ProxmoxClient } from '../../providers/proxmox/client.ts';
import { executePlan, formatPlan, planBootstrap, type BootstrapPlan } from '../../bootstrap/plan.ts';
import { ProcessToolRunner } from '../../bootstrap/tools.ts';
import { ExitCode, UserError } from '../../core/errors.ts';
import { loadProfile } from '../../core/profile/load.ts';
import { resolveSecret } from '../../core/profile/secrets.ts';

export interface BootstrapCliOptions {
  profile: string;
  dryRun?: boolean;
  destroy?: boolean;
  insecure?: boolean;
  yes?: boolean;
  recoverFrom?: string;
  recoverSkipHashCheck?: boolean;
}

const EXAMPLES = `
Examples:
  clusterproof bootstrap --profile profiles/seed.yaml --dry-run      print the ordered plan; change nothing
  clusterproof bootstrap --profile my-homelab.yaml                     build (or converge) the cluster
  clusterproof bootstrap --profile my-homelab.yaml --destroy           remove the VMs it created, after confirmation
  clusterproof bootstrap --profile my-homelab.yaml --recover-from db.snapshot   rebuild, etcd restored from a snapshot
`;

const SUMMARY =
  'Stand the stack up on Proxmox VE from a profile: the Talos ISO and one VM per node, Talos machine configs ' +
  '(generated and validated by talosctl), etcd bootstrap, Cilium, MetalLB, ArgoCD and the gitops app of apps. ' +
  'Idempotent: existing VMs (by name and tag) are adopted and only what differs is changed.';

/** The Proxmox client from the profile: token from its references, CA pinned from caFile; --insecure only loudly. */
export async function proxmoxClientFor(plan: BootstrapPlan, insecure: boolean): Promise<ProxmoxClient> {
  const access = plan.settings.profile.access.proxmox;
  if (!access) throw new UserError('access.proxmox is missing: bootstrap needs the Proxmox VE API URL and an API token');
  const tokenId = await resolveSecret(access.tokenId, 'access.proxmox.tokenId');
  const tokenSecret = await resolveSecret(access.tokenSecret, 'access.proxmox.tokenSecret');
  if (!access.caFile && !insecure) {
    process.stderr.write(
      'note: access.proxmox.caFile is not set: the Proxmox certificate is checked against the system CA store, which a ' +
        'self-signed PVE certificate fails; copy /etc/pve/pve-root-ca.pem from a PVE node and name it in caFile\n',
    );
  }
  const written = access.caFile;
  const caFile =
    written && !insecure
      ? written === '~' || written.startsWith('~/')
        ? join(homedir(), written.slice(1))
        : resolve(plan.loaded.dir, written)
      : undefined;
  return new ProxmoxClient({
    url: access.url,
    tokenId,
    tokenSecret,
    caFile,
    insecure,
    // a real homelab: the profile opted in by naming its addresses; the lab and loopback are allowed anyway
    allowRemote: reachesBeyondLab(plan.settings.profile),
    // a VM create or an ISO download can take longer than a status read
    requestTimeoutMs: 60_000,
  });
}

async function askToConfirm(question: string, expected: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UserError(`${question}\nrefusing without confirmation: stdin is not a terminal; rerun with --yes to confirm`, ExitCode.refused);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question}\nType the profile name (${expected}) to confirm: `);
    return answer.trim() === expected;
  } finally {
    rl.close();
  }
}

export async function runBootstrap(opts: BootstrapCliOptions): Promise<number> {
  const loaded = await loadProfile(opts.profile);
  const plan = planBootstrap(
    loaded,
    { destroy: opts.destroy, recoverFrom: opts.recoverFrom, recoverSkipHashCheck: opts.recoverSkipHashCheck },
    opts.profile,
  );
  if (opts.dryRun) {
    process.stdout.write(formatPlan(plan));
    process.stdout.write('\ndry run: nothing was contacted, written or changed.\n');
    return plan.settings.blockers.length ? ExitCode.checkFailed : ExitCode.ok;
  }
  if (opts.insecure) {
    process.stderr.write(
      '\n!!! --insecure: TLS verification of the Proxmox API is OFF. Anyone on the path can read the API token. !!!\n\n',
    );
  }
  process.stdout.write(formatPlan(plan, { bodies: false }));
  // secrets are resolved only now, for a real run; the steps share this one client
  const client = await proxmoxClientFor(plan, !!opts.insecure);
  try {
    await executePlan(plan, {
      proxmox: () => client,
      tools: new ProcessToolRunner(),
      log: (l) => process.stdout.write(`${l}\n`),
      confirm: (q) => (opts.yes ? Promise.resolve(true) : askToConfirm(q, plan.settings.profile.metadata.name)),
      allowRemote: reachesBeyondLab(plan.settings.profile),
    });
  } finally {
    client.close();
  }
  process.stdout.write(
    opts.destroy
      ? 'destroy finished\n'
      : `bootstrap finished: kubeconfig ${plan.files.kubeconfig}, talosconfig ${plan.files.talosconfig}\n`,
  );
  return ExitCode.ok;
}

export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .summary(SUMMARY)
    .description(
      `${SUMMARY}\n\n` +
        'Lint runs first: a profile with topology errors is never planned (exit 1). Every step is idempotent: ' +
        'after a failure, fix the cause and run the same command again. ' +
        'Prerequisites and disaster recovery: docs/homelab-runbook.md.',
    )
    .requiredOption('-p, --profile <file>', 'homelab profile (YAML), e.g. profiles/seed.yaml')
    .option('--dry-run', 'print the ordered plan (API calls, talosctl/helm/kubectl commands, manifests) and change nothing')
    .option('--destroy', 'remove the profile\'s VMs that carry the clusterproof tag (asks first)')
    .option('--insecure', 'do not verify the Proxmox TLS certificate (warned about loudly; pin access.proxmox.caFile instead)')
    .option('-y, --yes', 'answer yes to the destroy confirmation (non-interactive use)')
    .option('--recover-from <snapshot>', 'disaster recovery: start etcd from this `talosctl etcd snapshot` file instead of empty')
    .option('--recover-skip-hash-check', 'with --recover-from: the file is a db copied from a node\'s disk, not a snapshot')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: BootstrapCliOptions) => {
      process.exitCode = await runBootstrap(opts);
    });
}
