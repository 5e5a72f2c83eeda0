/**
 * Imports point one way: cli -> bootstrap and suites -> fixtures -> providers -> core (docs/architecture.md).
 * A module may import its own folder and any layer below it, never one above or beside it (bootstrap and
 * suites do not know each other). tests/ and scripts/ sit outside the layers.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');

/** Rank per top-level folder: a lower number sits higher; equal ranks in different folders may not meet. */
export const LAYERS: Record<string, number> = { cli: 0, bootstrap: 1, suites: 1, fixtures: 2, providers: 3, core: 4 };

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** The relative imports of one module's source that break the layering; `file` is relative to the root. */
export function violations(file: string, source: string): Violation[] {
  const from = file.split('/')[0]!;
  if (!(from in LAYERS)) return [];
  const out: Violation[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const target = posix.normalize(posix.join(posix.dirname(file), m[2]!));
    const to = target.split('/')[0]!;
    if (to === from) continue;
    if (!(to in LAYERS)) {
      out.push({ file, imports: target, why: `${to}/ is not a layer (only tests/ and scripts/ sit outside them)` });
    } else if (LAYERS[to]! <= LAYERS[from]!) {
      out.push({ file, imports: target, why: `${from}/ may not import ${to}/: imports point cli -> bootstrap, suites -> fixtures -> providers -> core` });
    }
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return /\.(ts|mts|mjs)$/.test(name) ? [rel] : [];
  });
}

describe('layering', () => {
  test('no module imports a layer above or beside its own', () => {
    const found = Object.keys(LAYERS).flatMap((layer) => sources(layer).flatMap((f) => violations(f, readFileSync(join(ROOT, f), 'utf8'))));
    expect(found.map((v) => `${v.file} imports ${v.imports}: ${v.why}`)).toEqual([]);
  });

  test('the rule sees upward, sideways and dynamic imports, and lets downward ones pass', () => {
    const src = [
      "import { a } from '../../cli/main.ts';",
      "import type { b } from '../../suites/ha/x.ts';",
      "const c = await import('../../suites/catalogue.ts');",
      "import { d } from '../../core/errors.ts';",
      "import './own-folder.ts';",
    ].join('\n');
    const found = violations('bootstrap/lab/x.ts', src);
    expect(found.map((v) => v.imports)).toEqual(['cli/main.ts', 'suites/ha/x.ts', 'suites/catalogue.ts']);
    expect(violations('core/x.ts', "import { t } from '../fixtures/timeline/timeline.ts';")[0]?.why).toMatch(/core\/ may not import fixtures\//);
    expect(violations('fixtures/x.ts', "import { k } from '../providers/kube.ts';")).toEqual([]);
  });
});
