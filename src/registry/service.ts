import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Clock } from '../core/clock.js';
import { alreadyExists, invalidParameter, notFound } from '../core/errors.js';
import { decodePageToken, encodePageToken } from '../core/page-token.js';
import type { BlobStore, MetadataDb, ModelVersionTable } from '../storage/index.js';
import { joinArtifactPath, normalizeArtifactPath } from '../storage/index.js';
import {
  GIT_COMMIT_TAG,
  modelVersionSearchGrammar,
  type Page,
  parseOrderBy,
  parseSearchFilter,
  type Run,
  registeredModelSearchGrammar,
  type TrackingService,
} from '../tracking/index.js';
import {
  type KeyValue,
  type Lineage,
  type ModelCard,
  type ModelVersion,
  type ModelVersionDetail,
  type RegisteredModel,
  STAGES,
  type Stage,
} from './model.js';
import { renderModelCard } from './model-card.js';
import { type ModelSignature, readOnnxSignature } from './onnx-signature.js';
import { createRegistryStore, type Db } from './store.js';

export interface RegistryDeps {
  metadata: MetadataDb;
  blobs: BlobStore;
  clock: Clock;
  tracking: TrackingService;
}

const limits = {
  searchModelsDefault: 100,
  searchModelsMax: 1000,
  searchVersionsDefault: 10000,
  searchVersionsMax: 200000,
  tagKeyLength: 250,
  tagValueLength: 100000,
  aliasLength: 255,
  nameLength: 500,
};

const ARTIFACTS_SCHEME = 'mlflow-artifacts:/';

/** Where a version's model files are, resolved from its `source` and run. */
interface ResolvedSource {
  /** Blob-store path of the model file or folder, when the source is one this server stores. */
  blobPath?: string;
}

/**
 * The model registry: MLflow's registered models and versions, plus what Slipway records at registration: the
 * signature read from the ONNX file, the lineage (run, datasets, code version) and a model card.
 */
