/**
 * A runner that holds one fault on a throwaway file and waits to be killed:
 * used to prove that SIGKILL + `clusterproof recover`, and SIGTERM alone, both undo it.
 * argv: <file to break>
 */
import { readFile, writeFile } from 'node:fs/promises';
import { FaultLedger } from '../../fixtures/ledger/ledger.ts';
import { guardWithSignals } from '../../fixtures/ledger/signals.ts';

const path = process.argv[2]!;
const ledger = new FaultLedger();
guardWithSignals(ledger);
const original = await readFile(path);
await ledger.apply(
  `break ${path}`,
  { kind: 'file.restore', params: { path, contentBase64: original.toString('base64') }, summary: `restore ${path}` },
  () => writeFile(path, 'BROKEN\n'),
);
process.stdout.write('HELD\n');
setInterval(() => undefined, 1000);
