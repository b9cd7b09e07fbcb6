import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../core/request-input.js';
import { type BlobStore, joinArtifactPath, normalizeArtifactPath } from '../storage/index.js';
import { registerMlflowEndpoint } from './mlflow-endpoint.js';
import type { TrackingService } from './service.js';

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * MLflow's artifact proxy (`mlflow server --serve-artifacts`): the client turns `mlflow-artifacts:/...` URIs
 * into these routes, so uploads and downloads go through the server to the blob store.
 */
export function artifactRoutes(deps: { blobs: BlobStore; tracking: TrackingService }) {
  const { blobs, tracking } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    // Uploads carry any content type (the client guesses one from the file name, JSON files included): take
    // the body as a raw stream and never buffer it.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    app.put(
      `${ARTIFACTS}/*`,
      {
        config: { permission: { action: 'write', resource: 'artifact' } },
        schema: { summary: 'Upload an artifact', tags: ['artifacts'] },
      },
      async (request) => {
        const path = normalizeArtifactPath(wildcard(request.params), 'artifact path');
        const body = request.body as Readable | undefined;
        await blobs.put(path, body ?? new Uint8Array());
        return {};
      },
    );

    app.get(
      `${ARTIFACTS}/*`,
      {
        config: { permission: { action: 'read', resource: 'artifact' } },
        schema: { summary: 'Download an artifact', tags: ['artifacts'] },
      },
      async (request, reply) => {
        const path = normalizeArtifactPath(wildcard(request.params), 'artifact path');
        const stream = await blobs.get(path);
        const name = path.split('/').pop() ?? 'artifact';
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${name.replaceAll('"', '')}"`)
          .send(stream);
      },
    );

    app.delete(
      `${ARTIFACTS}/*`,
      {
        config: { permission: { action: 'write', resource: 'artifact' } },
        schema: { summary: 'Delete an artifact', tags: ['artifacts'] },
      },
      async (request) => {
        await blobs.delete(normalizeArtifactPath(wildcard(request.params), 'artifact path'));
        return {};
      },
    );

    app.get(
      ARTIFACTS,
      {
        config: { permission: { action: 'read', resource: 'artifact' } },
        schema: { summary: 'List artifacts under a path', tags: ['artifacts'] },
      },
      async (request) => {
        const input = parseInput(z.object({ path: z.string().optional() }), request.query);
        const path = normalizeArtifactPath(input.path ?? '', 'path');
        const entries = await blobs.list(path);
        const files = entries.map((entry) => ({
          path: entry.path.split('/').pop() ?? entry.path,
          is_dir: entry.isDir,
          ...(entry.sizeBytes !== undefined && { file_size: entry.sizeBytes }),
        }));
        return files.length > 0 ? { files } : {};
      },
    );

    registerMlflowEndpoint(app, {
      method: 'GET',
      path: '/artifacts/list',
      permission: { action: 'read', resource: 'artifact' },
      summary: "List a run's artifacts",
      input: z.object({
        run_id: z.string().min(1).optional(),
        run_uuid: z.string().min(1).optional(),
        path: z.string().optional(),
        page_token: z.string().optional(),
      }),
      handle: async (input) => {
        const runId = input.run_id ?? input.run_uuid;
        if (runId === undefined) return parseInput(z.object({ run_id: z.string() }), {});
        const root = await tracking.artifactRootOf(runId);
        const relative = normalizeArtifactPath(input.path ?? '', 'path');
        const entries = await blobs.list(joinArtifactPath(root, relative));
        const files = entries.map((entry) => ({
          path: entry.path.slice(root.length + 1),
          is_dir: entry.isDir,
          ...(entry.sizeBytes !== undefined && { file_size: entry.sizeBytes }),
        }));
        return {
          root_uri: (await tracking.getRun(runId)).info.artifact_uri,
          ...(files.length > 0 && { files }),
        };
      },
    });
  };
}

// Fastify has already percent-decoded the wildcard.
const wildcard = (params: unknown): string => String((params as { '*'?: string })['*'] ?? '');
