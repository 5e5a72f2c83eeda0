import { CommanderError, type Command } from 'commander';
import { ExitCode, UserError } from '../core/errors.ts';

/** Parses argv with `program` and returns the exit code; user errors print one clear message, never a stack trace. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return ExitCode.ok;
      }
      return ExitCode.badInput;
    }
    if (err instanceof UserError) {
      process.stderr.write(`clusterproof: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`clusterproof: internal error (please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}
