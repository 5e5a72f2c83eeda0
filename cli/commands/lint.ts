import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.ts';
import { lintProfile } from '../../core/lint/lint.ts';
import { lintReport, renderLintText } from '../../core/lint/render.ts';
import { loadProfile } from '../../core/profile/load.ts';

const SUMMARY =
  'Check a profile without touching any cluster: the schema first, then the declared topology (duplicate or ' +
  'out-of-subnet addresses, the VIP inside a MetalLB pool, etcd quorum, anti-affinity against schedulable ' +
  'nodes, NodePort range, access URLs, capabilities). Sends no packet anywhere.';

const EXAMPLES = `
Examples:
  clusterproof lint --profile profiles/seed.yaml
  clusterproof lint --profile profiles/seed.yaml --json | jq '.findings[] | select(.severity == "error")'
`;

export function registerLint(program: Command): void {
  program
    .command('lint')
    .summary(SUMMARY)
    .description(
      `${SUMMARY}\n\n` +
        'Exit codes: 0 no errors (warnings allowed), 1 topology errors, 2 the profile cannot be read or is invalid. ' +
        'Field reference: docs/profile.md.',
    )
    .requiredOption('-p, --profile <file>', 'profile to check, e.g. profiles/seed.yaml')
    .option('--json', 'print one JSON object {profile, errors, warnings, findings} instead of text')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { profile: string; json?: boolean }) => {
      const { profile } = await loadProfile(opts.profile);
      const report = lintReport(opts.profile, lintProfile(profile));
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderLintText(report));
      process.exitCode = report.errors > 0 ? ExitCode.checkFailed : ExitCode.ok;
    });
}
