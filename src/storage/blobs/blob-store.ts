import type { Readable } from 'node:stream';

/** One entry of a listing: a file with its size, or a folder. Paths are relative to the store's root. */
export interface BlobEntry {
  path: string;
  isDir: boolean;
  sizeBytes?: number;
}

export interface PutResult {
  sizeBytes: number;
  /** Hex sha256 of the stored bytes. */
  sha256: string;
}

/**
 * Where artifacts and model files live. Paths are relative, '/'-separated and already validated with
 * `normalizeArtifactPath`; adapters must still refuse anything that resolves outside their root.
 */
export interface BlobStore {
  /** Stores the bytes atomically: readers see the old object or the whole new one, never a part. */
  put(path: string, data: Readable | Uint8Array): Promise<PutResult>;
  /** A stream of the object's bytes; throws RESOURCE_DOES_NOT_EXIST when absent. */
  get(path: string): Promise<Readable>;
  /** The whole object in memory; for small objects (model files, metadata). */
  read(path: string): Promise<Buffer>;
  /** Information on one path, or undefined when there is nothing there. */
  stat(path: string): Promise<BlobEntry | undefined>;
  /** The direct children of a folder (empty when the folder does not exist). */
  list(prefix: string): Promise<BlobEntry[]>;
  /** Removes an object or a whole folder; absent paths are not an error. */
  delete(path: string): Promise<void>;
  /** A URI for logs and `storage_location` fields. */
  describe(path: string): string;
}
