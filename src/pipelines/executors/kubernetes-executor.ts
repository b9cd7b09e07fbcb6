import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { invalidState, SlipwayError } from '../../core/errors.js';
import type { ExecutionResult, Executor, StepExecution } from './executor.js';

export interface KubernetesExecutorOptions {
  namespace: string;
  /** Image for steps that name none. */
  image?: string;
  serviceAccount?: string;
  imagePullPolicy?: string;
  /**
   * A PersistentVolumeClaim mounted at the control plane's data dir in every step pod, so the output and input
   * paths the runner passes in env vars mean the same files in the pod.
   */
  dataVolume?: { claimName: string; mountPath: string };
  /**
   * The server's URL as pods reach it (a cluster Service), replacing the control plane's own address in
   * MLFLOW_TRACKING_URI and SLIPWAY_TRACKING_URI.
   */
  trackingUri?: string;
  /** How often a running Job's status is read (default 2 s). */
  pollMs?: number;
  /** Where to find the cluster (default: in-cluster service account, then KUBECONFIG / ~/.kube/config). */
  connection?: () => KubeConnection;
}

/** How to reach a Kubernetes API server. */
export interface KubeConnection {
  server: string;
  token?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** Where it came from, for messages. */
  source: string;
}

/** A batch/v1 Job, as much of it as Slipway writes. */
export type JobManifest = {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
};

const LABEL_PREFIX = 'pipelines.slipway.dev';

/**
 * The Job for one attempt of one step: the command through `sh -c`, the step's env, resources, no Kubernetes
 * retries (`backoffLimit: 0`: the runner retries with its own backoff) and the step's timeout as
 * `activeDeadlineSeconds`.
 */
export function renderJobManifest(execution: StepExecution, options: KubernetesExecutorOptions): JobManifest {
  const image = execution.image ?? options.image;
  if (image === undefined) {
    throw new SlipwayError(
      'INVALID_PARAMETER_VALUE',
      `Step '${execution.step}' has no image: set 'image' on the step or 'kubernetes.image' in the spec`,
    );
  }
  const labels = {
    'app.kubernetes.io/managed-by': 'slipway',
    [`${LABEL_PREFIX}/pipeline`]: labelValue(execution.pipeline),
    [`${LABEL_PREFIX}/run-id`]: labelValue(execution.pipelineRunId),
    [`${LABEL_PREFIX}/step`]: labelValue(execution.step),
  };
  const resources = execution.resources;
  const container: Record<string, unknown> = {
    name: 'step',
    image,
    command: ['sh', '-c', execution.command],
    env: Object.entries({
      ...execution.env,
      ...(options.trackingUri !== undefined && {
        MLFLOW_TRACKING_URI: options.trackingUri,
        SLIPWAY_TRACKING_URI: options.trackingUri,
      }),
    })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ name, value })),
    ...(options.imagePullPolicy !== undefined && { imagePullPolicy: options.imagePullPolicy }),
    ...(resources !== undefined && {
      resources: {
        requests: {
          ...(resources.cpu !== undefined && { cpu: String(resources.cpu) }),
          ...(resources.memory !== undefined && { memory: resources.memory }),
        },
        // Memory is limited to the request so a step that outgrows it is killed, not the node's neighbours.
        ...(resources.memory !== undefined && { limits: { memory: resources.memory } }),
      },
    }),
    ...(options.dataVolume !== undefined && {
      volumeMounts: [{ name: 'slipway-data', mountPath: options.dataVolume.mountPath }],
      workingDir: execution.workingDir,
    }),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(execution), namespace: options.namespace, labels },
    spec: {
      backoffLimit: 0,
      ...(execution.timeoutMs !== undefined && {
        activeDeadlineSeconds: Math.max(1, Math.ceil(execution.timeoutMs / 1000)),
      }),
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(options.serviceAccount !== undefined && { serviceAccountName: options.serviceAccount }),
          containers: [container],
          ...(options.dataVolume !== undefined && {
            volumes: [
              { name: 'slipway-data', persistentVolumeClaim: { claimName: options.dataVolume.claimName } },
            ],
          }),
        },
      },
    },
  };
}

