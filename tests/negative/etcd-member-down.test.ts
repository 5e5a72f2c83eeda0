/**
 * Negative control for ha/etcd-quorum: with a control plane powered off before the run, the suite must refuse
 * to experiment and say which member is down, instead of passing on a degraded cluster or timing out.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '../../fixtures/expect/expectation.ts';
import { etcdMembersHealthy } from '../../fixtures/checks.ts';
import { openTargetFile as openTarget, type Target } from '../../fixtures/targets/index.ts';
import { labPaths } from '../../providers/lab/paths.ts';
import { labSkipReason } from '../support/lab-prereqs.ts';
import { negativeResultsArgs } from '../support/negative-results.ts';
import { runCli } from '../support/cli.ts';

const skip = labSkipReason();

describe.skipIf(skip)('negative control: etcd member broken beforehand', () => {
  let target: Target;
  const victim = 'cp3';

  beforeAll(async () => {
    expect((await runCli(['lab', 'up'])).code).toBe(0);
    target = await openTarget(labPaths.profile());
    await target.nodeControl!.powerOff(target.profile.nodes.find((n) => n.name === victim)!);
  }, 420_000);

  afterAll(async () => {
    await target.nodeControl!.powerOn(target.profile.nodes.find((n) => n.name === victim)!);
    await eventually('etcd 3/3 again', etcdMembersHealthy(target.etcd!, 3), { timeoutMs: 120_000 });
  }, 180_000);

  test('ha/etcd-quorum refuses, naming the powered-off member', async () => {
    const { code, output } = await runCli(['run', '--target', 'lab', '--suite', 'ha/etcd-quorum', ...negativeResultsArgs('etcd-member-down')]);
    expect(code).toBe(1);
    expect(output).toMatch(/refusing to start: control plane cp3 is already powered off/);
  }, 600_000);
});
