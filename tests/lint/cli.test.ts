/** The real CLI, as a user runs it: `node bin/clusterproof.mjs lint ...` in a child process. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'clusterproof-lint-cli-'));
const seedText = readFileSync(join(root, 'profiles/seed.yaml'), 'utf8');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function clusterproof(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/clusterproof.mjs', ...args], { cwd: root, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function profileFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('clusterproof lint', { timeout: 120_000 }, () => {
  test('the seed exits 1 and explains the 192.168.40.60 collision', async () => {
    const r = await clusterproof('lint', '--profile', 'profiles/seed.yaml');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('the API VIP 192.168.40.60 is also in MetalLB pool "default" (192.168.40.60/32)');
    expect(r.stdout).toMatch(/both\s+answer\s+ARP\s+for\s+192\.168\.40\.60/);
    expect(r.stdout).toMatch(/node\.kubernetes\.io\/exclude-from-external-load-balancers/);
    expect(r.stdout).toContain('192.168.40.70/32');
    expect(r.stdout).toContain('1 error, 2 warnings');
  });

  test('--json prints one machine-readable object', async () => {
    const r = await clusterproof('lint', '--profile', 'profiles/seed.yaml', '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { profile: string; errors: number; warnings: number; findings: { code: string; severity: string; path: string }[] };
    expect(report).toMatchObject({ profile: 'profiles/seed.yaml', errors: 1, warnings: 2 });
    expect(report.findings[0]).toMatchObject({ severity: 'error', code: 'vip-in-lb-pool', path: 'network.loadBalancerPools[0].addresses[0]' });
  });

  test('warnings only exit 0', async () => {
    const fixed = profileFile('fixed.yaml', seedText.replace('addresses: [192.168.40.60/32]', 'addresses: [192.168.40.70/32]'));
    const r = await clusterproof('lint', '--profile', fixed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 errors, 2 warnings: no errors');
  });

  test('an invalid profile exits 2 with the problem, never a stack trace', async () => {
    const bad = profileFile('bad.yaml', seedText.replace('ip: 192.168.40.63', 'ip: 192.168.40.300'));
    const r = await clusterproof('lint', '--profile', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nodes[2].ip: got "192.168.40.300"; expected an IPv4 address such as 192.168.40.61');
    expect(r.stderr).not.toMatch(/\.(ts|m?js):\d+:\d+/); // a stack frame
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout).toBe('');
  });

  test('a missing profile exits 2 and points at profiles/', async () => {
    const r = await clusterproof('lint', '--profile', 'profiles/nope.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('profile file not found: profiles/nope.yaml');
    expect(r.stderr).toContain('profiles live in profiles/');
  });

  test('--profile is required', async () => {
    const r = await clusterproof('lint');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '-p, --profile <file>' not specified");
  });
});
