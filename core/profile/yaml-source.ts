/**
 * A profile's YAML text kept beside its parsed data, so every problem can point at a line and column and quote the
 * value exactly as the user wrote it.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node, type YAMLError } from 'yaml';
import { ProfileError } from './issues.ts';

export interface Location {
  line: number;
  column: number;
}

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'the same key appears twice in one mapping; keep one',
  TAB_AS_INDENT: 'YAML indentation must use spaces, not tabs',
  MULTIPLE_DOCS: 'a profile is a single YAML document: remove the extra "---" separator',
  BAD_INDENT: 'check the indentation of this line against the lines above it',
  MISSING_CHAR: 'a quote or bracket is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'a "key: value" line is probably indented under a scalar value; check the indentation',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines; a ":" is probably missing or misplaced',
};

export class YamlSource {
  private constructor(
    readonly data: unknown,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** Parses the text; empty documents, broken YAML and a top level that is not a mapping are refused here. */
  static parse(text: string, sourceName: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) throw brokenYaml(sourceName, doc.errors[0], doc.errors.length);
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
      throw new ProfileError(
        sourceName,
        'empty',
        `profile ${sourceName} is empty: expected a YAML mapping that starts with "apiVersion: clusterproof/v1" ` +
          `(copy profiles/seed.yaml as a starting point)`,
      );
    }
    if (!isMap(doc.contents)) {
      const what = isSeq(doc.contents) ? 'a list' : `the value ${JSON.stringify((doc.contents as Scalar).value)}`;
      throw new ProfileError(
        sourceName,
        'not-a-mapping',
        `profile ${sourceName} must be a YAML mapping of fields (apiVersion, kind, metadata, target, network, nodes, ...), ` +
          `but its top level is ${what}`,
      );
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      throw new ProfileError(sourceName, 'yaml', `profile ${sourceName} is not valid YAML: ${(err as Error).message}`);
    }
    return new YamlSource(data, doc, lines, text);
  }

  /** Where the value at `path` is written; with `key`, where that key of the mapping at `path` is written. */
  locate(path: readonly PropertyKey[], key?: string): Location | undefined {
    const { node, complete } = this.walk(path);
    if (!node?.range) return undefined;
    if (key !== undefined && complete && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return this.position(keyNode.range[0]);
    }
    return this.position(node.range[0]);
  }

  /** The source text of a scalar at `path`, strings quoted, shortened when long; undefined for collections. */
  written(path: readonly PropertyKey[]): string | undefined {
    const { node, complete } = this.walk(path);
    if (!complete || !isScalar(node) || !node.range) return undefined;
    let raw = this.text.slice(node.range[0], node.range[1]).trim();
    if (raw.includes('\n')) raw = `${raw.split('\n')[0]}…`;
    if (raw.length > 80) raw = `${raw.slice(0, 77)}…`;
    const plainString = typeof node.value === 'string' && node.type === Scalar.PLAIN;
    return plainString ? `"${raw}"` : raw;
  }

  private walk(path: readonly PropertyKey[]): { node: Node | undefined; complete: boolean } {
    let node = this.doc.contents as Node | null;
    for (const segment of path) {
      let next: unknown;
      if (isMap(node)) next = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment))?.value;
      else if (isSeq(node) && typeof segment === 'number') next = node.items[segment];
      if (next === undefined || next === null) return { node: node ?? undefined, complete: false };
      node = next as Node;
    }
    return { node: node ?? undefined, complete: true };
  }

  private position(offset: number): Location {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

function brokenYaml(sourceName: string, error: YAMLError, count: number): ProfileError {
  const [first, ...rest] = error.message.split('\n');
  const what = first.replace(/ at line \d+, column \d+:?$/, '');
  const snippet = rest.join('\n').replace(/^\n+|\n+$/g, '');
  const pos = error.linePos?.[0];
  const where = pos ? `line ${pos.line}, column ${pos.col}` : 'an unknown position';
  const hint = YAML_HINTS[error.code];
  const more = count > 1 ? `\n(${count - 1} more YAML error(s) after this one; fix this one first)` : '';
  return new ProfileError(
    sourceName,
    'yaml',
    `profile ${sourceName} is not valid YAML: at ${where}: ${what}` +
      (hint ? `\n  hint: ${hint}` : '') +
      (snippet ? `\n${snippet.replace(/^/gm, '    ')}` : '') +
      more,
    [{ path: '', line: pos?.line, column: pos?.col, message: what }],
  );
}