/** DNS-1123 names of at most 63 characters, unique per run, step and attempt. */
function jobName(execution: StepExecution): string {
  const hash = createHash('sha256')
    .update(`${execution.pipelineRunId}/${execution.step}/${execution.attempt}`)
    .digest('hex')
    .slice(0, 10);
  const readable = `${execution.pipeline}-${execution.step}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `sw-${readable}-${hash}`.replace(/-+/g, '-');
}

function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

// The standard locations Kubernetes mounts a pod's service account at (not a machine path of ours).
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Finds the cluster: the pod's service account when running inside one, else the current context of KUBECONFIG
 * (or ~/.kube/config).
 *
 * @throws INVALID_STATE when no cluster is configured.
 */
export function resolveKubeConnection(env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const tokenPath = join(SERVICE_ACCOUNT_DIR, 'token');
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(tokenPath)) {
    const host = env.KUBERNETES_SERVICE_HOST;
    return {
      server: `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
      token: readFileSync(tokenPath, 'utf8').trim(),
      ca: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt')),
      source: 'in-cluster service account',
    };
  }
  const paths = (env.KUBECONFIG ?? join(homedir(), '.kube', 'config')).split(':').filter((p) => p !== '');
  const path = paths.find((p) => existsSync(p));
  if (path === undefined) {
    throw invalidState(
      'No Kubernetes cluster configured for the kubernetes executor: not running in a cluster ' +
        '(KUBERNETES_SERVICE_HOST unset) and no kubeconfig found (KUBECONFIG or ~/.kube/config)',
    );
  }
  return connectionFromKubeconfig(readFileSync(path, 'utf8'), path);
}

