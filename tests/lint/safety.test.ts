import { describe, expect, test } from 'vitest';
import { codes, fixedSeed, only } from './profiles.ts';

describe('safety limits', () => {
  test('a protected node that does not exist, with a suggestion', () => {
    const [f] = only(fixedSeed((p) => (p.safety.protectedNodes = ['cp-node-1', 'cp-nod-3'])), 'protected-node-unknown');
    expect(f).toMatchObject({ severity: 'error', path: 'safety.protectedNodes[1]', message: 'protected node cp-nod-3 is not declared in nodes; did you mean cp-node-3?' });
  });

  test('declared protected nodes are fine', () => {
    expect(codes(fixedSeed((p) => (p.safety.protectedNodes = ['cp-node-1'])))).not.toContain('protected-node-unknown');
  });
});
