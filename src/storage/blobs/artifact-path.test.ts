import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeArtifactPath } from './artifact-path.js';
import { createFsBlobStore } from './fs-blob-store.js';

describe('artifact paths', () => {
  it('canonicalises harmless forms', () => {
    expect(normalizeArtifactPath('a/b/c.txt')).toBe('a/b/c.txt');
    expect(normalizeArtifactPath('a//b/./c/')).toBe('a/b/c');
    expect(normalizeArtifactPath('')).toBe('');
  });

  it.each([
    ['../etc/passwd', "'..' is not allowed"],
    ['a/../../b', "'..' is not allowed"],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows', 'absolute'],
    ['a\\..\\b', "use '/'"],
    ['a\0b', 'NUL'],
  ])('refuses %j', (path, message) => {
    expect(() => normalizeArtifactPath(path, 'artifact path')).toThrow(message);
  });

  it('stores atomically, lists, reads and deletes inside its root only', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slipway-blobs-'));
    try {
      const blobs = createFsBlobStore(root);
      const put = await blobs.put('run/model/model.onnx', Buffer.from('abc'));
      expect(put).toEqual({
        sizeBytes: 3,
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      });
      expect(await blobs.list('run')).toEqual([{ path: 'run/model', isDir: true }]);
      expect(await blobs.list('')).toEqual([{ path: 'run', isDir: true }]);
      expect((await blobs.read('run/model/model.onnx')).toString()).toBe('abc');
      expect(await blobs.stat('run/model/model.onnx')).toEqual({
        path: 'run/model/model.onnx',
        isDir: false,
        sizeBytes: 3,
      });
      await expect(blobs.read('run/missing')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await expect(blobs.put('../outside', Buffer.from('x'))).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await blobs.delete('run');
      expect(await blobs.list('')).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
