import { invalidParameter } from '../../core/errors.js';

/**
 * Validates a relative artifact path taken from a request and returns it in canonical form (forward slashes,
 * no leading or trailing slash). Rejects anything that could escape the store's root: `..` segments, absolute
 * paths, drive letters, backslashes, NUL bytes. An empty path means the root itself.
 */
export function normalizeArtifactPath(path: string, field = 'path'): string {
  if (path.includes('\0')) throw invalidParameter(`Invalid ${field} '${path}': it contains a NUL byte`);
  if (path.includes('\\')) throw invalidParameter(`Invalid ${field} '${path}': use '/' as the separator`);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    throw invalidParameter(`Invalid ${field} '${path}': expected a relative path, got an absolute one`);
  }
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((segment) => segment === '..')) {
    throw invalidParameter(`Invalid ${field} '${path}': '..' is not allowed in artifact paths`);
  }
  return segments.join('/');
}

/** Joins validated relative paths. */
export const joinArtifactPath = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');
