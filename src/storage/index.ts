export { joinArtifactPath, normalizeArtifactPath } from './blobs/artifact-path.js';
export type { BlobEntry, BlobStore, PutResult } from './blobs/blob-store.js';
export { createFsBlobStore } from './blobs/fs-blob-store.js';
export { type MetadataDb, openMetadataDb } from './db.js';
export { leaseAvailableTo } from './lease.js';
export type { DialectName } from './migrations/index.js';
export type * from './schema.js';