export function createRegistryService({ metadata, blobs, clock, tracking }: RegistryDeps) {
  const store = createRegistryStore(metadata);
  const versionListeners: ((version: ModelVersion) => void)[] = [];
  const db = store.db;

  const requireModel = async (trx: Db, name: string) => {
    const row = await store.getModel(trx, name);
    if (row === undefined) throw notFound(`Registered Model with name=${name} not found`);
    return row;
  };

  const parseVersion = (version: string | number): number => {
    const n = Number(version);
    if (!Number.isInteger(n) || n < 1 || String(version).trim() === '') {
      throw invalidParameter(
        `Invalid value '${version}' for parameter 'version': expected a positive integer`,
      );
    }
    return n;
  };

  const requireVersion = async (trx: Db, name: string, version: string | number) => {
    const row = await store.getVersion(trx, name, parseVersion(version));
    if (row === undefined) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
    return row;
  };

  const toVersions = async (
    trx: Db,
    rows: ModelVersionTable[],
    withAliases = true,
  ): Promise<ModelVersion[]> => {
    const names = [...new Set(rows.map((r) => r.name))];
    const [tags, aliases] = await Promise.all([
      store.versionTags(trx, rows),
      withAliases
        ? store.aliases(trx, names)
        : Promise.resolve(new Map<string, { alias: string; version: number }[]>()),
    ]);
    return rows.map((row) => {
      const version: ModelVersion = {
        name: row.name,
        version: String(row.version),
        creation_timestamp: row.creation_timestamp,
        last_updated_timestamp: row.last_updated_timestamp,
        current_stage: row.current_stage as Stage,
        source: row.source,
        status: row.status as ModelVersion['status'],
      };
      if (row.user_id !== null && row.user_id !== '') version.user_id = row.user_id;
      if (row.description !== null && row.description !== '') version.description = row.description;
      if (row.run_id !== null && row.run_id !== '') version.run_id = row.run_id;
      if (row.run_link !== null && row.run_link !== '') version.run_link = row.run_link;
      if (row.status_message !== null) version.status_message = row.status_message;
      const versionTags = tags.get(`${row.name}\u0000${row.version}`);
      if (versionTags !== undefined) version.tags = versionTags;
      const versionAliases = (aliases.get(row.name) ?? [])
        .filter((a) => a.version === row.version)
        .map((a) => a.alias);
      if (versionAliases.length > 0) version.aliases = versionAliases;
      return version;
    });
  };

  const toModels = async (
    trx: Db,
    rows: {
      name: string;
      creation_timestamp: number;
      last_updated_timestamp: number;
      description: string | null;
    }[],
  ): Promise<RegisteredModel[]> => {
    const names = rows.map((r) => r.name);
    const [tags, aliases] = await Promise.all([store.modelTags(trx, names), store.aliases(trx, names)]);
    const result: RegisteredModel[] = [];
    for (const row of rows) {
      const model: RegisteredModel = {
        name: row.name,
        creation_timestamp: row.creation_timestamp,
        last_updated_timestamp: row.last_updated_timestamp,
      };
      if (row.description !== null && row.description !== '') model.description = row.description;
      const latest = latestPerStage(await store.versionsOf(trx, row.name));
      if (latest.length > 0) model.latest_versions = await toVersions(trx, latest, false);
      const modelTags = tags.get(row.name);
      if (modelTags !== undefined) model.tags = modelTags;
      const modelAliases = aliases.get(row.name);
      if (modelAliases !== undefined) {
        model.aliases = modelAliases.map((a) => ({ alias: a.alias, version: String(a.version) }));
      }
      result.push(model);
    }
    return result;
  };

  const touchModel = (trx: Db, name: string) =>
    trx
      .updateTable('registered_models')
      .set({ last_updated_timestamp: clock.nowMs() })
      .where('name', '=', name)
      .execute();

  /** Maps a version's source to the blob store: `mlflow-artifacts:/...` and `runs:/<id>/<path>` are ours. */
  const resolveSource = async (source: string, runId: string | undefined): Promise<ResolvedSource> => {
    if (source.startsWith(ARTIFACTS_SCHEME)) {
      return {
        blobPath: normalizeArtifactPath(source.slice(ARTIFACTS_SCHEME.length).replace(/^\/+/, ''), 'source'),
      };
    }
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (runs !== null) {
      const sourceRun = runs[1] ?? runId ?? '';
      // A run whose artifacts live elsewhere (its own s3:// location, say) registers without inspection.
      const root = await tracking.artifactRootOf(sourceRun).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'INVALID_PARAMETER_VALUE') return undefined;
        throw error;
      });
      if (root === undefined) return {};
      return { blobPath: joinArtifactPath(root, normalizeArtifactPath(runs[2] ?? '', 'source')) };
    }
    return {};
  };

  /** Finds the ONNX file of a model: the source itself, the file its MLmodel names, or the folder's .onnx file. */
  const findOnnxFile = async (blobPath: string): Promise<{ flavor?: string; onnxPath?: string }> => {
    const entry = await blobs.stat(blobPath);
    if (entry === undefined) return {};
    if (!entry.isDir) return blobPath.endsWith('.onnx') ? { flavor: 'onnx', onnxPath: blobPath } : {};
    const children = await blobs.list(blobPath);
    let flavor: string | undefined;
    let onnxPath: string | undefined;
    const mlmodel = children.find((c) => c.path.endsWith('/MLmodel'));
    if (mlmodel !== undefined) {
      const described = parseMlmodel((await blobs.read(mlmodel.path)).toString('utf8'));
      flavor = described.flavor;
      if (described.onnxFile !== undefined) {
        onnxPath = joinArtifactPath(blobPath, normalizeArtifactPath(described.onnxFile, 'MLmodel onnx data'));
      }
    }
    onnxPath ??= children.find((c) => !c.isDir && c.path.endsWith('.onnx'))?.path;
    if (onnxPath !== undefined) return { flavor: 'onnx', onnxPath };
    return flavor === undefined ? {} : { flavor };
  };

  /** Reads the model's signature and digest from its ONNX file, when it has one. */
  const inspectModel = async (
    blobPath: string,
  ): Promise<{ flavor?: string; signature?: ModelSignature; digest?: string }> => {
    const found = await findOnnxFile(blobPath);
    if (found.onnxPath === undefined) return found.flavor === undefined ? {} : { flavor: found.flavor };
    const bytes = await blobs.read(found.onnxPath);
    return {
      flavor: 'onnx',
      signature: readOnnxSignature(bytes),
      digest: createHash('sha256').update(bytes).digest('hex'),
    };
  };

  const lineageOf = (run: Run | undefined): Lineage => {
    if (run === undefined) return { datasets: [] };
    const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
    const lineage: Lineage = {
      run_id: run.info.run_id,
      experiment_id: run.info.experiment_id,
      run_name: run.info.run_name,
      datasets: (run.inputs.dataset_inputs ?? []).map((input) => {
        const context = input.tags?.find((t) => t.key === 'mlflow.data.context')?.value;
        return {
          name: input.dataset.name,
          digest: input.dataset.digest,
          source: input.dataset.source,
          source_type: input.dataset.source_type,
          ...(context !== undefined && { context }),
        };
      }),
    };
    const commit = tags.get(GIT_COMMIT_TAG);
    if (commit !== undefined) lineage.git_commit = commit;
    const sourceName = tags.get('mlflow.source.name');
    if (sourceName !== undefined) lineage.source_name = sourceName;
    return lineage;
  };

  const validateTag = (tag: KeyValue): void => {
    if (tag.key === '') throw invalidParameter("Missing value for required parameter 'key'.");
    if (tag.key.length > limits.tagKeyLength) {
      throw invalidParameter(
        `Tag key '${tag.key.slice(0, 100)}...' had length ${tag.key.length}, which exceeded length limit of ${limits.tagKeyLength}`,
      );
    }
    if (tag.value.length > limits.tagValueLength) {
      throw invalidParameter(
        `Tag value had length ${tag.value.length}, which exceeded length limit of ${limits.tagValueLength}`,
      );
    }
  };

  const validateName = (name: string, field = 'name'): void => {
    if (name.trim() === '') throw invalidParameter(`Missing value for required parameter '${field}'.`);
    if (name.length > limits.nameLength) {
      throw invalidParameter(
        `Registered model name had length ${name.length}, which exceeded length limit of ${limits.nameLength}`,
      );
    }
    if (name.includes('/') || name.includes(':')) {
      throw invalidParameter(
        `Invalid value '${name}' for parameter '${field}': model names may not contain '/' or ':'`,
      );
    }
  };

  const validateAlias = (alias: string): void => {
    if (alias === '' || alias.length > limits.aliasLength || !/^[\w-]+$/.test(alias)) {
      throw invalidParameter(
        `Invalid alias name: '${alias}'. Aliases may only contain alphanumerics, underscores (_) and dashes (-), ` +
          `at most ${limits.aliasLength} characters.`,
      );
    }
    // MLflow's own wording: `models:/name@latest` and `models:/name@v3` already mean something.
    if (alias.toLowerCase() === 'latest')
      throw invalidParameter("'latest' alias name (case insensitive) is reserved.");
    if (/^v\d+$/i.test(alias)) throw invalidParameter(`Version alias name '${alias}' is reserved.`);
  };

  const self = {
    async createRegisteredModel(input: {
      name: string;
      description?: string;
      tags?: KeyValue[];
    }): Promise<RegisteredModel> {
      validateName(input.name);
      for (const tag of input.tags ?? []) validateTag(tag);
      return store.transaction(async (trx) => {
        if ((await store.getModel(trx, input.name)) !== undefined) {
          throw alreadyExists(`Registered Model (name=${input.name}) already exists.`);
        }
        const now = clock.nowMs();
        const row = {
          name: input.name,
          creation_timestamp: now,
          last_updated_timestamp: now,
          description: input.description ?? null,
        };
        await trx.insertInto('registered_models').values(row).execute();
        for (const tag of input.tags ?? []) {
          await trx
            .insertInto('registered_model_tags')
            .values({ name: input.name, ...tag })
            .execute();
        }
        const [model] = await toModels(trx, [row]);
        return model as RegisteredModel;
      });
    },

    async getRegisteredModel(name: string): Promise<RegisteredModel> {
      const [model] = await toModels(db, [await requireModel(db, name)]);
      return model as RegisteredModel;
    },

    async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
      validateName(newName, 'new_name');
      return store.transaction(async (trx) => {
        await requireModel(trx, name);
        if (name !== newName && (await store.getModel(trx, newName)) !== undefined) {
          throw alreadyExists(`Registered Model (name=${newName}) already exists.`);
        }
        await store.renameModel(trx, name, newName, clock.nowMs());
        const [model] = await toModels(trx, [await requireModel(trx, newName)]);
        return model as RegisteredModel;
      });
    },

    async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
      return store.transaction(async (trx) => {
        await requireModel(trx, name);
        await trx
          .updateTable('registered_models')
          .set({ description, last_updated_timestamp: clock.nowMs() })
          .where('name', '=', name)
          .execute();
        const [model] = await toModels(trx, [await requireModel(trx, name)]);
        return model as RegisteredModel;
      });
    },

    async deleteRegisteredModel(name: string): Promise<void> {
      await store.transaction(async (trx) => {
        await requireModel(trx, name);
        await store.deleteModel(trx, name);
      });
    },

    async searchRegisteredModels(input: {
      filter?: string;
      maxResults?: number;
      orderBy?: string[];
      pageToken?: string;
    }): Promise<Page<RegisteredModel>> {
      const maxResults = checkMaxResults(
        input.maxResults ?? limits.searchModelsDefault,
        limits.searchModelsMax,
      );
      const filter = parseSearchFilter(input.filter, registeredModelSearchGrammar);
      const orderBy = parseOrderBy(input.orderBy, registeredModelSearchGrammar);
      const offset = decodePageToken(input.pageToken);
      const rows = await store.searchModels(db, { filter, orderBy, offset, limit: maxResults + 1 });
      const page: Page<RegisteredModel> = { items: await toModels(db, rows.slice(0, maxResults)) };
      if (rows.length > maxResults) page.nextPageToken = encodePageToken(offset + maxResults);
      return page;
    },

    async getLatestVersions(name: string, stages: string[] | undefined): Promise<ModelVersion[]> {
      await requireModel(db, name);
      const wanted = (stages ?? []).map(parseStage);
      const latest = latestPerStage(await store.versionsOf(db, name)).filter(
        (v) => wanted.length === 0 || wanted.includes(v.current_stage as Stage),
      );
      return toVersions(db, latest);
    },

    async setRegisteredModelTag(name: string, tag: KeyValue): Promise<void> {
      validateTag(tag);
      await store.transaction(async (trx) => {
        await requireModel(trx, name);
        await trx
          .insertInto('registered_model_tags')
          .values({ name, ...tag })
          .onConflict((oc) => oc.columns(['name', 'key']).doUpdateSet({ value: tag.value }))
          .execute();
        await touchModel(trx, name);
      });
    },

    async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
      await store.transaction(async (trx) => {
        await requireModel(trx, name);
        await trx
          .deleteFrom('registered_model_tags')
          .where('name', '=', name)
          .where('key', '=', key)
          .execute();
      });
    },

    async setAlias(name: string, alias: string, version: string): Promise<void> {
      validateAlias(alias);
      await store.transaction(async (trx) => {
        await requireModel(trx, name);
        const row = await requireVersion(trx, name, version);
        await trx
          .insertInto('registered_model_aliases')
          .values({ name, alias, version: row.version })
          .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version: row.version }))
          .execute();
        await touchModel(trx, name);
      });
    },

    async deleteAlias(name: string, alias: string): Promise<void> {
      await store.transaction(async (trx) => {
        await requireModel(trx, name);
        await trx
          .deleteFrom('registered_model_aliases')
          .where('name', '=', name)
          .where('alias', '=', alias)
          .execute();
      });
    },

    async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
      await requireModel(db, name);
      const row = await db
        .selectFrom('registered_model_aliases')
        .selectAll()
        .where('name', '=', name)
        .where('alias', '=', alias)
        .executeTakeFirst();
      if (row === undefined) throw notFound(`Registered model alias ${alias} not found.`);
      return self.getModelVersion(name, String(row.version));
    },

    async createModelVersion(input: {
      name: string;
      source: string;
      runId?: string;
      runLink?: string;
      description?: string;
      tags?: KeyValue[];
    }): Promise<ModelVersion> {
      if (input.source.trim() === '')
        throw invalidParameter("Missing value for required parameter 'source'.");
      for (const tag of input.tags ?? []) validateTag(tag);
      const run =
        input.runId !== undefined && input.runId !== '' ? await tracking.getRun(input.runId) : undefined;
      // Reading the model happens before the transaction: a bad ONNX file is refused with nothing written.
      const resolved = await resolveSource(input.source, input.runId);
      const inspected = resolved.blobPath === undefined ? {} : await inspectModel(resolved.blobPath);
      const lineage = lineageOf(run);
      const metricsSnapshot = Object.fromEntries((run?.data.metrics ?? []).map((m) => [m.key, m.value]));
      const params = Object.fromEntries((run?.data.params ?? []).map((p) => [p.key, p.value]));
      const created = await store.transaction(async (trx) => {
        await requireModel(trx, input.name);
        const version = (await store.maxVersion(trx, input.name)) + 1;
        const now = clock.nowMs();
        const row: ModelVersionTable = {
          name: input.name,
          version,
          creation_timestamp: now,
          last_updated_timestamp: now,
          description: input.description ?? null,
          user_id: run?.info.user_id ?? null,
          current_stage: 'None',
          source: input.source,
          run_id: input.runId ?? null,
          run_link: input.runLink ?? null,
          status: 'READY',
          status_message: null,
          signature_json: inspected.signature === undefined ? null : JSON.stringify(inspected.signature),
          lineage_json: JSON.stringify(lineage),
          model_card_md: null,
          metrics_snapshot_json: JSON.stringify({ metrics: metricsSnapshot, params }),
          flavor: inspected.flavor ?? null,
          content_digest: inspected.digest ?? null,
        };
        await store.insertVersion(trx, row);
        for (const tag of input.tags ?? []) {
          await trx
            .insertInto('model_version_tags')
            .values({ name: input.name, version, ...tag })
            .execute();
        }
        await touchModel(trx, input.name);
        const [created] = await toVersions(trx, [row]);
        return created as ModelVersion;
      });
      for (const listener of versionListeners) listener(created);
      return created;
    },

    /**
     * Calls `listener` after every committed version registration (monitoring captures reference profiles).
     * Listeners must not throw; they run after the response is decided.
     */
    onVersionCreated(listener: (version: ModelVersion) => void): void {
      versionListeners.push(listener);
    },

    async getModelVersion(name: string, version: string): Promise<ModelVersion> {
      const [found] = await toVersions(db, [await requireVersion(db, name, version)]);
      return found as ModelVersion;
    },

    /** Slipway's view: the MLflow version plus signature, lineage and card. */
    async getModelVersionDetail(name: string, version: string): Promise<ModelVersionDetail> {
      const row = await requireVersion(db, name, version);
      const [modelVersion] = await toVersions(db, [row]);
      const snapshot =
        row.metrics_snapshot_json === null
          ? { metrics: {}, params: {} }
          : JSON.parse(row.metrics_snapshot_json);
      const lineage: Lineage = row.lineage_json === null ? { datasets: [] } : JSON.parse(row.lineage_json);
      const signature: ModelSignature | undefined =
        row.signature_json === null ? undefined : JSON.parse(row.signature_json);
      const card: ModelCard = {
        metrics: snapshot.metrics,
        params: snapshot.params,
        markdown:
          row.model_card_md ??
          renderModelCard({
            version: modelVersion as ModelVersion,
            lineage,
            signature,
            metrics: snapshot.metrics,
            params: snapshot.params,
          }),
      };
      return {
        model_version: modelVersion as ModelVersion,
        ...(row.flavor !== null && { flavor: row.flavor }),
        ...(row.content_digest !== null && { content_digest: row.content_digest }),
        ...(signature !== undefined && { signature }),
        lineage,
        card,
      };
    },

    async setModelCard(name: string, version: string, markdown: string): Promise<void> {
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        await trx
          .updateTable('model_versions')
          .set({ model_card_md: markdown, last_updated_timestamp: clock.nowMs() })
          .where('name', '=', name)
          .where('version', '=', row.version)
          .execute();
      });
    },

    /** Resolves `name/version`, `name@alias` or `name` (latest) to a version. */
    async resolveVersion(reference: string): Promise<ModelVersion> {
      const at = reference.lastIndexOf('@');
      if (at > 0) return self.getVersionByAlias(reference.slice(0, at), reference.slice(at + 1));
      const slash = reference.lastIndexOf('/');
      if (slash > 0) return self.getModelVersion(reference.slice(0, slash), reference.slice(slash + 1));
      const versions = await store.versionsOf(db, reference);
      const [latest] = versions;
      if (latest === undefined) throw notFound(`Registered Model with name=${reference} has no versions`);
      return self.getModelVersion(reference, String(latest.version));
    },

    /** The ONNX file and signature of a version, for serving. */
    async modelFile(
      name: string,
      version: string,
    ): Promise<{ onnxPath?: string; signature?: ModelSignature; flavor?: string }> {
      const row = await requireVersion(db, name, version);
      const resolved = await resolveSource(row.source, row.run_id ?? undefined);
      const found = resolved.blobPath === undefined ? {} : await findOnnxFile(resolved.blobPath);
      return {
        ...found,
        ...(row.signature_json !== null && { signature: JSON.parse(row.signature_json) as ModelSignature }),
      };
    },

    async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        await trx
          .updateTable('model_versions')
          .set({ description, last_updated_timestamp: clock.nowMs() })
          .where('name', '=', name)
          .where('version', '=', row.version)
          .execute();
      });
      return self.getModelVersion(name, version);
    },

    async deleteModelVersion(name: string, version: string): Promise<void> {
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        for (const table of ['model_version_tags', 'registered_model_aliases', 'model_versions'] as const) {
          await trx.deleteFrom(table).where('name', '=', name).where('version', '=', row.version).execute();
        }
        await touchModel(trx, name);
      });
    },

    async searchModelVersions(input: {
      filter?: string;
      maxResults?: number;
      orderBy?: string[];
      pageToken?: string;
    }): Promise<Page<ModelVersion>> {
      const maxResults = checkMaxResults(
        input.maxResults ?? limits.searchVersionsDefault,
        limits.searchVersionsMax,
      );
      const filter = parseSearchFilter(input.filter, modelVersionSearchGrammar);
      const orderBy = parseOrderBy(input.orderBy, modelVersionSearchGrammar);
      const offset = decodePageToken(input.pageToken);
      const rows = await store.searchVersions(db, { filter, orderBy, offset, limit: maxResults + 1 });
      const page: Page<ModelVersion> = { items: await toVersions(db, rows.slice(0, maxResults)) };
      if (rows.length > maxResults) page.nextPageToken = encodePageToken(offset + maxResults);
      return page;
    },

    async transitionStage(
      name: string,
      version: string,
      stage: string,
      archiveExisting: boolean,
    ): Promise<ModelVersion> {
      const target = parseStage(stage);
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        const now = clock.nowMs();
        if (archiveExisting && (target === 'Staging' || target === 'Production')) {
          await trx
            .updateTable('model_versions')
            .set({ current_stage: 'Archived', last_updated_timestamp: now })
            .where('name', '=', name)
            .where('current_stage', '=', target)
            .where('version', '!=', row.version)
            .execute();
        }
        await trx
          .updateTable('model_versions')
          .set({ current_stage: target, last_updated_timestamp: now })
          .where('name', '=', name)
          .where('version', '=', row.version)
          .execute();
      });
      return self.getModelVersion(name, version);
    },

    async setModelVersionTag(name: string, version: string, tag: KeyValue): Promise<void> {
      validateTag(tag);
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        await trx
          .insertInto('model_version_tags')
          .values({ name, version: row.version, ...tag })
          .onConflict((oc) => oc.columns(['name', 'version', 'key']).doUpdateSet({ value: tag.value }))
          .execute();
      });
    },

    async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
      await store.transaction(async (trx) => {
        const row = await requireVersion(trx, name, version);
        await trx
          .deleteFrom('model_version_tags')
          .where('name', '=', name)
          .where('version', '=', row.version)
          .where('key', '=', key)
          .execute();
      });
    },
  };
  return self;
}

