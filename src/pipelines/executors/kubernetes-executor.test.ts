import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepExecution } from './executor.js';
import {
  connectionFromKubeconfig,
  createKubernetesExecutor,
  renderJobManifest,
  resolveKubeConnection,
} from './kubernetes-executor.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-k8s-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const execution = (overrides: Partial<StepExecution> = {}): StepExecution => ({
  pipeline: 'Flights_Delay',
  pipelineRunId: '0123456789abcdef0123456789abcdef',
  step: 'train',
  attempt: 2,
  command: "python train.py --lr '0.1'",
  workingDir: join(dir, 'work'),
  env: { MLFLOW_RUN_ID: 'r1', MLFLOW_TRACKING_URI: 'http://slipway:5000', SLIPWAY_PARAM_LR: '0.1' },
  logPath: join(dir, 'step.log'),
  signal: new AbortController().signal,
  ...overrides,
});

describe('renderJobManifest', () => {
  it('renders a batch/v1 Job: command, env, resources, no k8s retries, deadline from the timeout', () => {
    const job = renderJobManifest(
      execution({
        timeoutMs: 90_500,
        image: 'ghcr.io/acme/trainer:1.2',
        resources: { cpu: 2, memory: '4Gi' },
      }),
      { namespace: 'ml', serviceAccount: 'pipelines', imagePullPolicy: 'IfNotPresent' },
    );
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata.namespace).toBe('ml');
    expect(job.metadata.name).toMatch(/^sw-flights-delay-train-[0-9a-f]{10}$/);
    expect(job.metadata.name.length).toBeLessThanOrEqual(63);
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'slipway',
      'pipelines.slipway.dev/pipeline': 'Flights_Delay',
      'pipelines.slipway.dev/step': 'train',
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 91 });
    const pod = (job.spec.template as { spec: Record<string, unknown> }).spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.serviceAccountName).toBe('pipelines');
    expect(pod.containers).toEqual([
      {
        name: 'step',
        image: 'ghcr.io/acme/trainer:1.2',
        command: ['sh', '-c', "python train.py --lr '0.1'"],
        env: [
          { name: 'MLFLOW_RUN_ID', value: 'r1' },
          { name: 'MLFLOW_TRACKING_URI', value: 'http://slipway:5000' },
          { name: 'SLIPWAY_PARAM_LR', value: '0.1' },
        ],
        imagePullPolicy: 'IfNotPresent',
        resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } },
      },
    ]);
  });

  it('gives each attempt its own name, mounts the shared data volume, and needs an image', () => {
    const options = {
      namespace: 'ml',
      image: 'python:3.12',
      dataVolume: { claimName: 'slipway-data', mountPath: dir },
    };
    const a = renderJobManifest(execution({ attempt: 1 }), options);
    const b = renderJobManifest(execution({ attempt: 2 }), options);
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.spec).not.toHaveProperty('activeDeadlineSeconds');
    const pod = (a.spec.template as { spec: { volumes: unknown[]; containers: Record<string, unknown>[] } })
      .spec;
    expect(pod.volumes).toEqual([
      { name: 'slipway-data', persistentVolumeClaim: { claimName: 'slipway-data' } },
    ]);
    expect(pod.containers[0]).toMatchObject({
      image: 'python:3.12',
      workingDir: join(dir, 'work'),
      volumeMounts: [{ name: 'slipway-data', mountPath: dir }],
    });
    expect(() => renderJobManifest(execution(), { namespace: 'ml' })).toThrow(/Step 'train' has no image/);
    const inCluster = renderJobManifest(execution(), {
      ...options,
      trackingUri: 'http://slipway.ml.svc:5000',
    });
    const env = (
      inCluster.spec.template as { spec: { containers: { env: { name: string; value: string }[] }[] } }
    ).spec.containers[0]?.env;
    expect(env).toContainEqual({ name: 'MLFLOW_TRACKING_URI', value: 'http://slipway.ml.svc:5000' });
  });
});

describe('cluster connection', () => {
  it('fails clearly when no cluster is configured', async () => {
    const env = { KUBECONFIG: join(dir, 'missing-kubeconfig') };
    expect(() => resolveKubeConnection(env)).toThrow(/No Kubernetes cluster configured/);
    const executor = createKubernetesExecutor({
      namespace: 'ml',
      image: 'python:3.12',
      connection: () => resolveKubeConnection(env),
    });
    const result = await executor.run(execution());
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/No Kubernetes cluster configured/);
  });

  it("reads the current context's server and credentials from a kubeconfig", async () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
    await writeFile(join(dir, 'ca.crt'), ca);
    const path = join(dir, 'kubeconfig');
    await writeFile(
      path,
      `apiVersion: v1
kind: Config
current-context: prod
contexts:
  - name: dev
    context: { cluster: dev, user: dev }
  - name: prod
    context: { cluster: prod, user: robot }
clusters:
  - name: dev
    cluster: { server: "https://dev:6443" }
  - name: prod
    cluster:
      server: "https://prod.example:6443/"
      certificate-authority: ca.crt
users:
  - name: robot
    user: { token: s3cr3t }
`,
    );
    const connection = resolveKubeConnection({ KUBECONFIG: path });
    expect(connection).toMatchObject({ server: 'https://prod.example:6443', token: 's3cr3t' });
    expect(connection.ca?.equals(await readFile(join(dir, 'ca.crt')))).toBe(true);
    expect(() => connectionFromKubeconfig('current-context: nope\n', path)).toThrow(
      /no usable current context/,
    );
  });
});

const cluster = (() => {
  try {
    return resolveKubeConnection();
  } catch {
    return undefined;
  }
})();

describe.skipIf(cluster === undefined)('on a real cluster', () => {
  it('submits a Job, waits for it and collects the pod log', async () => {
    const executor = createKubernetesExecutor({
      namespace: process.env.SLIPWAY_TEST_NAMESPACE ?? 'default',
      image: 'busybox:1.36',
      pollMs: 500,
    });
    const logPath = join(dir, 'cluster.log');
    const result = await executor.run(
      execution({ command: 'echo hello from $SLIPWAY_PARAM_LR; exit 0', logPath, timeoutMs: 120_000 }),
    );
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(await readFile(logPath, 'utf8')).toContain('hello from 0.1');
  }, 180_000);
});
