/** Writes k6/scenario.schema.json from core/load/scenario.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIO_SCHEMA_FILE, renderScenarioSchema } from '../core/load/scenario-schema.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const path = resolve(root, SCENARIO_SCHEMA_FILE);
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, renderScenarioSchema());
console.log(`wrote ${SCENARIO_SCHEMA_FILE}`);