export type RegistryService = ReturnType<typeof createRegistryService>;

function parseStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (found === undefined) {
    throw invalidParameter(
      `Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(', ')}.`,
    );
  }
  return found;
}

function checkMaxResults(maxResults: number, limit: number): number {
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) {
    throw invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${limit}, and at least 1.`,
    );
  }
  return maxResults;
}

/** The newest version in each stage, as MLflow's `latest_versions`. Input sorted by version descending. */
function latestPerStage(rows: ModelVersionTable[]): ModelVersionTable[] {
  const seen = new Set<string>();
  const latest: ModelVersionTable[] = [];
  for (const row of rows) {
    if (seen.has(row.current_stage)) continue;
    seen.add(row.current_stage);
    latest.push(row);
  }
  return latest.sort((a, b) => a.version - b.version);
}

/** Reads the flavor and the ONNX file name from an MLflow `MLmodel` file. */
function parseMlmodel(text: string): { flavor?: string; onnxFile?: string } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw invalidParameter(`The model's MLmodel file is not valid YAML: ${String(error)}`);
  }
  const flavors = (doc as { flavors?: Record<string, { data?: unknown }> } | null)?.flavors ?? {};
  const onnx = flavors.onnx;
  if (onnx !== undefined) {
    return { flavor: 'onnx', ...(typeof onnx.data === 'string' && { onnxFile: onnx.data }) };
  }
  const first = Object.keys(flavors).find((f) => f !== 'python_function') ?? Object.keys(flavors)[0];
  return first === undefined ? {} : { flavor: first };
}
