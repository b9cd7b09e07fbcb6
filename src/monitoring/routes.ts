import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidParameter } from '../core/errors.js';
import { parseInput } from '../core/request-input.js';
import { ALERT_METRICS } from './alert-rule.js';
import type { DatasetSource } from './dataset-reader.js';
import { renderComparisonHtml, renderMonitorReportHtml } from './report-html.js';
import { driftTestsSchema, type MonitoringService } from './service.js';

const read = { action: 'read', resource: 'monitor' } as const;
const write = { action: 'write', resource: 'monitor' } as const;
// Reading server-side files and running DuckDB queries is an administrator's power.
const admin = { action: 'admin', resource: 'monitor' } as const;
const endpointParams = z.object({ endpoint: z.string().min(1) });
const ruleParams = z.object({ endpoint: z.string().min(1), name: z.string().min(1) });
const versionParams = z.object({
  name: z.string().min(1),
  version: z.string().regex(/^\d+$/, 'expected a version number'),
});

const sourceSchema = z.union([
  z.strictObject({
    path: z.string().min(1),
    where: z.string().optional(),
    limit: z.number().int().positive().optional(),
  }),
  z.strictObject({ sql: z.string().min(1) }),
]);

const labelSchema = z.object({
  labels: z
    .array(
      z.strictObject({
        request_id: z.string().min(1, 'expected the x-request-id of the prediction'),
        row: z.number().int().min(0).optional(),
        label: z
          .union([z.number(), z.boolean()])
          .transform((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)),
      }),
    )
    .min(1, 'expected at least one label')
    .max(100_000, 'expected at most 100,000 labels per call'),
});

const ruleSchema = z.strictObject({
  expression: z.string().min(1, "expected e.g. 'drift_share >= 0.5' or 'auc < 0.8 for 10m'"),
  webhook_url: z.string().optional(),
  webhook_format: z.enum(['json', 'slack']).optional(),
  pipeline: z.string().min(1).optional(),
});

const timeSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' || /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 time or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const reportQuery = z.object({
  from: timeSchema.optional(),
  to: timeSchema.optional(),
  format: z.enum(['json', 'html']).default('json'),
});

const compareSchema = z.strictObject({
  reference: sourceSchema,
  current: sourceSchema,
  columns: z.array(z.string().min(1)).min(1).optional(),
  drift_share: z.number().gt(0).max(1).optional(),
  tests: driftTestsSchema.optional(),
  format: z.enum(['json', 'html']).default('json'),
});

