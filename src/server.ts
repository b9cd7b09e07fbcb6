import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import { type Authorizer, allowAll, installAuthorization } from './auth/index.js';
import { type Clock, systemClock } from './core/clock.js';
import type { ServerConfig } from './core/config.js';
import { isSlipwayError, SlipwayError } from './core/errors.js';
import { newRequestId } from './core/ids.js';
import { createDeploymentService, type DeploymentService, deploymentRoutes } from './deployments/index.js';
import {
  createEnricher,
  createFeatureMetrics,
  createFeatureService,
  createOfflineStore,
  createRedisOnlineStore,
  createSqliteOnlineStore,
  type FeatureService,
  featureRoutes,
} from './features/index.js';
import {
  createMonitoringMetrics,
  createMonitoringService,
  type MonitoringService,
  monitoringRoutes,
} from './monitoring/index.js';
import { createPipelineService, type PipelineService, pipelineRoutes } from './pipelines/index.js';
import { createRegistryService, type RegistryService, registryRoutes } from './registry/index.js';
import {
  type BatchPolicy,
  createJsonlPayloadSink,
  createOnnxRuntime,
  createPayloadLogger,
  createServingMetrics,
  createServingService,
  type ModelRuntime,
  type PayloadLogger,
  type PayloadSink,
  type ServingService,
  servingRoutes,
} from './serving/index.js';
import { type BlobStore, createFsBlobStore, type MetadataDb, openMetadataDb } from './storage/index.js';
import {
  artifactRoutes,
  createTrackingService,
  type TrackingService,
  trackingRoutes,
} from './tracking/index.js';
import { VERSION } from './version.js';

export interface SlipwayServices {
  metadata: MetadataDb;
  blobs: BlobStore;
  tracking: TrackingService;
  registry: RegistryService;
  serving: ServingService;
  deployments: DeploymentService;
  features: FeatureService;
  pipelines: PipelineService;
  monitoring: MonitoringService;
  metrics: MetricsRegistry;
  /** Stops workers, flushes logs, closes the database. */
  close(): Promise<void>;
}

