/**
 * Reads and validates a profile. Every way a profile can be wrong ends in a ProfileError (a UserError, exit code 2)
 * whose message says what is wrong, where, and how to fix it.
 */
import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean } from './did-you-mean.ts';
import { expectationMessages, ProfileError, problemsFromIssues, renderProblems, type SourceView } from './issues.ts';
import { Profile } from './schema.ts';
import { rememberProfileDir } from './secrets.ts';
import { YamlSource } from './yaml-source.ts';

export { ProfileError, type ProfileProblem } from './issues.ts';
export { resolveFileRef, resolveSecret, resolveSecretSync } from './secrets.ts';

export interface LoadedProfile {
  profile: Profile;
  /** absolute path of the profile file */
  path: string;
  /** its directory: relative file references start here */
  dir: string;
}

const bundledProfilesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'profiles');

export async function loadProfile(path: string): Promise<LoadedProfile> {
  const absolute = resolve(path);
  let text: string;
  try {
    if ((await stat(absolute)).isDirectory()) {
      throw new ProfileError(path, 'unreadable', `profile ${path} is a directory; pass a YAML file such as ${suggestedProfiles()[0] ?? 'profiles/seed.yaml'}`);
    }
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw missingFile(path, absolute);
    throw new ProfileError(path, 'unreadable', `cannot read profile ${path}: ${(err as Error).message}`);
  }
  const profile = parseProfile(text, path);
  rememberProfileDir(profile, dirname(absolute));
  return { profile, path: absolute, dir: dirname(absolute) };
}

/** Validates profile YAML text; `sourceName` is how messages name it (a path, or a label in tests). */
export function parseProfile(text: string, sourceName = '<profile>'): Profile {
  const source = YamlSource.parse(text, sourceName);
  return validateProfile(source.data, sourceName, source);
}

/** Validates already-parsed data (a profile built in code); problems then carry no line numbers. */
export function validateProfile(data: unknown, sourceName = '<profile>', source?: SourceView): Profile {
  const result = Profile.safeParse(data, { reportInput: true, error: expectationMessages });
  if (result.success) return result.data;
  const problems = problemsFromIssues(result.error.issues, Profile, source);
  throw new ProfileError(sourceName, 'invalid', renderProblems(sourceName, problems), problems);
}

function missingFile(path: string, absolute: string): ProfileError {
  const available = suggestedProfiles();
  const close = didYouMean(basename(path), available.map((p) => basename(p)));
  const closePath = close ? available.find((p) => basename(p) === close) : undefined;
  const lines = [`profile file not found: ${path}${path === absolute ? '' : ` (looked for ${absolute})`}`];
  if (closePath) lines.push(`did you mean ${closePath}?`);
  lines.push(
    available.length
      ? `profiles live in profiles/; available: ${available.join(', ')}`
      : 'profiles live in profiles/ (for example profiles/seed.yaml)',
  );
  return new ProfileError(path, 'missing-file', lines.join('\n  '));
}

/** The bundled profiles, as paths relative to the working directory when that is shorter. */
function suggestedProfiles(): string[] {
  try {
    return readdirSync(bundledProfilesDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => {
        const abs = join(bundledProfilesDir, f);
        const rel = relative(process.cwd(), abs);
        return rel.length < abs.length ? rel : abs;
      });
  } catch {
    return [];
  }
}
