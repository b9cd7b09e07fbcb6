import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Cron } from 'croner';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { SlipwayError } from '../core/errors.js';
import { findCycle } from './dag.js';

/** Values a pipeline parameter may take (strings on the command line and in env vars). */
export type ParamValue = string | number | boolean;

const identifier = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'expected a name of letters, digits, _ and -, starting with a letter',
  );
const paramValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'), {
    message: "expected a relative path inside the step's output dir (no '..')",
  });

const common = {
  needs: z.array(identifier).default([]),
  retries: z.number().int().min(0).max(20).default(0),
  /** First retry waits this long; each further one doubles it. */
  backoff_ms: z.number().int().min(0).max(3_600_000).default(1000),
  timeout_ms: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3_600_000)
    .optional(),
};

const resourcesSchema = z.strictObject({
  cpu: z.union([z.string(), z.number()]).optional(),
  memory: z.string().optional(),
});

const commandStepSchema = z.strictObject({
  ...common,
  run: z.string().min(1, 'expected a command'),
  /** Files (globs allowed, relative to the working dir) whose content is part of the cache key. */
  code: z.array(z.string().min(1)).default([]),
  /** name -> a path or glob relative to the working dir, or `steps.<step>.outputs.<name>`. */
  inputs: z.record(identifier, z.string().min(1)).default({}),
  /** name -> a file the step writes in SLIPWAY_OUTPUT_DIR. */
  outputs: z.record(identifier, relativePath).default({}),
  params: z.record(identifier, paramValue).default({}),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
    .default({}),
  cache: z.boolean().default(true),
  /** Kubernetes executor: the container image (default: the spec's `kubernetes.image`). */
  image: z.string().min(1).optional(),
  resources: resourcesSchema.optional(),
});

const OUTPUT_REF = /^steps\.([A-Za-z][A-Za-z0-9_-]*)\.outputs\.([A-Za-z][A-Za-z0-9_-]*)$/;

const registerOptionsSchema = z.strictObject({
  /** The registered model's name (created when absent). */
  model: identifier,
  /** `steps.<step>.outputs.<name>`: the model file to register. */
  output: z.string().regex(OUTPUT_REF, 'expected steps.<step>.outputs.<name>'),
  alias: z.string().min(1).optional(),
  description: z.string().optional(),
});

const deployOptionsSchema = z.strictObject({
  endpoint: z.string().min(1),
  /** MODEL/VERSION or MODEL@ALIAS, e.g. `flights/${steps.register.version}`. */
  model: z.string().min(1),
  policy: z.enum(['direct', 'canary']).default('direct'),
  steps: z.array(z.number().min(0).max(100)).min(1).optional(),
  interval_ms: z.number().int().positive().optional(),
  /** Canary analysis checks (default: error rate, p99 latency ratio, prediction PSI). */
  checks: z
    .array(
      z.strictObject({
        metric: z.enum(['error_rate', 'latency_p99_ratio', 'prediction_psi']),
        max: z.number().nonnegative(),
        min_samples: z.number().int().positive().default(50),
      }),
    )
    .min(1)
    .optional(),
});

/**
 * The gate's options, passed on as a plain object: the gate module defines the full set, so unknown keys pass.
 * Relative `data` paths are resolved against the working dir.
 */
const gateOptionsSchema = z.looseObject({
  candidate: z.string().min(1),
  baseline: z.string().min(1).optional(),
  data: z.string().min(1),
  metrics: z.array(z.string().min(1)).min(1),
});

const builtinStepSchema = z.strictObject({
  ...common,
  uses: z.enum(['register', 'deploy', 'gate']),
  with: z.record(z.string(), z.unknown()),
});