export interface Slipway {
  app: FastifyInstance;
  services: SlipwayServices;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export interface SlipwayOptions {
  authorizer?: Authorizer;
  clock?: Clock;
  /** Pino logger options; `false` silences logs (tests). */
  logger?: boolean | { level: string };
  /**
   * `server` (default): the whole control plane. `serve`: a standalone serving process (inference, metrics,
   * health) for `defaultModel`, reading the registry's database and blob store.
   */
  mode?: 'server' | 'serve';
  defaultModel?: string;
  batchPolicy?: Partial<BatchPolicy>;
  /** Inference payload logging to `<data-dir>/payloads` (default on). */
  payloadLog?: boolean;
  /** Worker threads for inference (default: one per core). */
  inferenceWorkers?: number;
  /** How often the rollout controller runs (default 1 s). */
  controllerTickMs?: number;
  /** `serve` mode: the endpoints this process serves (routed by their traffic policies). */
  endpoints?: string[];
  /** How often monitors are checked for a due run and window profiles are written (default 5 s). */
  monitorTickMs?: number;
  /** Inference log files older than this are deleted (default 168 h, a week). */
  payloadRetentionHours?: number;
  /** Length of the window-profile buckets (default 60 s). */
  monitorBucketMs?: number;
  /** How often pipeline schedules and data triggers are checked (default 1 s). */
  pipelineTickMs?: number;
}

/** Builds the storage and services for a configuration: the one place adapters are chosen. */
export async function createServices(
  config: ServerConfig,
  options: Pick<
    SlipwayOptions,
    | 'clock'
    | 'batchPolicy'
    | 'payloadLog'
    | 'inferenceWorkers'
    | 'controllerTickMs'
    | 'endpoints'
    | 'pipelineTickMs'
    | 'monitorTickMs'
    | 'monitorBucketMs'
    | 'payloadRetentionHours'
  > = {},
): Promise<SlipwayServices> {
  const clock = options.clock ?? systemClock;
  const metadata = await openMetadataDb(config.db);
  const blobs = createFsBlobStore(config.artifactsDir);
  const tracking = createTrackingService({ metadata, clock });
  const registry = createRegistryService({ metadata, blobs, clock, tracking });
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'slipway_' });
  const servingMetrics = createServingMetrics(metrics);
  const runtime = lazyRuntime(() =>
    createOnnxRuntime({
      ...(options.inferenceWorkers !== undefined && { workers: options.inferenceWorkers }),
    }),
  );
  let payloadLogger: PayloadLogger | undefined;
  // Monitoring needs serving (to profile a reference's predictions) and sees every logged batch, so it is bound
  // after both exist.
  let monitoring: MonitoringService | undefined;
  if (options.payloadLog !== false) {
    const files = createJsonlPayloadSink(join(config.dataDir, 'payloads'));
    const sink: PayloadSink = {
      write: (records) =>
        monitoring === undefined ? files.write(records) : monitoring.sink(files).write(records),
      close: () => files.close(),
    };
    payloadLogger = createPayloadLogger(sink, {
      maxBuffered: 10_000,
      flushIntervalMs: 1000,
      maxBatch: 500,
      onWritten: (n) => servingMetrics.payloadLogged.inc(n),
      onDropped: (n) => servingMetrics.payloadDropped.inc(n),
    });
  }
  const serving = createServingService({
    registry,
    blobs,
    runtime,
    metrics: servingMetrics,
    ...(payloadLogger !== undefined && { payloadLogger }),
    sampleLog: (endpoint) => monitoring?.sampleLog(endpoint) ?? true,
    batchPolicy: {
      maxConcurrentBatches: options.inferenceWorkers ?? availableParallelism(),
      ...options.batchPolicy,
    },
  });
  const deployments = createDeploymentService({
    metadata,
    registry,
    serving,
    clock,
    ...(options.controllerTickMs !== undefined && { tickMs: options.controllerTickMs }),
    ...(options.endpoints !== undefined && { endpoints: options.endpoints }),
  });
  // The online store is chosen here, once: Redis when configured, else an embedded SQLite file.
  const features = createFeatureService({
    metadata,
    clock,
    online: config.onlineStore.startsWith('sqlite:')
      ? createSqliteOnlineStore(config.onlineStore.slice('sqlite:'.length))
      : createRedisOnlineStore(config.onlineStore),
    // Bounded: large point-in-time joins and materializations spill to disk instead of growing the process.
    offline: createOfflineStore({ memoryLimit: '2GB', tempDirectory: join(config.dataDir, 'duckdb-tmp') }),
    logInputs: (runId, datasets) => tracking.logInputs(runId, datasets),
  });
  await features.refresh();
  // Other processes (serving replicas, other control planes) apply definitions and bindings too.
  features.watch(5000);
  const pipelines = createPipelineService({
    metadata,
    tracking,
    registry,
    deployments,
    blobs,
    clock,
    dataDir: config.dataDir,
    trackingUri: `http://${config.host}:${config.port}`,
    ...(options.pipelineTickMs !== undefined && { schedulerTickMs: options.pipelineTickMs }),
  });
  monitoring = createMonitoringService({
    metadata,
    registry,
    serving,
    deployments,
    clock,
    metrics: createMonitoringMetrics(metrics),
    ...(options.monitorTickMs !== undefined && {
      tickMs: options.monitorTickMs,
      flushIntervalMs: options.monitorTickMs,
    }),
    ...(options.monitorBucketMs !== undefined && { bucketMs: options.monitorBucketMs }),
    ...(payloadLogger !== undefined && {
      flushPayloads: (payloadLogger as PayloadLogger).flush,
      inferenceLog: {
        dir: join(config.dataDir, 'payloads'),
        retentionMs: (options.payloadRetentionHours ?? 168) * 3_600_000,
      },
    }),
    triggerPipeline: async (name, trigger) => {
      const run = await pipelines.triggerPipeline(name, trigger);
      return { run_id: run.id };
    },
  });
  return {
    metadata,
    blobs,
    tracking,
    registry,
    serving,
    deployments,
    features,
    pipelines,
    monitoring,
    metrics,
    async close() {
      await monitoring?.stop();
      // Running pipeline steps end first (their runs stay resumable), while the database is still open.
      await pipelines.stop();
      deployments.stop();
      await features.close();
      await serving.drain();
      await runtime.close();
      await payloadLogger?.close();
      await metadata.close();
    },
  };
}

/** The ONNX worker pool starts on first use, so a control plane that serves nothing spends nothing on it. */
function lazyRuntime(create: () => ModelRuntime): ModelRuntime {
  let runtime: ModelRuntime | undefined;
  return {
    load: (model, options) => {
      runtime ??= create();
      return runtime.load(model, options);
    },
    close: async () => runtime?.close(),
  };
}

