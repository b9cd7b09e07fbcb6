import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';

/** A file and the sha256 of its content. */
export interface FileDigest {
  /** Relative to the working dir, '/'-separated. */
  path: string;
  sha256: string;
  sizeBytes: number;
  mtimeMs: number;
}

/** What a step's cache key covers. Equal parts give equal keys, whatever the key order in the objects. */
export interface CacheKeyParts {
  command: string;
  code: FileDigest[];
  params: Record<string, string>;
  /** Input name -> digest of its content (a file, a glob's files, or an upstream output). */
  inputs: Record<string, string>;
  env: Record<string, string>;
  /** The declared outputs (name -> file): a hit must have produced every one of them. */
  outputs?: Record<string, string>;
  image?: string;
}

/** sha256 (hex) over the canonical JSON of the parts; mtimes and sizes are left out (content decides). */
export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        version: 1,
        command: parts.command,
        code: parts.code
          .map((f) => [f.path, f.sha256])
          .sort(([a], [b]) => String(a).localeCompare(String(b))),
        params: parts.params,
        inputs: parts.inputs,
        env: parts.env,
        outputs: parts.outputs ?? {},
        image: parts.image ?? null,
      }),
    )
    .digest('hex');
}

/** The matching files of each pattern (globs allowed), with content digests, sorted by path. */
export async function digestFiles(
  workingDir: string,
  patterns: readonly string[],
): Promise<{ files: FileDigest[]; unmatched: string[] }> {
  const found = new Map<string, FileDigest>();
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const paths = await matchFiles(workingDir, pattern);
    if (paths.length === 0) unmatched.push(pattern);
    for (const path of paths) {
      if (found.has(path)) continue;
      const absolute = resolve(workingDir, path);
      const info = await stat(absolute);
      found.set(path, {
        path,
        sha256: await sha256File(absolute),
        sizeBytes: info.size,
        mtimeMs: info.mtimeMs,
      });
    }
  }
  return { files: [...found.values()].sort((a, b) => a.path.localeCompare(b.path)), unmatched };
}

/** Files (not folders) matching a path or glob relative to `workingDir`, '/'-separated, sorted. */
export async function matchFiles(workingDir: string, pattern: string): Promise<string[]> {
  const paths = await glob(pattern, {
    cwd: workingDir,
    onlyFiles: true,
    dot: false,
    expandDirectories: false,
  });
  return paths.sort();
}

/** One digest for several files: their paths and contents. */
export function combineDigests(files: readonly FileDigest[]): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\u0000${f.sha256}\n`);
  return hash.digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')))
      .on('error', reject);
  });
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