const specSchema = z.strictObject({
  name: identifier,
  description: z.string().optional(),
  /** The experiment that holds the pipeline's runs (default: the pipeline's name). */
  experiment: z.string().min(1).optional(),
  params: z.record(identifier, paramValue).default({}),
  schedule: z
    .string()
    .refine(
      (s) => {
        try {
          new Cron(s, { paused: true }).stop();
          return true;
        } catch {
          return false;
        }
      },
      { message: "expected a cron expression such as '*/15 * * * *'" },
    )
    .optional(),
  on: z
    .strictObject({
      data: z
        .strictObject({
          path: z.string().min(1),
          poll_seconds: z.number().positive().max(86_400).default(30),
        })
        .optional(),
    })
    .optional(),
  executor: z.enum(['local', 'kubernetes']).default('local'),
  kubernetes: z
    .strictObject({
      image: z.string().min(1).optional(),
      namespace: z.string().min(1).default('default'),
      service_account: z.string().min(1).optional(),
      image_pull_policy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    })
    .optional(),
  max_parallel: z.number().int().min(1).max(64).default(4),
  steps: z.record(identifier, z.unknown()).refine((s) => Object.keys(s).length > 0, {
    message: 'expected at least one step',
  }),
});

export type RegisterOptions = z.output<typeof registerOptionsSchema>;
export type DeployOptions = z.output<typeof deployOptionsSchema>;
export type GateStepOptions = z.output<typeof gateOptionsSchema>;

interface StepBase {
  name: string;
  /** Every step this one waits for: `needs` plus the steps its inputs and `${steps.*}` references name. */
  dependsOn: string[];
  retries: number;
  backoffMs: number;
  timeoutMs?: number;
}

export interface CommandStep extends StepBase {
  kind: 'command';
  run: string;
  code: string[];
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  params: Record<string, ParamValue>;
  env: Record<string, string>;
  cache: boolean;
  image?: string;
  resources?: { cpu?: string | number; memory?: string };
}

export type BuiltinStep = StepBase &
  (
    | { kind: 'register'; options: RegisterOptions }
    | { kind: 'deploy'; options: DeployOptions }
    | { kind: 'gate'; options: GateStepOptions }
  );

export type StepSpec = CommandStep | BuiltinStep;

/** A validated pipeline: steps in declaration order, dependencies resolved, no cycles. */
export interface PipelineSpec {
  name: string;
  description?: string;
  experiment: string;
  params: Record<string, ParamValue>;
  schedule?: string;
  on?: { data?: { path: string; poll_seconds: number } };
  executor: 'local' | 'kubernetes';
  kubernetes?: { image?: string; namespace: string; service_account?: string; image_pull_policy?: string };
  maxParallel: number;
  steps: StepSpec[];
}

/** One problem in a spec file, located by line and column (1-based). */
export interface SpecProblem {
  line: number;
  col: number;
  path: string;
  message: string;
}

/** A spec refused: the message lists every problem as `file:line:col: path: message`. */
export class PipelineSpecError extends SlipwayError {
  readonly problems: SpecProblem[];

