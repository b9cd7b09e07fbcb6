import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter, notFound } from '../../core/errors.js';
import type { BlobEntry, BlobStore, PutResult } from './blob-store.js';

const TMP_DIR = '.tmp';

/** A BlobStore on a local folder. Writes go to a temp file first and are renamed into place. */
export function createFsBlobStore(rootDir: string): BlobStore {
  const root = resolve(rootDir);

  const locate = (path: string): string => {
    const full = resolve(root, path);
    if (full !== root && !full.startsWith(root + sep)) {
      throw invalidParameter(`Invalid artifact path '${path}': it resolves outside the artifact root`);
    }
    if (path.split('/')[0] === TMP_DIR)
      throw invalidParameter(`Invalid artifact path '${path}': reserved name`);
    return full;
  };

  const isMissing = (error: unknown): boolean =>
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    (error.code === 'ENOENT' || error.code === 'ENOTDIR');

  return {
    async put(path, data): Promise<PutResult> {
      const target = locate(path);
      const tmpDir = join(root, TMP_DIR);
      await mkdir(tmpDir, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(tmpDir, randomUUID());
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          sizeBytes += chunk.length;
          callback(null, chunk);
        },
      });
      const source = data instanceof Readable ? data : Readable.from([Buffer.from(data)]);
      try {
        await pipeline(source, meter, createWriteStream(tmp));
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return { sizeBytes, sha256: hash.digest('hex') };
    },

    async get(path) {
      const full = locate(path);
      const info = await stat(full).catch((error: unknown) => {
        if (isMissing(error)) return undefined;
        throw error;
      });
      if (info === undefined || !info.isFile()) throw notFound(`Artifact '${path}' does not exist`);
      return createReadStream(full);
    },

    async read(path) {
      try {
        return await readFile(locate(path));
      } catch (error) {
        if (isMissing(error) || (error as { code?: string }).code === 'EISDIR') {
          throw notFound(`Artifact '${path}' does not exist`);
        }
        throw error;
      }
    },

    async stat(path): Promise<BlobEntry | undefined> {
      try {
        const info = await stat(locate(path));
        return info.isDirectory() ? { path, isDir: true } : { path, isDir: false, sizeBytes: info.size };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async list(prefix) {
      const full = locate(prefix);
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(full, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      const result: BlobEntry[] = [];
      for (const entry of entries) {
        if (prefix === '' && entry.name === TMP_DIR) continue;
        const childPath = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
        if (entry.isDirectory()) result.push({ path: childPath, isDir: true });
        else if (entry.isFile()) {
          const info = await stat(join(full, entry.name));
          result.push({ path: childPath, isDir: false, sizeBytes: info.size });
        }
      }
      return result.sort((a, b) => a.path.localeCompare(b.path));
    },

    async delete(path) {
      await rm(locate(path), { recursive: true, force: true });
    },

    describe: (path) => `file://${join(root, path)}`,
  };
}