/** Monitoring API: monitors per endpoint, references, labels, runs, reports, alert rules. */
export function monitoringRoutes(monitoring: MonitoringService) {
  return async (app: FastifyInstance): Promise<void> => {
    const tags = ['monitoring'];
    app.get(
      '/api/v1/monitors',
      { config: { permission: read }, schema: { summary: 'Every monitor with its latest result', tags } },
      async () => ({ monitors: await monitoring.list() }),
    );

    app.put(
      '/api/v1/endpoints/:endpoint/monitor',
      { config: { permission: write }, schema: { summary: 'Create or change an endpoint monitor', tags } },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        if (request.body !== undefined && (typeof request.body !== 'object' || request.body === null))
          throw invalidParameter('monitor: expected a JSON object of settings');
        return monitoring.configure(endpoint, request.body ?? {});
      },
    );
    app.get(
      '/api/v1/endpoints/:endpoint/monitor',
      {
        config: { permission: read },
        schema: { summary: 'Monitor settings, label counts, latest result', tags },
      },
      async (request) => monitoring.get(parseInput(endpointParams, request.params).endpoint),
    );
    app.delete(
      '/api/v1/endpoints/:endpoint/monitor',
      { config: { permission: write }, schema: { summary: 'Remove a monitor', tags } },
      async (request) => {
        await monitoring.remove(parseInput(endpointParams, request.params).endpoint);
        return {};
      },
    );
    app.post(
      '/api/v1/endpoints/:endpoint/monitor/run',
      {
        config: { permission: write },
        schema: {
          summary: 'Run the monitor now over its window (or over from/to), evaluating alert rules',
          tags,
        },
      },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        const body = parseInput(
          z.object({ from: timeSchema.optional(), to: timeSchema.optional() }),
          request.body,
        );
        if ((body.from === undefined) !== (body.to === undefined))
          throw invalidParameter("run: give both 'from' and 'to', or neither");
        const window = body.from === undefined ? undefined : { start: body.from, end: body.to as number };
        return monitoring.run(endpoint, undefined, window);
      },
    );
    app.get(
      '/api/v1/endpoints/:endpoint/monitor/results',
      { config: { permission: read }, schema: { summary: 'Recent monitor runs, newest first', tags } },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        const { limit } = parseInput(
          z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) }),
          request.query,
        );
        return { results: await monitoring.results(endpoint, limit) };
      },
    );
    app.get(
      '/api/v1/endpoints/:endpoint/monitor/report',
      {
        config: { permission: read },
        schema: { summary: 'Drift, quality, performance and latency for an interval (JSON or HTML)', tags },
      },
      async (request, reply) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        const query = parseInput(reportQuery, request.query);
        const to = query.to ?? Date.now();
        const from = query.from ?? to - 86_400_000;
        const report = await monitoring.report(endpoint, from, to);
        if (query.format === 'html')
          return reply.type('text/html; charset=utf-8').send(renderMonitorReportHtml(report));
        return report;
      },
    );

    app.post(
      '/api/v1/endpoints/:endpoint/labels',
      {
        config: { permission: write },
        schema: { summary: 'Ground-truth labels for logged predictions, by request id', tags },
      },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        const { labels } = parseInput(labelSchema, request.body);
        return monitoring.ingestLabels(endpoint, labels);
      },
    );

    app.get(
      '/api/v1/endpoints/:endpoint/alert-rules',
      { config: { permission: read }, schema: { summary: 'Alert rules and their states', tags } },
      async (request) => ({
        rules: await monitoring.rules(parseInput(endpointParams, request.params).endpoint),
      }),
    );
    app.put(
      '/api/v1/endpoints/:endpoint/alert-rules/:name',
      { config: { permission: write }, schema: { summary: 'Create or change an alert rule', tags } },
      async (request) => {
        const { endpoint, name } = parseInput(ruleParams, request.params);
        const body = parseInput(ruleSchema, request.body);
        return monitoring.addRule(endpoint, {
          name,
          expression: body.expression,
          ...(body.webhook_url !== undefined && { webhook_url: body.webhook_url }),
          ...(body.webhook_format !== undefined && { webhook_format: body.webhook_format }),
          ...(body.pipeline !== undefined && { pipeline: body.pipeline }),
        });
      },
    );
    app.delete(
      '/api/v1/endpoints/:endpoint/alert-rules/:name',
      { config: { permission: write }, schema: { summary: 'Remove an alert rule', tags } },
      async (request) => {
        const { endpoint, name } = parseInput(ruleParams, request.params);
        await monitoring.deleteRule(endpoint, name);
        return {};
      },
    );
    app.get(
      '/api/v1/endpoints/:endpoint/alert-events',
      { config: { permission: read }, schema: { summary: 'Alert transitions and their deliveries', tags } },
      async (request) => ({
        events: await monitoring.events(parseInput(endpointParams, request.params).endpoint),
      }),
    );
    app.get(
      '/api/v1/monitoring/alert-metrics',
      { config: { permission: read }, schema: { summary: 'Metrics alert rules can name', tags } },
      async () => ({ metrics: ALERT_METRICS }),
    );

    app.put(
      '/api/v1/models/:name/versions/:version/reference',
      {
        config: { permission: admin },
        schema: { summary: "Set a version's reference profile from a dataset (file or DuckDB query)", tags },
      },
      async (request) => {
        const { name, version } = parseInput(versionParams, request.params);
        const source = parseInput(sourceSchema, request.body) as DatasetSource;
        const label = 'sql' in source ? `query: ${source.sql}` : source.path;
        return monitoring.captureReference(name, version, source, label);
      },
    );
    app.get(
      '/api/v1/models/:name/versions/:version/reference',
      { config: { permission: read }, schema: { summary: "A version's reference profile", tags } },
      async (request) => {
        const { name, version } = parseInput(versionParams, request.params);
        return monitoring.reference(name, version);
      },
    );

    app.post(
      '/api/v1/monitoring/compare',
      {
        config: { permission: admin },
        schema: { summary: 'Drift and data quality of one dataset against another (JSON or HTML)', tags },
      },
      async (request, reply) => {
        const body = parseInput(compareSchema, request.body);
        const comparison = await monitoring.compareDatasets(
          body.reference as DatasetSource,
          body.current as DatasetSource,
          {
            ...(body.columns !== undefined && { columns: body.columns }),
            ...(body.drift_share !== undefined && { driftShare: body.drift_share }),
            ...(body.tests !== undefined && { tests: body.tests }),
          },
        );
        if (body.format === 'html')
          return reply
            .type('text/html; charset=utf-8')
            .send(renderComparisonHtml('Dataset drift', comparison));
        return comparison;
      },
    );
  };
}
