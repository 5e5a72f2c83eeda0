/**
 * A cgo recipe (runc) checks its C side before any download: a C compiler, pkg-config and each library's headers,
 * all named at once with the one command that installs them. Fake gcc and pkg-config scripts stand in for the host.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { COMPONENTS } from '../../bootstrap/lab/build/components.ts';
import { checkCLibraries } from '../../bootstrap/lab/build/go-build.ts';
import { MissingPrerequisiteError } from '../../core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterproof-cgo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function host(tools: Record<string, number>): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(dir, 'bin-'));
  for (const [name, code] of Object.entries(tools)) {
    writeFileSync(join(bin, name), `#!/bin/sh\nexit ${code}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return { PATH: bin };
}

const runc = COMPONENTS.find((c) => c.name === 'runc')!;

describe('cgo recipes', () => {
  test('runc links libseccomp; the pure Go recipes link nothing', () => {
    expect(runc.env.CGO_ENABLED).toBe('1');
    expect(runc.cLibraries).toEqual([{ pkgConfig: 'libseccomp', aptPackage: 'libseccomp-dev' }]);
    for (const c of COMPONENTS.filter((c) => c.env.CGO_ENABLED === '0')) expect(c.cLibraries, c.name).toBeUndefined();
  });

  test('headers missing: the library and the package that brings it are named', async () => {
    const err = await checkCLibraries(runc, host({ gcc: 0, 'pkg-config': 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPrerequisiteError);
    expect((err as Error).message).toMatch(/runc is built with cgo and links libseccomp: missing the libseccomp headers/);
    expect((err as Error).message).toMatch(/apt-get install -y libseccomp-dev/);
  });

  test('no compiler and no pkg-config: all of it in one message, one command', async () => {
    const err = await checkCLibraries(runc, host({})).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/missing a C compiler \(gcc\), pkg-config, the libseccomp headers/);
    expect((err as Error).message).toMatch(/apt-get install -y gcc pkg-config libseccomp-dev/);
  });

  test('everything there: the build may go on', async () => {
    await expect(checkCLibraries(runc, host({ gcc: 0, 'pkg-config': 0 }))).resolves.toBeUndefined();
  });

  test('a pure Go recipe runs no check at all', async () => {
    await expect(checkCLibraries(COMPONENTS.find((c) => c.name === 'containerd')!, host({}))).resolves.toBeUndefined();
  });
});
