import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycle, planNext, type StepState } from './dag.js';
import { PipelineSpecError, parsePipelineSpec } from './spec.js';

const problemsOf = (text: string, workingDir?: string) => {
  try {
    parsePipelineSpec(text, { source: 'spec.yaml', ...(workingDir !== undefined && { workingDir }) });
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineSpecError);
    return (error as PipelineSpecError).problems;
  }
  throw new Error('expected the spec to be rejected');
};

const good = `name: flights
params:
  lr: 0.1
schedule: "*/15 * * * *"
steps:
  prepare:
    run: node prepare.js
    outputs:
      table: train.csv
  train:
    run: python train.py --lr \${params.lr}
    code: [train.py]
    inputs:
      table: steps.prepare.outputs.table
    outputs:
      model: model.onnx
    retries: 2
    backoff_ms: 10
  register:
    uses: register
    with:
      model: flights
      output: steps.train.outputs.model
      alias: candidate
  deploy:
    uses: deploy
    with:
      endpoint: flights
      model: flights/\${steps.register.version}
`;

describe('parsePipelineSpec', () => {
  it('resolves dependencies from needs, inputs and references', () => {
    const spec = parsePipelineSpec(good);
    expect(spec.experiment).toBe('flights');
    expect(spec.steps.map((s) => [s.name, s.kind, s.dependsOn])).toEqual([
      ['prepare', 'command', []],
      ['train', 'command', ['prepare']],
      ['register', 'register', ['train']],
      ['deploy', 'deploy', ['register']],
    ]);
    const train = spec.steps[1];
    expect(train?.kind === 'command' && train.retries === 2 && train.backoffMs === 10).toBe(true);
  });

  it('rejects a cycle at the line of the edge that closes it', () => {
    const problems = problemsOf(`name: p
steps:
  a:
    run: echo a
    needs: [c]
  b:
    run: echo b
    needs: [a]
  c:
    run: echo c
    needs:
      - b
`);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toBe('dependency cycle: a -> c -> b -> a');
    expect(problems[0]?.line).toBe(5);
  });

  it('rejects unknown step references with their line', () => {
    const problems = problemsOf(`name: p
steps:
  a:
    run: echo a
  b:
    run: echo \${steps.nope.x}
    needs:
      - a
      - missing
`);
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [6, 'steps.b.run'],
      [9, 'steps.b.needs[1]'],
    ]);
    expect(problems[1]?.message).toContain("unknown step 'missing'");
  });

  it('rejects missing inputs: undeclared outputs and absent files', () => {
    const problems = problemsOf(
      `name: p
steps:
  a:
    run: echo a
    outputs: { model: m.onnx }
  b:
    run: echo b
    inputs:
      m: steps.a.outputs.weights
      raw: data/none.parquet
`,
      '.',
    );
    expect(problems.map((p) => p.line)).toEqual([9, 10]);
    expect(problems[0]?.message).toContain("step 'a' declares no output 'weights' (outputs: model)");
    expect(problems[1]?.message).toContain("file 'data/none.parquet' does not exist");
  });

  it('rejects code files that do not exist (globs are checked when the step runs)', () => {
    const problems = problemsOf('name: p\nsteps:\n  a:\n    run: x\n    code: [src/*.py, train.py]\n', '.');
    expect(problems.map((p) => [p.line, p.col, p.path])).toEqual([[5, 22, 'steps.a.code[1]']]);
  });

  it('rejects schema errors, unknown params and bad cron with positions', () => {
    const problems = problemsOf(`name: p
schedule: every tuesday
steps:
  a:
    run: echo \${params.lr}
    retries: -1
    colour: blue
  b:
    uses: register
    with:
      model: m
`);
    expect(problems.map((p) => [p.line, p.path])).toEqual([[2, 'schedule']]);
    const stepProblems = problemsOf(`name: p
steps:
  a:
    run: echo \${params.lr}
    retries: -1
    colour: blue
  b:
    uses: register
    with:
      model: m
`);
    expect(stepProblems.map((p) => [p.line, p.path, p.message])).toEqual([
      [3, 'steps.a', "unknown field(s) 'colour'"],
      [5, 'steps.a.retries', 'got -1: Too small: expected number to be >=0'],
      [9, 'steps.b.with.output', 'missing: Invalid input: expected string, received undefined'],
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('name: p\nsteps:\n  a:\n    run: [unclosed\n');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(4);
    const duplicate = problemsOf('name: p\nsteps:\n  a:\n    run: x\n  a:\n    run: y\n');
    expect(duplicate[0]?.line).toBe(5);
  });
});

describe('example specs', () => {
  it.each(['hello', 'flights'])('examples/pipelines/%s/pipeline.yaml is valid', async (name) => {
    const dir = join(import.meta.dirname, '../../examples/pipelines', name);
    const spec = parsePipelineSpec(await readFile(join(dir, 'pipeline.yaml'), 'utf8'), { workingDir: dir });
    expect(spec.steps.length).toBeGreaterThan(1);
  });
});

describe('dag', () => {
  it('finds cycles and none in a DAG', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeUndefined();
    expect(findCycle(new Map([['a', ['a']]]))).toEqual(['a', 'a']);
  });

  it('plans ready and blocked steps', () => {
    const edges = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['b', 'c']],
    ]);
    const states = new Map<string, StepState>([
      ['a', 'cached'],
      ['b', 'failed'],
      ['c', 'pending'],
      ['d', 'pending'],
    ]);
    expect(planNext(edges, states)).toEqual({ ready: ['c'], blocked: ['d'] });
  });
});