/** Composes the domain plugins into one Fastify app. */
export async function createSlipway(config: ServerConfig, options: SlipwayOptions = {}): Promise<Slipway> {
  const services = await createServices(config, options);
  const mode = options.mode ?? 'server';
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    requestIdHeader: 'x-request-id',
    genReqId: () => newRequestId(),
    // MLflow's log-batch with 1000 metrics and long tag values fits well within this; artifacts stream instead.
    bodyLimit: 16 * 1024 * 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  // Bodies are validated by each route's zod schema (MLflow-style messages); the JSON schemas derived from them
  // only document the API.
  app.setValidatorCompiler(() => () => true);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    const error = new SlipwayError(
      'ENDPOINT_NOT_FOUND',
      `No API endpoint ${request.method} ${request.url.split('?')[0]}`,
    );
    void reply.status(error.status).send(errorBody(request.url, error));
  });
  // Synchronous hooks: they run on every request, and async ones cost a promise each. The request id is set as
  // the request comes in (replies, errors included, keep it), so no onSend hook runs on every reply.
  // Counted so a shutdown can prove that every request it took in was answered.
  const traffic = { received: 0, answered: 0 };
  app.addHook('onRequest', (request, reply, done) => {
    traffic.received++;
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    traffic.answered++;
    done();
  });
  installAuthorization(app, options.authorizer ?? allowAll);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Slipway',
        version: VERSION,
        description: 'MLflow-compatible tracking and registry, serving, rollouts.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get(
    '/health',
    { config: { public: true }, schema: { summary: 'Liveness and database check', tags: ['system'] } },
    async (_request, reply) => {
      try {
        await sql`select 1`.execute(services.metadata.db);
        return { status: 'ok', version: VERSION, database: services.metadata.dialect };
      } catch (error) {
        return reply.status(503).send({ status: 'unavailable', version: VERSION, error: String(error) });
      }
    },
  );
  // MLflow clients and UIs probe these.
  app.get('/version', { config: { public: true }, schema: { hide: true } }, async () => VERSION);

  app.get(
    '/metrics',
    { config: { public: true }, schema: { summary: 'Prometheus metrics', tags: ['system'] } },
    async (_request, reply) =>
      reply.type(services.metrics.contentType).send(await services.metrics.metrics()),
  );

  if (mode === 'server') {
    await app.register(trackingRoutes(services.tracking));
    await app.register(artifactRoutes({ blobs: services.blobs, tracking: services.tracking }));
    await app.register(registryRoutes(services.registry));
  }
  let defaultModel: string | undefined;
  await app.register(
    servingRoutes(services.serving, {
      defaultModel: () => defaultModel,
      router: services.deployments,
      enricher: createEnricher(services.features),
    }),
  );
  if (mode === 'server') await app.register(deploymentRoutes(services.deployments));
  if (mode === 'server')
    await app.register(featureRoutes(services.features, createFeatureMetrics(services.metrics)));
  if (mode === 'server') {
    await app.register(pipelineRoutes(services.pipelines));
    // Steps reach this server at the address it actually listens on (port 0 picks one at listen time).
    app.addHook('onListen', (done) => {
      const address = app.server.address();
      if (address !== null && typeof address === 'object') {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
        services.pipelines.setTrackingUri(`http://${reachable}:${address.port}`);
      }
      done();
    });
    await services.pipelines.start();
  }
  // The control plane routes every endpoint; a serving process only the endpoints it was started for. A rollout is
  // driven by one process at a time (a lease), from the traffic it sees.
  if (mode === 'server' || options.endpoints !== undefined) await services.deployments.start();
  // Every serving process profiles its own traffic into window profiles; the control plane also runs the
  // schedule (one process per monitor at a time, by lease) and serves the monitoring API.
  if (mode === 'server') await app.register(monitoringRoutes(services.monitoring));
  await services.monitoring.start({ schedule: mode === 'server' });
  if (options.defaultModel !== undefined)
    defaultModel = (await services.serving.load(options.defaultModel)).name;

  return {
    app,
    services,
    async close() {
      // Stop accepting and let in-flight requests finish, then drain queues, stop workers, flush, close the DB.
      await app.close();
      await services.close();
      app.log.info({ received: traffic.received, answered: traffic.answered }, 'drained');
    },
  };
}

/** V2 inference routes answer `{"error": ...}`; everything else answers MLflow's `{"error_code", "message"}`. */
function errorBody(url: string, error: SlipwayError): object {
  if (url.startsWith('/v2')) return { error: error.message };
  return { error_code: error.code, message: error.message };
}

function toSlipwayError(error: FastifyError | Error): SlipwayError {
  if (isSlipwayError(error)) return error;
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code =
      status === 404 ? 'ENDPOINT_NOT_FOUND' : status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'BAD_REQUEST';
    return new SlipwayError(code, `Malformed request: ${error.message}`, { status });
  }
  return new SlipwayError(
    'INTERNAL_ERROR',
    'Internal server error; the request id is in the x-request-id header',
  );
}

function errorHandler(
  this: FastifyInstance,
  error: FastifyError | Error,
  request: import('fastify').FastifyRequest,
  reply: import('fastify').FastifyReply,
): void {
  const mapped = toSlipwayError(error);
  if (mapped.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: mapped.code, msg: mapped.message }, 'request rejected');
  void reply.status(mapped.status).send(errorBody(request.url, mapped));
}
