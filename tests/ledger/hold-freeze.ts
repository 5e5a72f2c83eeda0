/**
 * A runner that holds one node frozen and waits to be killed: it opens the target its profile describes (a Proxmox
 * double on loopback that the test started) and freezes `<node>` through GuardedNodes, so the fault is recorded in
 * the ledger as a node.thaw undo before the VM is suspended. Used to prove that SIGKILL + `clusterproof recover`,
 * and SIGTERM alone, both resume the node. The ledger lives where CLUSTERPROOF_STATE_DIR says.
 * argv: <profile path> <node>
 * stdout: `HELD` once the node is suspended and the fault recorded.
 */
import { BlastRadius } from '../../core/safety/blast-radius.ts';
import { FaultKit } from '../../fixtures/faults/kit.ts';
import { FaultLedger } from '../../fixtures/faults/ledger.ts';
import { guardWithSignals } from '../../fixtures/faults/signals.ts';
import { GuardedNodes } from '../../fixtures/guarded-nodes.ts';
import { openTargetFile } from '../../fixtures/targets/index.ts';
import { Timeline } from '../../fixtures/timeline/timeline.ts';

const [profilePath, nodeName] = process.argv.slice(2);
if (!profilePath || !nodeName) throw new Error('usage: hold-freeze.ts <profile path> <node>');

// the profile's Kubernetes and Talos addresses are a homelab's: only constructed, never contacted
const target = await openTargetFile(profilePath, { allowRemote: true });
const node = target.profile.nodes.find((n) => n.name === nodeName);
if (!node) throw new Error(`no node ${nodeName} in ${profilePath}`);

const ledger = new FaultLedger({ context: { target } });
guardWithSignals(ledger);
const timeline = new Timeline('hold-freeze');
const nodes = new GuardedNodes(target.nodeControl!, new FaultKit(ledger, timeline, target), new BlastRadius(target.profile, { destructive: true, quorumLoss: false }), timeline);
await nodes.freeze(node);
process.stdout.write('HELD\n');
setInterval(() => undefined, 1000);
