import { Command, type AddHelpTextContext } from 'commander';
import { runProgram } from './run-program.ts';
import { helpLayout } from './help-layout.ts';
import { registerLint } from './commands/lint.ts';
import { registerRun } from './commands/run.ts';
import { registerPreflight } from './commands/preflight.ts';
import { registerReport } from './commands/report.ts';
import { registerRecover } from './commands/recover.ts';
import { registerLab } from './commands/lab.ts';
import { registerStart } from './commands/start.ts';
import { registerBootstrap } from './commands/bootstrap.ts';

const EXIT_CODES: Array<[code: string, meaning: string]> = [
  ['0', 'success'],
  ['1', 'a check failed (lint errors, a property violated, a test failed)'],
  ['2', 'bad input (profile, flags, arguments)'],
  ['3', 'a prerequisite is missing (a tool, root, a lab component not built)'],
  ['4', 'refused by the blast-radius or network-safety guard'],
  ['130', 'interrupted; every fault recorded in the ledger was undone'],
];

/** The exit codes as a list laid out like commander's own, so it wraps with the rest of the help. */
function exitCodesHelp({ command, error }: AddHelpTextContext): string {
  const help = command.createHelp();
  const output = command.configureOutput();
  help.prepareContext({ error, helpWidth: error ? output.getErrHelpWidth?.() : output.getOutHelpWidth?.() });
  const termWidth = Math.max(...EXIT_CODES.map(([code]) => code.length));
  const items = EXIT_CODES.map(([code, meaning]) => help.formatItem(code, termWidth, meaning, help));
  return ['', 'Exit codes:', ...items, ''].join('\n');
}

export function buildProgram(): Command {
  const program = helpLayout(new Command('clusterproof'))
    .description(
      'Proves that a self-hosted HA Kubernetes stack keeps its properties: etcd quorum, API VIP failover, ' +
        'replica spread, GitOps convergence and latency under load. Runs against a homelab profile or the ' +
        'embedded lab (real etcd, kube-apiserver, controller-manager, scheduler, an etcd-election VIP, real ' +
        'workers running the apps as containers, in network namespaces on this machine).',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', exitCodesHelp)
    .exitOverride();
  registerStart(program);
  registerLint(program);
  registerRun(program);
  registerPreflight(program);
  registerReport(program);
  registerRecover(program);
  registerLab(program);
  registerBootstrap(program);
  return program;
}

/** Runs the CLI and returns the exit code; user errors print one clear message, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
