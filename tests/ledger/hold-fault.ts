/**
 * A runner that holds one real fault and waits to be killed: it pushes a commit breaking `<file>` on `main` of the
 * git repository at `<url>` (a loopback server the test started), recorded in the ledger as a git.restore-branch
 * undo through FaultKit.branchPushed. Used to prove that SIGKILL + `clusterproof recover`, and SIGTERM alone, both
 * undo it. The ledger lives where CLUSTERPROOF_STATE_DIR says.
 * argv: <repo url> <file>
 * stdout: `HELD <sha of the broken commit>` once the fault is pushed and recorded.
 */
import { FaultKit } from '../../fixtures/faults/kit.ts';
import { FaultLedger } from '../../fixtures/faults/ledger.ts';
import { guardWithSignals } from '../../fixtures/faults/signals.ts';
import { Timeline } from '../../fixtures/timeline/timeline.ts';
import { GitRepo } from '../../providers/gitops/git-repo.ts';

const [url, file] = process.argv.slice(2);
if (!url || !file) throw new Error('usage: hold-fault.ts <repo url> <file>');

const ledger = new FaultLedger();
guardWithSignals(ledger);
const kit = new FaultKit(ledger, new Timeline('hold-fault'));

const repo = await new GitRepo(url, 'main').clone();
let broken: string;
try {
  const before = await repo.remoteHead();
  await repo.write(file, 'BROKEN\n');
  broken = await repo.commit(`hold-fault: break ${file}`);
  await kit.branchPushed(repo, before, 'hold-fault', async () => {
    await repo.push({ webhook: false });
  });
} finally {
  await repo.dispose();
}
process.stdout.write(`HELD ${broken}\n`);
setInterval(() => undefined, 1000);
