/**
 * Regenerates core/preflight/data/kubernetes-api-lifecycle.json from the Kubernetes source: every prerelease API
 * type in k8s.io/api carries generated lifecycle functions (zz_generated.prerelease-lifecycle.go:
 * APILifecycleDeprecated, APILifecycleRemoved, APILifecycleReplacement) that the API server itself uses to stop
 * serving a version and to fill the apiserver_requested_deprecated_apis metric. Reading them from the module is
 * upstream's own data, not a hand-kept list.
 *
 * Several releases may be given, oldest first: upstream deletes a package some releases after it stops serving it
 * (autoscaling/v2beta1 is gone from v0.36), so the union keeps every removal, the newest release's data winning.
 *
 *   go mod download -json k8s.io/api@v0.36.3   # or any lab build, which fetches it
 *   npx tsx scripts/api-lifecycle-from-source.ts v0.34.4 v0.36.3
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const versions = process.argv.length > 2 ? process.argv.slice(2) : ['v0.34.4', 'v0.36.3'];
const modDir = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'core', 'preflight', 'data', 'kubernetes-api-lifecycle.json');

/** Kinds that are never stored objects (requests, sub-resources, options): no manifest or live object uses them. */
const NOT_OBJECTS = /(List|Options|Review|Eviction|Scale|Rollback)$|^Binding$/;
/** The API group of a package: its register.go's `const GroupName = "..."`. */
function groupName(pkgDir: string): string {
  const m = /GroupName = "([^"]*)"/.exec(readFileSync(join(pkgDir, 'register.go'), 'utf8'));
  if (!m) throw new Error(`no GroupName in ${pkgDir}/register.go`);
  return m[1]!;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n === 'zz_generated.prerelease-lifecycle.go' ? [p] : [];
  });
}

interface Entry { group: string; version: string; kind: string; deprecated?: string; removed?: string; replacement?: string }
/** Every API version with a removal release in one k8s.io/api release. */
function lifecycleOf(root: string): Entry[] {
  const entries: Entry[] = [];
  for (const file of files(root)) {
    const ver = relative(root, dirname(file)).split('/')[1];
    const src = readFileSync(file, 'utf8');
    const byKind = new Map<string, Entry>();
    const fn = /func \(in \*(\w+)\) APILifecycle(Deprecated|Removed|Replacement)\(\)[^{]*\{\s*return ([^\n]+)/g;
    for (const m of src.matchAll(fn)) {
      const kind = m[1]!;
      if (NOT_OBJECTS.test(kind)) continue;
      const e = byKind.get(kind) ?? { group: groupName(dirname(file)), version: ver!, kind };
      if (m[2] === 'Replacement') {
        const r = /Group: "([^"]*)", Version: "([^"]*)", Kind: "([^"]*)"/.exec(m[3]!);
        if (r) e.replacement = `${r[1] ? `${r[1]}/` : ''}${r[2]} ${r[3]}`;
      } else {
        const v = /(\d+), (\d+)/.exec(m[3]!);
        if (v) e[m[2] === 'Deprecated' ? 'deprecated' : 'removed'] = `${v[1]}.${v[2]}`;
      }
      byKind.set(kind, e);
    }
    entries.push(...[...byKind.values()].filter((e) => e.removed));
  }
  return entries;
}

const union = new Map<string, Entry>();
for (const version of versions) {
  for (const e of lifecycleOf(join(modDir, `k8s.io/api@${version}`))) union.set(`${e.group}/${e.version}/${e.kind}`, e);
}
const entries = [...union.values()];
entries.sort((a, b) => `${a.group}/${a.version}/${a.kind}`.localeCompare(`${b.group}/${b.version}/${b.kind}`));
writeFileSync(
  out,
  JSON.stringify(
    {
      source: `k8s.io/api ${versions.join(' + ')} (the newest wins), */zz_generated.prerelease-lifecycle.go (APILifecycleDeprecated/Removed/Replacement), read by scripts/api-lifecycle-from-source.ts`,
      guide: 'https://kubernetes.io/docs/reference/using-api/deprecation-guide/',
      note: 'removed = the first minor that no longer serves the version; alpha and beta versions introduced since 1.24 are also off by default before that',
      apis: entries,
    },
    null,
    1,
  ) + '\n',
);
console.log(`${entries.length} API versions with a removal release written to ${out}`);
