// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are spec text, where ${...} is the reference syntax
import { describe, expect, it } from 'vitest';
import { cacheKey } from './cache-key.js';
import { envName, quoteForShell, referencedParams, substitute } from './references.js';

describe('substitute', () => {
  const lookup = async (r: { scope: string; key: string }) =>
    r.scope === 'params'
      ? (({ lr: '0.1', name: "it's; rm -rf /" } as Record<string, string>)[r.key] ?? '')
      : `in/${r.key}`;

  it('replaces params and step references, quoting for the shell only what needs it', async () => {
    expect(
      await substitute('train --lr ${params.lr} --in ${ steps.prep.outputs.table }', lookup, {
        shellQuote: true,
      }),
    ).toBe('train --lr 0.1 --in in/prep.outputs.table');
    expect(await substitute('echo ${params.name}', lookup, { shellQuote: true })).toBe(
      `echo 'it'\\''s; rm -rf /'`,
    );
    expect(await substitute('${params.name}', lookup)).toBe("it's; rm -rf /");
    expect(await substitute('no references', lookup)).toBe('no references');
  });

  it('lists referenced params and builds env names', () => {
    expect(referencedParams('a ${params.lr} ${steps.x.y} ${params.epochs}')).toEqual(['lr', 'epochs']);
    expect(envName('SLIPWAY_INPUT_', 'train-data.v2')).toBe('SLIPWAY_INPUT_TRAIN_DATA_V2');
    expect(quoteForShell('')).toBe("''");
  });
});

describe('cacheKey', () => {
  const parts = {
    command: 'python train.py',
    code: [
      { path: 'a.py', sha256: '1', sizeBytes: 1, mtimeMs: 1 },
      { path: 'b.py', sha256: '2', sizeBytes: 1, mtimeMs: 1 },
    ],
    params: { lr: '0.1', epochs: '3' },
    inputs: { data: 'abc' },
    env: {},
  };

  it('is stable under key order and mtimes, and changes with any part', () => {
    const key = cacheKey(parts);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(
      cacheKey({
        ...parts,
        code: [...parts.code].reverse().map((f) => ({ ...f, mtimeMs: 99 })),
        params: { epochs: '3', lr: '0.1' },
      }),
    ).toBe(key);
    expect(cacheKey({ ...parts, command: 'python train.py --fast' })).not.toBe(key);
    expect(cacheKey({ ...parts, params: { ...parts.params, lr: '0.2' } })).not.toBe(key);
    expect(cacheKey({ ...parts, inputs: { data: 'abd' } })).not.toBe(key);
    expect(cacheKey({ ...parts, code: [{ ...parts.code[0]!, sha256: '3' }, parts.code[1]!] })).not.toBe(key);
  });
});
