/** Writes profiles/profile.schema.json and docs/profile.md from core/profile/schema.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROFILE_DOCS_FILE, PROFILE_SCHEMA_FILE, renderJsonSchema, renderMarkdown } from '../core/profile/docs.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const [file, content] of [
  [PROFILE_SCHEMA_FILE, renderJsonSchema()],
  [PROFILE_DOCS_FILE, renderMarkdown()],
] as const) {
  const path = resolve(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${file}`);
}
