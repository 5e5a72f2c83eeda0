/**
 * The CLI for the lab's own processes only (`clusterproof lab vip-agent|api-lb|git-server`): the same commands as in
 * the full CLI (cli/commands/lab-processes.ts), in a program that loads nothing else, so the supervisor's processes
 * start in a fraction of a second instead of the seconds the whole CLI takes to load.
 */
import { Command } from 'commander';
import { LAB_PROCESS_COMMANDS, registerLabProcesses } from './commands/lab-processes.ts';
import { helpLayout } from './help-layout.ts';
import { runProgram } from './run-program.ts';

export const isLabProcess = (argv: string[]) => argv[2] === 'lab' && (LAB_PROCESS_COMMANDS as readonly string[]).includes(argv[3] ?? '');

export async function main(argv: string[]): Promise<number> {
  const program = helpLayout(new Command('clusterproof')).exitOverride();
  registerLabProcesses(program.command('lab'));
  return runProgram(program, argv);
}
