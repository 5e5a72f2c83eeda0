import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.ts';
import { ledgerDir } from '../../fixtures/faults/ledger.ts';
import { recover } from '../../fixtures/faults/recover.ts';

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      'Undo every fault left behind by a runner that died (crash, SIGKILL, lost CI job). ' +
        'Faults are recorded in the ledger before they are applied, so this always knows what to undo. ' +
        'Running it again when nothing is left is a no-op.',
    )
    .option('--run <id>', 'only the faults of this run id')
    .option('--force', 'also undo faults whose runner still looks alive')
    .action(async (opts: { run?: string; force?: boolean }) => {
      const result = await recover({ runId: opts.run, force: opts.force });
      for (const r of result.undone) console.log(`undone: ${r.description} (${r.undo.summary}) [run ${r.runId}]`);
      for (const r of result.stillOwned)
        console.log(`left alone: ${r.description} is held by live runner pid ${r.pid}; use --force to undo it anyway`);
      for (const f of result.failed) console.error(`FAILED to undo: ${f.record.description}: ${f.error}`);
      const total = result.undone.length + result.failed.length + result.stillOwned.length;
      if (total === 0) console.log(`nothing to recover: the ledger (${ledgerDir()}) is empty`);
      else console.log(`${result.undone.length} fault(s) undone, ${result.failed.length} failed, ${result.stillOwned.length} left to live runners`);
      if (result.failed.length > 0) process.exitCode = ExitCode.checkFailed;
    });
}