type Named<T> = { name: string } & T;
interface Kubeconfig {
  'current-context'?: string;
  contexts?: Named<{ context: { cluster: string; user: string } }>[];
  clusters?: Named<{
    cluster: {
      server: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }>[];
  users?: Named<{
    user: {
      token?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
    };
  }>[];
}

/** The current context's server and credentials from a kubeconfig's text (token or client certificate). */
export function connectionFromKubeconfig(text: string, path: string): KubeConnection {
  const config = (parseYaml(text) ?? {}) as Kubeconfig;
  const contextName = config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  if (context === undefined || cluster === undefined) {
    throw invalidState(
      `Kubeconfig ${path} has no usable current context ('${contextName ?? ''}'): expected a context naming a cluster`,
    );
  }
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const base = resolve(path, '..');
  const bytes = (data: string | undefined, file: string | undefined): Buffer | undefined =>
    data !== undefined
      ? Buffer.from(data, 'base64')
      : file !== undefined
        ? readFileSync(resolve(base, file))
        : undefined;
  const ca = bytes(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = bytes(user['client-certificate-data'], user['client-certificate']);
  const key = bytes(user['client-key-data'], user['client-key']);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(user.token !== undefined && { token: user.token }),
    ...(ca !== undefined && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    ...(cluster['insecure-skip-tls-verify'] === true && { insecureSkipTlsVerify: true }),
    source: `kubeconfig ${path} (context ${contextName})`,
  };
}

/** A tiny Kubernetes API client: JSON over HTTPS with the connection's CA and credentials. */
function kubeRequest(
  connection: KubeConnection,
  method: string,
  path: string,
  body?: object,
): Promise<{ status: number; text: string }> {
  const url = new URL(`${connection.server}${path}`);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolvePromise, reject) => {
    const req = send(
      url,
      {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(connection.token !== undefined && { authorization: `Bearer ${connection.token}` }),
        },
        ...(connection.ca !== undefined && { ca: connection.ca }),
        ...(connection.cert !== undefined && { cert: connection.cert }),
        ...(connection.key !== undefined && { key: connection.key }),
        ...(connection.insecureSkipTlsVerify === true && { rejectUnauthorized: false }),
        timeout: 30_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

interface JobStatus {
  status?: {
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/**
 * Runs each step as a Kubernetes Job, waits for it to finish, and appends the pod's log to the step log. The
 * cluster is looked up at the first step, so a control plane without one starts fine and a pipeline that asks
 * for this executor fails with a clear error.
 */
export function createKubernetesExecutor(options: KubernetesExecutorOptions): Executor {
  const pollMs = options.pollMs ?? 2000;
  return {
    kind: 'kubernetes',
    async run(execution: StepExecution): Promise<ExecutionResult> {
      let connection: KubeConnection;
      let manifest: JobManifest;
      try {
        connection = (options.connection ?? resolveKubeConnection)();
        manifest = renderJobManifest(execution, options);
      } catch (error) {
        return { exitCode: null, timedOut: false, error: (error as Error).message };
      }
      const ns = encodeURIComponent(options.namespace);
      const jobPath = `/apis/batch/v1/namespaces/${ns}/jobs`;
      const created = await kubeRequest(connection, 'POST', jobPath, manifest).catch((error: Error) => ({
        status: 0,
        text: error.message,
      }));
      if (created.status < 200 || created.status >= 300) {
        return {
          exitCode: null,
          timedOut: false,
          error: `Kubernetes (${connection.source}) refused Job ${manifest.metadata.name}: ${created.status} ${created.text.slice(0, 500)}`,
        };
      }
      await appendFile(execution.logPath, `submitted Job ${options.namespace}/${manifest.metadata.name}\n`);
      const name = encodeURIComponent(manifest.metadata.name);
      for (;;) {
        if (execution.signal.aborted) {
          await kubeRequest(connection, 'DELETE', `${jobPath}/${name}?propagationPolicy=Background`).catch(
            () => undefined,
          );
          return { exitCode: null, timedOut: false, error: 'stopped: the control plane shut down' };
        }
        await new Promise((r) => setTimeout(r, pollMs));
        const read = await kubeRequest(connection, 'GET', `${jobPath}/${name}`).catch(() => undefined);
        if (read === undefined || read.status !== 200) continue;
        const job = JSON.parse(read.text) as JobStatus;
        const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
        if ((job.status?.succeeded ?? 0) < 1 && failed === undefined) continue;
        const exitCode = await collectPodLog(
          connection,
          options.namespace,
          manifest.metadata.name,
          execution,
        );
        if (failed?.reason === 'DeadlineExceeded') {
          return { exitCode: null, timedOut: true, error: `timed out after ${execution.timeoutMs} ms` };
        }
        if (failed !== undefined) {
          return {
            exitCode: exitCode ?? null,
            timedOut: false,
            error: `Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
          };
        }
        return { exitCode: exitCode ?? 0, timedOut: false };
      }
    },
  };
}

/** Appends the Job's pod log to the step log; answers the container's exit code when the pod reports one. */
async function collectPodLog(
  connection: KubeConnection,
  namespace: string,
  job: string,
  execution: StepExecution,
): Promise<number | undefined> {
  const ns = encodeURIComponent(namespace);
  const pods = await kubeRequest(
    connection,
    'GET',
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`,
  ).catch(() => undefined);
  if (pods === undefined || pods.status !== 200) return undefined;
  const list = JSON.parse(pods.text) as {
    items?: {
      metadata: { name: string };
      status?: { containerStatuses?: { state?: { terminated?: { exitCode?: number } } }[] };
    }[];
  };
  const pod = list.items?.[0];
  if (pod === undefined) return undefined;
  const log = await kubeRequest(
    connection,
    'GET',
    `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.metadata.name)}/log`,
  ).catch(() => undefined);
  if (log !== undefined && log.status === 200) await appendFile(execution.logPath, log.text);
  return pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
}
