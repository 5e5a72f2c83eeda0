import type { Command } from 'commander';
import { buildComponents } from '../../bootstrap/lab/build/index.ts';
import { labUp } from '../../bootstrap/lab/lab.ts';
import { ensureLabPrerequisites } from '../../bootstrap/lab/prerequisites.ts';
import { runSuites } from './run.ts';
import { buildReport } from '../../core/report/build.ts';

/** `npm start`: the main job on the embedded default target, end to end. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('The main job on the embedded lab: build the components (cached), bring the lab up, run every suite, build the report.')
    .action(async () => {
      const started = performance.now();
      const t = () => `[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
      // every host prerequisite, before a build that can take 20 minutes
      await ensureLabPrerequisites({ command: 'npm start', building: true });
      console.log(`${t()} 1/4 building lab components (cached after the first build)`);
      await buildComponents({});
      console.log(`${t()} 2/4 lab up`);
      await labUp((step) => console.log(`${t()}     ${step}`));
      console.log(`${t()} 3/4 running every suite against the lab`);
      const code = await runSuites({ target: 'lab', cleanResults: true });
      console.log(`${t()} 4/4 building the report`);
      const report = await buildReport({});
      console.log(`${t()} report: ${report.outputDir}/index.html (suites ${code === 0 ? 'passed' : 'FAILED'}); the lab is still up: \`clusterproof lab down\` removes it`);
      process.exitCode = code;
    });
}
