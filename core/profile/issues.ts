/**
 * Turns schema violations into messages a person can act on: one message per problem, naming the field path
 * (`nodes[2].ip`), the value as written, and what is expected.
 */
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { didYouMean } from './did-you-mean.ts';
import { INLINE_SECRET_REFUSED } from './schema.ts';
import type { Location } from './yaml-source.ts';

export type ProfileErrorKind = 'missing-file' | 'unreadable' | 'empty' | 'yaml' | 'not-a-mapping' | 'invalid';

export interface ProfileProblem {
  /** dotted/indexed field path, e.g. nodes[2].ip; empty for the document itself */
  path: string;
  line?: number;
  column?: number;
  /** stands alone: starts with the path, says what was found and what is expected */
  message: string;
}

/** Anything wrong with a profile file; always a bad-input error (exit code 2), never a stack trace. */
export class ProfileError extends UserError {
  constructor(
    readonly source: string,
    readonly kind: ProfileErrorKind,
    message: string,
    readonly problems: ProfileProblem[] = [],
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** What the located source can tell about a value; absent when validating data that did not come from YAML. */
export interface SourceView {
  locate(path: readonly PropertyKey[], key?: string): Location | undefined;
  written(path: readonly PropertyKey[]): string | undefined;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

const TYPE_PHRASES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'nothing',
};

/**
 * Per-parse zod error map: every message becomes an "expected ..." phrase. Messages written in the schema itself
 * take precedence over this map, so they must be phrased the same way.
 */
export const expectationMessages: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${TYPE_PHRASES[iss.expected] ?? iss.expected}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected exactly ${JSON.stringify(iss.values[0])}`
        : `expected one of ${iss.values.map((v) => String(v)).join(', ')}`;
    case 'too_small':
      return `expected ${bound(iss.origin, iss.minimum, iss.inclusive, 'at least', 'more than')}`;
    case 'too_big':
      return `expected ${bound(iss.origin, iss.maximum, iss.inclusive, 'at most', 'less than')}`;
    case 'invalid_format':
      if (iss.format === 'url') return 'expected an absolute URL such as https://192.168.40.60:6443';
      return iss.format === 'regex' && 'pattern' in iss ? `expected text matching ${String(iss.pattern)}` : `expected a valid ${iss.format}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_union':
      return 'expected one of the allowed forms (see docs/profile.md)';
    default:
      return 'expected a valid value (see docs/profile.md)';
  }
};

function bound(origin: string, limit: number | bigint, inclusive: boolean | undefined, incl: string, excl: string): string {
  const n = Number(limit);
  switch (origin) {
    case 'array':
    case 'set':
      return `${inclusive === false ? excl : incl} ${n} item${n === 1 ? '' : 's'}`;
    case 'string':
      return n === 1 && incl === 'at least' ? 'a non-empty string' : `${inclusive === false ? excl : incl} ${n} characters`;
    default:
      return `a number ${inclusive === false ? (incl === 'at least' ? '>' : '<') : incl === 'at least' ? '>=' : '<='} ${n}`;
  }
}

