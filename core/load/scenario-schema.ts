/**
 * Renders the load scenario schema for editors: k6/scenario.schema.json (JSON Schema, draft 2020-12), generated from
 * the zod schema in core/load/scenario.ts by scripts/gen-load-schema.ts and checked by tests/load/scenario.test.ts.
 * Scenario files point at it with `"$schema": "./scenario.schema.json"`.
 */
import { z } from 'zod';
import { Scenario } from './scenario.ts';

export const SCENARIO_SCHEMA_FILE = 'k6/scenario.schema.json';
export const REGENERATE_COMMAND = 'npx tsx scripts/gen-load-schema.ts';

export function scenarioJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what a person writes: fields with a default are optional there
  const generated = z.toJSONSchema(Scenario, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  // the root's own .describe() text is replaced by one that says where the file comes from
  const { $schema, description: _described, ...body } = generated;
  return {
    $schema,
    title: 'clusterproof load scenario',
    description: `A clusterproof load scenario, read by k6/guestbook.js, the k6-operator and the embedded engine. Generated from core/load/scenario.ts by ${REGENERATE_COMMAND}; do not edit.`,
    ...body,
  };
}

export function renderScenarioSchema(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}