  constructor(source: string, problems: SpecProblem[]) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    super(
      'INVALID_PARAMETER_VALUE',
      `Invalid pipeline spec ${source}:\n${problems
        .map((p) => `  ${source}:${p.line}:${p.col}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`)
        .join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Parameters every run has, set by the trigger (so specs may reference them without declaring them). */
export const TRIGGER_PARAMS: Readonly<Record<string, ParamValue>> = { trigger_input: '', trigger_reason: '' };

/** `${params.x}` and `${steps.s.key...}` references in commands, env values and built-in options. */
export const REFERENCE = /\$\{\s*(params|steps)\.([A-Za-z0-9_.-]+?)\s*\}/g;

type Path = (string | number)[];

/**
 * Parses and validates a pipeline spec (YAML). Problems are reported with the line and column of the offending
 * node: syntax, schema, unknown step references, undeclared outputs or params, missing input files (when
 * `workingDir` is given), and cycles.
 *
 * @throws PipelineSpecError (INVALID_PARAMETER_VALUE) listing every problem found.
 */
export function parsePipelineSpec(
  text: string,
  options: { source?: string; workingDir?: string } = {},
): PipelineSpec {
  const source = options.source ?? 'pipeline.yaml';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    throw new PipelineSpecError(
      source,
      doc.errors.map((e) => ({ ...at(e.pos[0]), path: '', message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  const problems: SpecProblem[] = [];
  const report = (path: Path, message: string) =>
    problems.push({ ...at(offsetOf(doc, path)), path: formatPath(path), message });

  const top = specSchema.safeParse(doc.toJS() ?? {});
  if (!top.success) {
    for (const issue of top.error.issues) report(issue.path as Path, issueMessage(issue, doc));
    throw new PipelineSpecError(source, problems);
  }
  const raw = top.data;
  const declaredParams = { ...TRIGGER_PARAMS, ...raw.params };
  const names = Object.keys(raw.steps);

  const steps: StepSpec[] = [];
  /** Where each dependency comes from, to point at it when it closes a cycle. */
  const edgeAt = new Map<string, Path>();
  for (const name of names) {
    const at: Path = ['steps', name];
    const body = raw.steps[name];
    const isBuiltin = body !== null && typeof body === 'object' && 'uses' in body;
    const parsed = (isBuiltin ? builtinStepSchema : commandStepSchema).safeParse(body ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        report([...at, ...(issue.path as Path)], issueMessage(issue, doc, [...at, ...(issue.path as Path)]));
      continue;
    }
    const deps = new Set<string>();
    const addDep = (dep: string, path: Path) => {
      if (!names.includes(dep)) {
        report(path, `unknown step '${dep}' (steps: ${names.join(', ')})`);
        return;
      }
      if (!deps.has(dep)) edgeAt.set(`${name}\u0000${dep}`, path);
      deps.add(dep);
    };
    const checkReferences = (value: string, path: Path) => {
      for (const match of value.matchAll(REFERENCE)) {
        const [scope, rest = ''] = [match[1], match[2]];
        if (scope === 'params') {
          if (!(rest in declaredParams))
            report(
              path,
              `unknown parameter '${rest}' in '${match[0]}' (declared: ${Object.keys(raw.params).join(', ') || 'none'})`,
            );
        } else {
          const [dep = '', ...key] = rest.split('.');
          addDep(dep, path);
          if (key[0] === 'outputs') checkOutputRef(dep, key.slice(1).join('.'), path);
        }
      }
    };
    const checkOutputRef = (dep: string, output: string, path: Path) => {
      const target = raw.steps[dep] as { outputs?: Record<string, unknown>; uses?: unknown } | undefined;
      if (target === undefined || target.uses !== undefined) {
        if (target !== undefined) report(path, `step '${dep}' is a built-in step and has no file outputs`);
        return;
      }
      if (target.outputs === undefined || !(output in target.outputs)) {
        report(
          path,
          `missing input: step '${dep}' declares no output '${output}' (outputs: ${Object.keys(target.outputs ?? {}).join(', ') || 'none'})`,
        );
      }
    };
    parsed.data.needs.forEach((dep, i) => {
      addDep(dep, [...at, 'needs', i]);
    });
    const base = {
      name,
      retries: parsed.data.retries,
      backoffMs: parsed.data.backoff_ms,
      ...(parsed.data.timeout_ms !== undefined && { timeoutMs: parsed.data.timeout_ms }),
    };

    if ('run' in parsed.data) {
      const step = parsed.data;
      checkReferences(step.run, [...at, 'run']);
      for (const [key, value] of Object.entries(step.env)) checkReferences(value, [...at, 'env', key]);
      for (const [key, value] of Object.entries(step.params))
        if (typeof value === 'string') checkReferences(value, [...at, 'params', key]);
      for (const [key, value] of Object.entries(step.inputs)) {
        const ref = OUTPUT_REF.exec(value);
        if (ref !== null) {
          addDep(ref[1] ?? '', [...at, 'inputs', key]);
          checkOutputRef(ref[1] ?? '', ref[2] ?? '', [...at, 'inputs', key]);
        } else if (value.startsWith('steps.')) {
          report([...at, 'inputs', key], `expected steps.<step>.outputs.<name>, got '${value}'`);
        } else if (options.workingDir !== undefined && !/[*?[\]{}]/.test(value)) {
          if (!existsSync(resolve(options.workingDir, value)))
            report(
              [...at, 'inputs', key],
              `missing input: file '${value}' does not exist in the working dir ${options.workingDir}`,
            );
        }
      }
      if (options.workingDir !== undefined) {
        for (const [i, pattern] of step.code.entries()) {
          if (!/[*?[\]{}]/.test(pattern) && !existsSync(resolve(options.workingDir, pattern)))
            report(
              [...at, 'code', i],
              `code file '${pattern}' does not exist in the working dir ${options.workingDir}`,
            );
        }
      }
      steps.push({
        ...base,
        kind: 'command',
        dependsOn: [...deps],
        run: step.run,
        code: step.code,
        inputs: step.inputs,
        outputs: step.outputs,
        params: step.params,
        env: step.env,
        cache: step.cache,
        ...(step.image !== undefined && { image: step.image }),
        ...(step.resources !== undefined && { resources: stripUndefined(step.resources) }),
      });
      continue;
    }

    const builtin = parsed.data;
    const optionsSchema = {
      register: registerOptionsSchema,
      deploy: deployOptionsSchema,
      gate: gateOptionsSchema,
    }[builtin.uses];
    const withPath: Path = [...at, 'with'];
    const opts = optionsSchema.safeParse(builtin.with);
    if (!opts.success) {
      for (const issue of opts.error.issues)
        report(
          [...withPath, ...(issue.path as Path)],
          issueMessage(issue, doc, [...withPath, ...(issue.path as Path)]),
        );
      continue;
    }
    walkStrings(opts.data, withPath, checkReferences);
    if (builtin.uses === 'register') {
      const ref = OUTPUT_REF.exec((opts.data as RegisterOptions).output);
      addDep(ref?.[1] ?? '', [...withPath, 'output']);
      checkOutputRef(ref?.[1] ?? '', ref?.[2] ?? '', [...withPath, 'output']);
    }
    steps.push({
      ...base,
      kind: builtin.uses,
      dependsOn: [...deps],
      options: opts.data,
    } as BuiltinStep);
  }

  if (problems.length === 0) {
    const edges = new Map(steps.map((s) => [s.name, s.dependsOn]));
    const cycle = findCycle(edges);
    if (cycle !== undefined) {
      const [from = '', to = ''] = cycle;
      report(edgeAt.get(`${from}\u0000${to}`) ?? ['steps', from], `dependency cycle: ${cycle.join(' -> ')}`);
    }
  }
  if (problems.length > 0) throw new PipelineSpecError(source, problems);

  return {
    name: raw.name,
    ...(raw.description !== undefined && { description: raw.description }),
    experiment: raw.experiment ?? raw.name,
    params: raw.params,
    ...(raw.schedule !== undefined && { schedule: raw.schedule }),
    ...(raw.on?.data !== undefined && { on: { data: raw.on.data } }),
    executor: raw.executor,
    ...(raw.kubernetes !== undefined && { kubernetes: stripUndefined(raw.kubernetes) }),
    maxParallel: raw.max_parallel,
    steps,
  };
}

function walkStrings(value: unknown, path: Path, visit: (value: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walkStrings(v, [...path, i], visit);
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function issueMessage(issue: z.core.$ZodIssue, doc: Document, path: Path = issue.path as Path): string {
  const value = valueAt(doc, path);
  if (value === undefined && issue.code === 'invalid_type') return `missing: ${issue.message}`;
  if (issue.code === 'unrecognized_keys')
    return `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (value === undefined || (typeof value === 'object' && value !== null)) return issue.message;
  return `got ${JSON.stringify(value)}: ${issue.message}`;
}

/** A scalar's value, a collection node, or undefined when nothing is at `path`. */
function valueAt(doc: Document, path: Path): unknown {
  return doc.getIn(path, false);
}

/**
 * The source offset of the node at `path`, or of the deepest ancestor that exists. A map entry whose value is a
 * collection points at its key (the line a reader looks for); a scalar entry at its value.
 */
function offsetOf(doc: Document, path: Path): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (pair === undefined) break;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      offset =
        isMap(pair.value) || isSeq(pair.value) ? (keyStart ?? offset) : (valueStart ?? keyStart ?? offset);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