/** One problem per zod issue (one per key for unknown keys), in the order they appear in the file. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, source?: SourceView): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  const missing = new Set(issues.filter(isMissing).map((iss) => formatPath(iss.path)));
  // a misspelt required key is one mistake: the unknown-key message says so and the "missing" one is dropped
  const explainedByTypo = new Set<string>();
  for (const iss of issues) {
    if (iss.code !== 'unrecognized_keys') continue;
    const known = keysAt(schema, iss.path);
    for (const key of iss.keys) {
      const suggestion = didYouMean(key, known);
      const path = formatPath([...iss.path, key]);
      const intended = suggestion && formatPath([...iss.path, suggestion]);
      const isRequired = intended !== undefined && missing.has(intended);
      if (isRequired) explainedByTypo.add(intended);
      const message =
        `${path}: unknown key "${key}"` +
        (suggestion ? `; did you mean "${suggestion}"?${isRequired ? ' It is required and missing.' : ''}` : '.') +
        (known.length ? ` Allowed keys here: ${known.join(', ')}` : '');
      problems.push({ path, ...where(source?.locate(iss.path, key)), message });
    }
  }
  const withUnknownKeys = new Set(issues.filter((iss) => iss.code === 'unrecognized_keys').map((iss) => formatPath(iss.path)));
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') continue;
    const path = formatPath(iss.path);
    if (isMissing(iss) && explainedByTypo.has(path)) continue;
    // { envv: X } fails the "exactly one of env or file" refinement only because of the unknown key already reported
    if (iss.code === 'custom' && withUnknownKeys.has(path)) continue;
    let message = `${path}: ${describeIssue(iss, source)}`;
    // a value of the wrong kind, or none: say what the field is for
    const description = iss.code === 'invalid_type' && iss.message !== INLINE_SECRET_REFUSED ? descriptionAt(schema, iss.path) : undefined;
    if (description) message += ` — ${description}`;
    problems.push({ path, ...where(source?.locate(iss.path)), message });
  }
  return problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

function describeIssue(iss: z.core.$ZodIssue, source?: SourceView): string {
  const input = (iss as { input?: unknown }).input;
  if (iss.message === INLINE_SECRET_REFUSED) {
    // whatever was written in place of a reference may be the secret itself: never echo it, even if it looks like a path
    const hint = typeof input === 'string' ? '; if it is a file path, write { file: <that path> }' : '';
    return `${INLINE_SECRET_REFUSED} (the value is not shown${hint})`;
  }
  if (input === undefined) return `is missing; ${iss.message}`;
  if (input === null) return `is empty; ${iss.message}`;
  const written = source?.written(iss.path) ?? compact(input);
  const kind = iss.code === 'invalid_type' ? ` (${kindOf(input)})` : '';
  let text = `got ${written}${kind}; ${iss.message}`;
  if (iss.code === 'invalid_value' && typeof input === 'string' && iss.values.length > 1) {
    const suggestion = didYouMean(input, iss.values.map(String));
    if (suggestion) text += `; did you mean "${suggestion}"?`;
  }
  return text;
}

function isMissing(iss: z.core.$ZodIssue): boolean {
  return iss.code === 'invalid_type' && (iss as { input?: unknown }).input === undefined;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a whole number' : 'a number';
  return typeof v === 'string' ? 'a string' : typeof v === 'boolean' ? 'a boolean' : typeof v;
}

function compact(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

function where(loc: Location | undefined): { line?: number; column?: number } {
  return loc ? { line: loc.line, column: loc.column } : {};
}

interface DefView {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
}

/** The keys the schema allows for the object at `path` (through optional, default and array wrappers). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  const def = at && defOf(unwrap(at));
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The description of the field at `path`, from its outermost wrapper inwards. */
export function descriptionAt(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  for (let s = schemaAt(schema, path); s; s = innerOf(s)) {
    const description = z.globalRegistry.get(s)?.description;
    if (description) return description;
  }
  return undefined;
}

/** The schema of the field at `path`, as declared (wrappers kept). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const segment of path) {
    if (!current) return undefined;
    const def = defOf(unwrap(current));
    if (def.type === 'object' && def.shape) current = def.shape[String(segment)];
    else if (def.type === 'array') current = def.element;
    else return undefined;
  }
  return current;
}

function innerOf(schema: z.ZodType): z.ZodType | undefined {
  const def = defOf(schema);
  return def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let inner = innerOf(s); inner; inner = innerOf(s)) s = inner;
  return s;
}

function defOf(schema: z.ZodType): DefView {
  return (schema as unknown as { _zod: { def: DefView } })._zod.def;
}

/** The message of an invalid profile: a header, then every problem with its location. */
export function renderProblems(sourceName: string, problems: readonly ProfileProblem[]): string {
  const n = problems.length;
  const lines = problems.map((p) => {
    const at = p.line !== undefined ? `\n      at ${sourceName}:${p.line}:${p.column ?? 1}` : '';
    return `  - ${p.message}${at}`;
  });
  return (
    `profile ${sourceName} is invalid (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}\n` +
    `field reference: docs/profile.md (JSON Schema for editors: profiles/profile.schema.json)`
  );
}
