import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { invalidParameter, SlipwayError } from '../core/errors.js';
import type { ModelVersionDetail } from '../registry/index.js';
import { createClient, SlipwayApiError } from '../sdk/index.js';

/** A model version the gate evaluates: what the reference resolved to, and its ONNX bytes. */
export interface FetchedModel {
  /** The reference as given, e.g. `flights@champion`. */
  ref: string;
  name: string;
  version: string;
  aliases: string[];
  tags: Record<string, string>;
  bytes: Uint8Array;
  /** sha256 of the bytes, hex. */
  digest: string;
}

const ARTIFACTS_SCHEME = 'mlflow-artifacts:/';
const ARTIFACTS_ROUTE = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * `MODEL@VERSION` (digits), `MODEL@ALIAS`, `MODEL/VERSION`, `MODEL` (latest), each optionally as a
 * `models:/...` URI, in the form the server's resolve route takes.
 */
export function normalizeModelRef(ref: string): string {
  const bare = ref.trim().replace(/^models:\/+/, '');
  const at = bare.lastIndexOf('@');
  if (at > 0 && /^\d+$/.test(bare.slice(at + 1))) return `${bare.slice(0, at)}/${bare.slice(at + 1)}`;
  return bare;
}

/**
 * Resolves a model reference through the server and downloads its ONNX file through the artifact routes,
 * checking the bytes against the digest the registry recorded.
 * @throws SlipwayError naming `field` (e.g. `--candidate`) when the reference or its files cannot be found.
 */
export async function fetchModel(
  server: { trackingUri: string; token?: string },
  ref: string,
  field: string,
): Promise<FetchedModel> {
  const base = server.trackingUri.replace(/\/+$/, '');
  const client = createClient({ baseUrl: base, ...(server.token !== undefined && { token: server.token }) });
  let detail: ModelVersionDetail;
  try {
    detail = await client.resolveModel(normalizeModelRef(ref));
  } catch (error) {
    if (error instanceof SlipwayApiError && error.status < 500) {
      throw invalidParameter(
        `Cannot resolve ${field} '${ref}': ${error.message}. Expected MODEL@VERSION, MODEL@ALIAS or MODEL/VERSION of a registered model`,
      );
    }
    throw error;
  }
  const version = detail.model_version;
  const describe = `${field} '${ref}' (${version.name} v${version.version})`;
  if (detail.flavor !== undefined && detail.flavor !== 'onnx') {
    throw invalidParameter(`${describe} is a '${detail.flavor}' model: the gate evaluates ONNX models`);
  }
  const headers: Record<string, string> =
    server.token === undefined ? {} : { authorization: `Bearer ${server.token}` };
  const blobPath = await artifactPathOf(client, version.source, version.run_id, describe);
  const onnxPath = await findOnnxFile(base, headers, blobPath, describe);
  const response = await fetch(`${base}${ARTIFACTS_ROUTE}/${encodePath(onnxPath)}`, { headers });
  if (!response.ok) {
    throw new SlipwayError(
      response.status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'INTERNAL_ERROR',
      `Cannot download ${describe} from ${onnxPath}: the server answered ${response.status}`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (detail.content_digest !== undefined && detail.content_digest !== digest) {
    throw new SlipwayError(
      'INVALID_STATE',
      `${describe}: downloaded file has sha256 ${digest}, but the registry recorded ${detail.content_digest}`,
    );
  }
  return {
    ref,
    name: version.name,
    version: version.version,
    aliases: version.aliases ?? [],
    tags: Object.fromEntries((version.tags ?? []).map((t) => [t.key, t.value])),
    bytes,
    digest,
  };
}

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** Maps a version's source to a path under the artifact routes: `mlflow-artifacts:/...` or `runs:/<id>/...`. */
async function artifactPathOf(
  client: ReturnType<typeof createClient>,
  source: string,
  runId: string | undefined,
  describe: string,
): Promise<string> {
  if (source.startsWith(ARTIFACTS_SCHEME)) return source.slice(ARTIFACTS_SCHEME.length).replace(/^\/+/, '');
  const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (runs !== null) {
    const run = await client.getRun(runs[1] ?? runId ?? '');
    const root = run.info.artifact_uri;
    if (!root.startsWith(ARTIFACTS_SCHEME)) {
      throw invalidParameter(
        `${describe}: its run stores artifacts at ${root}, which this server does not proxy`,
      );
    }
    const relative = runs[2] ?? '';
    const rootPath = root.slice(ARTIFACTS_SCHEME.length).replace(/^\/+|\/+$/g, '');
    return relative === '' ? rootPath : `${rootPath}/${relative.replace(/^\/+/, '')}`;
  }
  throw invalidParameter(
    `${describe}: source '${source}' is not stored on this server; expected runs:/... or mlflow-artifacts:/...`,
  );
}

/** The ONNX file itself, the file an MLflow `MLmodel` names, or the folder's only .onnx file. */
async function findOnnxFile(
  base: string,
  headers: Record<string, string>,
  path: string,
  describe: string,
): Promise<string> {
  if (path.endsWith('.onnx')) return path;
  const listing = await fetch(`${base}${ARTIFACTS_ROUTE}?path=${encodeURIComponent(path)}`, { headers });
  const files = listing.ok
    ? (((await listing.json()) as { files?: { path: string; is_dir: boolean }[] }).files ?? [])
    : [];
  const mlmodel = files.find((f) => !f.is_dir && f.path === 'MLmodel');
  if (mlmodel !== undefined) {
    const text = await (
      await fetch(`${base}${ARTIFACTS_ROUTE}/${encodePath(`${path}/MLmodel`)}`, { headers })
    ).text();
    const data = (parseYaml(text) as { flavors?: { onnx?: { data?: unknown } } } | null)?.flavors?.onnx?.data;
    if (typeof data === 'string') return `${path}/${data}`;
  }
  const onnx = files.filter((f) => !f.is_dir && f.path.endsWith('.onnx'));
  if (onnx.length === 1) return `${path}/${(onnx[0] as { path: string }).path}`;
  throw invalidParameter(
    onnx.length === 0
      ? `${describe}: no .onnx file under ${path}; the gate evaluates ONNX models`
      : `${describe}: ${onnx.length} .onnx files under ${path} and no MLmodel saying which one to use`,
  );
}
