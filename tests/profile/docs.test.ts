import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { PROFILE_DOCS_FILE, PROFILE_SCHEMA_FILE, REGENERATE_COMMAND, profileJsonSchema, renderJsonSchema, renderMarkdown } from '../../core/profile/docs.ts';

function committed(file: string): string {
  return readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
}

describe('generated profile reference', () => {
  test.each([
    [PROFILE_SCHEMA_FILE, renderJsonSchema],
    [PROFILE_DOCS_FILE, renderMarkdown],
  ])('%s is up to date with core/profile/schema.ts', (file, render) => {
    const upToDate = committed(file) === render();
    expect(upToDate, `${file} is out of date: run ${REGENERATE_COMMAND}`).toBe(true);
  });

  test('the JSON Schema refuses unknown keys and says a secret is env or file', () => {
    const schema = profileJsonSchema();
    expect(schema.additionalProperties).toBe(false);
    const proxmox = (schema.properties!.access.properties!.proxmox as { properties: Record<string, { oneOf?: unknown }> }).properties;
    expect(proxmox.tokenSecret.oneOf).toEqual([{ required: ['env'] }, { required: ['file'] }]);
  });

  test('the field reference lists every field with its type, presence and description', () => {
    const md = renderMarkdown();
    expect(md).toContain('| `nodes[].ip` | IPv4 address | required | the node address on the cluster LAN |');
    expect(md).toContain('| `safety.maxNodesDown` | integer ≥ 0 | default `1` | most nodes a suite may have faulted at once |');
    expect(md).toContain('| `access.proxmox.tokenSecret` | `{ env: VAR }` \\| `{ file: PATH }` | required |');
  });
});
