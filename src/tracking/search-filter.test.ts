import { describe, expect, it } from 'vitest';
import { SlipwayError } from '../core/errors.js';
import {
  experimentSearchGrammar,
  type FilterClause,
  modelVersionSearchGrammar,
  parseOrderBy,
  parseSearchFilter,
  registeredModelSearchGrammar,
  runSearchGrammar,
  type SearchGrammar,
} from './search-filter.js';

const runs = (filter: string): FilterClause[] => parseSearchFilter(filter, runSearchGrammar);

/** Runs `parse`, asserting it fails as a client error, and returns the message. */
function failure(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(SlipwayError);
    const slipway = error as SlipwayError;
    expect(slipway.code).toBe('INVALID_PARAMETER_VALUE');
    expect(slipway.status).toBe(400);
    return slipway.message;
  }
  throw new Error('expected the parse to fail');
}

function filterFailure(filter: string, grammar: SearchGrammar = runSearchGrammar): string {
  const message = failure(() => parseSearchFilter(filter, grammar));
  expect(message.startsWith(`Invalid filter "${filter}": `)).toBe(true);
  return message;
}

describe('parseSearchFilter: empty filters', () => {
  it.each([undefined, '', '   ', '\n\t'])('treats %j as no condition', (filter) => {
    expect(parseSearchFilter(filter, runSearchGrammar)).toEqual([]);
  });
});

describe('parseSearchFilter: metrics', () => {
  it.each([
    ['metrics.acc > 0.9', '>', 0.9],
    ['metrics.acc >= 1', '>=', 1],
    ['metrics.acc < -2', '<', -2],
    ['metrics.acc <= -0.5', '<=', -0.5],
    ['metrics.acc = 1e3', '=', 1000],
    ['metrics.acc != 1.5E-3', '!=', 0.0015],
    ['metrics.acc > .5', '>', 0.5],
    ['metrics.acc > +7', '>', 7],
    ['metrics.acc>-1.25e+2', '>', -125],
    ['metric.acc = 0', '=', 0],
  ] as const)('parses %s', (filter, comparator, value) => {
    expect(runs(filter)).toEqual([{ entity: 'metric', key: 'acc', comparator, value }]);
  });

  it('keeps timestamps in milliseconds exact', () => {
    expect(runs('metrics.t = 1718000000123')[0]?.value).toBe(1718000000123);
  });
});

describe('parseSearchFilter: params and tags', () => {
  it.each([
    ["params.model = 'cnn'", 'param', 'model', '=', 'cnn'],
    ['param.model != "cnn"', 'param', 'model', '!=', 'cnn'],
    ["parameters.lr LIKE '0.0%'", 'param', 'lr', 'LIKE', '0.0%'],
    ["parameter.lr ILIKE '%E-3'", 'param', 'lr', 'ILIKE', '%E-3'],
    ["tags.team = 'vision'", 'tag', 'team', '=', 'vision'],
    ["tag.team = ''", 'tag', 'team', '=', ''],
  ] as const)('parses %s', (filter, entity, key, comparator, value) => {
    expect(runs(filter)).toEqual([{ entity, key, comparator, value }]);
  });

  it.each([
    ['params.seed IS NULL', 'param', 'IS NULL'],
    ['params.seed is not null', 'param', 'IS NOT NULL'],
    ['tags.note Is Not Null', 'tag', 'IS NOT NULL'],
    ['tags.note IS NULL', 'tag', 'IS NULL'],
  ] as const)('parses %s', (filter, entity, comparator) => {
    expect(runs(filter)).toEqual([{ entity, key: filter.split(/[. ]/)[1], comparator, value: null }]);
  });

  it('reads keys with dots, hyphens and slashes', () => {
    expect(runs("tags.mlflow.source.git.commit = 'abc'")[0]?.key).toBe('mlflow.source.git.commit');
    expect(runs('metrics.train/loss < 1')[0]?.key).toBe('train/loss');
    expect(runs('metrics.val-loss < 1')[0]?.key).toBe('val-loss');
    expect(runs("params.ns:lr = '1'")[0]?.key).toBe('ns:lr');
    expect(runs('metrics.2nd_pass > 0')[0]?.key).toBe('2nd_pass');
  });

  it('reads keys quoted with backticks or double quotes', () => {
    expect(runs('metrics.`my metric` > 1')[0]).toEqual({
      entity: 'metric',
      key: 'my metric',
      comparator: '>',
      value: 1,
    });
    expect(runs('tags."mlflow.user" = \'ada\'')[0]?.key).toBe('mlflow.user');
    expect(runs("tags.`a.b c` = 'x'")[0]?.key).toBe('a.b c');
    expect(runs("params.`with``tick` = 'x'")[0]?.key).toBe('with`tick');
  });

  it('reads escaped quotes in values', () => {
    expect(runs("tags.note = 'it''s'")[0]?.value).toBe("it's");
    expect(runs("tags.note = 'it\\'s'")[0]?.value).toBe("it's");
    expect(runs('tags.note = "say ""hi"""')[0]?.value).toBe('say "hi"');
    expect(runs('tags.note = "a\\\\b"')[0]?.value).toBe('a\\b');
    expect(runs('tags.note = "it\'s"')[0]?.value).toBe("it's");
  });

  it('keeps spaces, keywords and LIKE wildcards inside values verbatim', () => {
    expect(runs("tags.note = ' AND x OR (y) '")[0]?.value).toBe(' AND x OR (y) ');
    expect(runs("params.p LIKE '%_\\%'")[0]?.value).toBe('%_\\%');
  });
});

describe('parseSearchFilter: run attributes', () => {
  it.each([
    ["attributes.status = 'FINISHED'", 'status', '=', 'FINISHED'],
    ["attribute.run_name LIKE 'sweep-%'", 'run_name', 'LIKE', 'sweep-%'],
    ["attr.user_id != 'bob'", 'user_id', '!=', 'bob'],
    ["run.artifact_uri ILIKE 's3://%'", 'artifact_uri', 'ILIKE', 's3://%'],
    ["status = 'RUNNING'", 'status', '=', 'RUNNING'],
    ['"status" = \'RUNNING\'', 'status', '=', 'RUNNING'],
    ["`run_id` = 'abc'", 'run_id', '=', 'abc'],
    ['attributes.start_time >= 1700000000000', 'start_time', '>=', 1700000000000],
    ['end_time < 5', 'end_time', '<', 5],
  ] as const)('parses %s', (filter, key, comparator, value) => {
    expect(runs(filter)).toEqual([{ entity: 'attribute', key, comparator, value }]);
  });

  it('normalises aliases', () => {
    expect(runs('created > 1')[0]).toMatchObject({ key: 'start_time', value: 1 });
    expect(runs('attributes.Created > 1')[0]?.key).toBe('start_time');
    expect(runs("`Run name` = 'a'")[0]?.key).toBe('run_name');
    expect(runs("attributes.`run name` = 'a'")[0]?.key).toBe('run_name');
  });

  it('parses IN and NOT IN lists for run_id', () => {
    expect(runs("attributes.run_id IN ('a1', \"b2\",'c3')")).toEqual([
      { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['a1', 'b2', 'c3'] },
    ]);
    expect(runs("run_id not in ('a1')")).toEqual([
      { entity: 'attribute', key: 'run_id', comparator: 'NOT IN', value: ['a1'] },
    ]);
  });
});

describe('parseSearchFilter: datasets', () => {
  it.each([
    ["datasets.name = 'iris'", 'name', '=', 'iris'],
    ["dataset.digest != 'abc'", 'digest', '!=', 'abc'],
    ["datasets.context LIKE 'train%'", 'context', 'LIKE', 'train%'],
    ["datasets.name ILIKE 'IRIS'", 'name', 'ILIKE', 'IRIS'],
    ["datasets.name IN ('iris', 'mnist')", 'name', 'IN', ['iris', 'mnist']],
    ["datasets.context NOT IN ('eval')", 'context', 'NOT IN', ['eval']],
  ] as const)('parses %s', (filter, key, comparator, value) => {
    expect(runs(filter)).toEqual([{ entity: 'dataset', key, comparator, value }]);
  });
});

describe('parseSearchFilter: conjunctions and keywords', () => {
  it('joins clauses with AND in any case', () => {
    const clauses = runs(
      "metrics.acc > 0.9 AND params.model = 'cnn' and tags.team like 'v%' aNd status ilike 'fin%'",
    );
    expect(clauses).toEqual([
      { entity: 'metric', key: 'acc', comparator: '>', value: 0.9 },
      { entity: 'param', key: 'model', comparator: '=', value: 'cnn' },
      { entity: 'tag', key: 'team', comparator: 'LIKE', value: 'v%' },
      { entity: 'attribute', key: 'status', comparator: 'ILIKE', value: 'fin%' },
    ]);
  });

  it('needs no spaces around operators and tolerates extra whitespace', () => {
    expect(runs("metrics.a>=1 AND params.b='x'")).toHaveLength(2);
    expect(runs("  metrics.a   >   1\n\tAND\n  tags.t  =  'x'  ")).toHaveLength(2);
  });

  it('parses the filter the MLflow Python client sends', () => {
    expect(runs("metrics.acc > 0.5 and params.alpha = '0.5'")).toEqual([
      { entity: 'metric', key: 'acc', comparator: '>', value: 0.5 },
      { entity: 'param', key: 'alpha', comparator: '=', value: '0.5' },
    ]);
  });

  it('allows keys that spell keywords when they carry a prefix', () => {
    expect(runs("tags.and = 'x' AND params.in = 'y'").map((c) => c.key)).toEqual(['and', 'in']);
  });
});

describe('parseSearchFilter: other searches', () => {
  it('experiments: name, times and tags', () => {
    expect(
      parseSearchFilter("name LIKE 'exp-%' AND attributes.name != 'x'", experimentSearchGrammar),
    ).toEqual([
      { entity: 'attribute', key: 'name', comparator: 'LIKE', value: 'exp-%' },
      { entity: 'attribute', key: 'name', comparator: '!=', value: 'x' },
    ]);
    expect(
      parseSearchFilter('creation_time > 1 AND last_update_time <= 2', experimentSearchGrammar).map(
        (c) => c.value,
      ),
    ).toEqual([1, 2]);
    expect(parseSearchFilter("tags.`project name` = 'p'", experimentSearchGrammar)).toEqual([
      { entity: 'tag', key: 'project name', comparator: '=', value: 'p' },
    ]);
  });

  it('registered models: name and tags', () => {
    expect(
      parseSearchFilter("name ILIKE '%shapes%' AND tags.stage = 'prod'", registeredModelSearchGrammar),
    ).toEqual([
      { entity: 'attribute', key: 'name', comparator: 'ILIKE', value: '%shapes%' },
      { entity: 'tag', key: 'stage', comparator: '=', value: 'prod' },
    ]);
  });

  it('model versions: name, run_id (with IN), source_path, version_number and tags', () => {
    expect(
      parseSearchFilter(
        "name = 'm' AND run_id IN ('r1', 'r2') AND source_path LIKE 's3://%' AND version_number >= 2 " +
          "AND tags.t = 'x'",
        modelVersionSearchGrammar,
      ),
    ).toEqual([
      { entity: 'attribute', key: 'name', comparator: '=', value: 'm' },
      { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['r1', 'r2'] },
      { entity: 'attribute', key: 'source_path', comparator: 'LIKE', value: 's3://%' },
      { entity: 'attribute', key: 'version_number', comparator: '>=', value: 2 },
      { entity: 'tag', key: 't', comparator: '=', value: 'x' },
    ]);
  });
});

describe('parseSearchFilter: malformed input', () => {
  it.each([
    // [filter, position, text the message must contain]
    ['metrics.acc >> 1', 13, "unexpected '>' at position 13, expected a value"],
    ['metrics.acc > ', 14, 'unexpected end of input at position 14, expected a value'],
    ['metrics.acc == 1', 13, "unexpected '=' at position 13, expected a value"],
    ['metrics.acc ! 1', 12, "unexpected '!' at position 12, expected a comparator"],
    ['metrics.acc 1', 12, "unexpected '1' at position 12, expected a comparator (=, !="],
    ['metrics.acc', 11, 'unexpected end of input at position 11, expected a comparator'],
    ["tags.a = 'x' AND", 16, "unexpected end of input after 'AND' at position 16, expected another clause"],
    [
      "tags.a = 'x' AND  and tags.b = 'y'",
      18,
      "unexpected keyword 'and' at position 18, expected an identifier",
    ],
    ["tags.a = 'x' OR tags.b = 'y'", 13, "unsupported 'OR' at position 13, expected 'AND' or end of input"],
    ["(tags.a = 'x')", 0, "unexpected '(': parentheses are not supported at position 0"],
    ["tags.a = 'x' tags.b = 'y'", 13, "unexpected 'tags.b' after a complete clause at position 13"],
    ["tags.a = 'x')", 12, "unexpected ')' after a complete clause at position 12, expected 'AND'"],
    ["tags.a = 'x';", 12, "unexpected character ';' at position 12"],
    ["tags.a = 'abc", 9, "unterminated string 'abc at position 9, expected a closing '"],
    ['tags.a = "abc', 9, 'unterminated string "abc at position 9, expected a closing "'],
    [
      "tags.`abc = 'x'",
      5,
      "unterminated backtick-quoted name `abc = 'x' at position 5, expected a closing `",
    ],
    ['metrics.a > 1abc', 12, "malformed number '1abc' at position 12, expected a number"],
    ['metrics.a > 1.2.3', 12, "malformed number '1.2.3' at position 12"],
    ['metrics.a > 1e', 12, "malformed number '1e' at position 12"],
    ['run_id IN ()', 11, 'empty list at position 11, expected at least one quoted string'],
    ["run_id IN 'a'", 10, "unexpected 'a' at position 10, expected a parenthesised list"],
    ["run_id IN ('a' 'b')", 15, "unexpected 'b' in list at position 15, expected ',' or ')'"],
    ["run_id IN ('a', 1)", 16, "unexpected '1' in list at position 16, expected a quoted string"],
    ["run_id IN ('a',", 15, 'unexpected end of input in list at position 15, expected a quoted string'],
    ["tags.a IS 'x'", 10, "unexpected 'x' after 'IS' at position 10, expected 'NULL' or 'NOT NULL'"],
    ['tags.a IS NOT', 13, "unexpected end of input after 'IS' at position 13, expected 'NULL' or 'NOT NULL'"],
    ["tags.a NOT LIKE 'x'", 11, "unexpected 'LIKE' after 'NOT' at position 11, expected 'IN'"],
    ["tags. = 'x'", 5, "missing key after 'tags.' at position 5"],
    ['tags.a."b" = \'x\'', 7, 'a quoted key must be the whole key'],
    [
      "'status' = 'x'",
      0,
      "unexpected 'status' at position 0, expected an identifier such as 'metrics.<key>'",
    ],
    ['= 1', 0, "unexpected '=' at position 0, expected an identifier"],
  ])('rejects %j at position %i', (filter, position, fragment) => {
    const message = filterFailure(filter);
    expect(message).toContain(`at position ${position}`);
    expect(message).toContain(fragment);
  });

  it('rejects an unknown entity prefix and lists the valid ones', () => {
    const message = filterFailure('metricz.acc > 1');
    expect(message).toContain("Invalid entity type 'metricz' for runs at position 0");
    for (const prefix of ['metrics', 'params', 'tags', 'attributes', 'datasets']) {
      expect(message).toContain(`'${prefix}'`);
    }
  });

  it('matches prefixes exactly, as MLflow does', () => {
    expect(filterFailure('METRICS.acc > 1')).toContain("Invalid entity type 'METRICS'");
  });

  it('rejects a metric compared to a string, like MLflow', () => {
    const message = filterFailure("metrics.acc = 'x'");
    expect(message).toContain("Expected numeric value type for metric. Found 'x' at position 14");
    expect(filterFailure('metrics.acc = "0.5"')).toContain('Found "0.5" at position 14');
    expect(filterFailure('metrics.acc = abc')).toContain("Found 'abc' at position 14");
  });

  it('rejects a numeric attribute compared to a string', () => {
    expect(filterFailure("start_time > '1'")).toContain(
      "Expected numeric value type for numeric attribute: start_time. Found '1' at position 13",
    );
  });

  it('rejects an unquoted or wrongly quoted string value', () => {
    expect(filterFailure('params.a = abc')).toContain(
      "Expected a quoted string value for param 'a'. Found 'abc' at position 11, expected a value in single or double quotes",
    );
    expect(filterFailure('params.a = `abc`')).toContain("Found '`abc`' at position 11");
    expect(filterFailure('tags.a = 1')).toContain("Found '1' at position 9");
  });

  it('rejects comparators an entity does not allow, listing the allowed ones', () => {
    expect(filterFailure("metrics.acc LIKE '1'")).toContain(
      "Invalid comparator 'LIKE' for metric 'acc' at position 12, expected one of =, !=, >, >=, <, <=",
    );
    expect(filterFailure('params.p > 1')).toContain(
      "Invalid comparator '>' for param 'p' at position 9, expected one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL",
    );
    expect(filterFailure("status IN ('a')")).toContain(
      "Invalid comparator 'IN' for attribute 'status' at position 7, expected one of =, !=, LIKE, ILIKE",
    );
    expect(filterFailure('metrics.acc IS NULL')).toContain("Invalid comparator 'IS NULL' for metric 'acc'");
    expect(filterFailure("start_time LIKE '1%'")).toContain(
      "Invalid comparator 'LIKE' for attribute 'start_time'",
    );
  });

  it('rejects unknown attribute and dataset keys, listing the valid ones', () => {
    const message = filterFailure("foo = 'x'");
    expect(message).toContain("Invalid attribute key 'foo' for runs at position 0, expected one of 'run_id'");
    expect(message).toContain("or a prefixed key such as 'metrics.<key>'");
    expect(filterFailure("attributes.lifecycle_stage = 'active'")).toContain(
      "Invalid attribute key 'lifecycle_stage' for runs at position 11",
    );
    expect(filterFailure("datasets.foo = 'x'")).toContain(
      "Invalid dataset key 'foo' for runs at position 9, expected one of 'name', 'digest', 'context'",
    );
  });

  it('quotes the whole filter even with leading whitespace, counting positions in the raw string', () => {
    expect(filterFailure('  metrics.acc >> 1')).toContain("unexpected '>' at position 15");
  });

  it('applies each search its own grammar', () => {
    expect(filterFailure('metrics.acc > 1', experimentSearchGrammar)).toContain(
      "Invalid entity type 'metrics' for experiments at position 0, expected one of 'tags', 'tag', 'attributes', 'attribute'",
    );
    expect(filterFailure("experiment_id = '1'", experimentSearchGrammar)).toContain(
      "Invalid attribute key 'experiment_id' for experiments",
    );
    expect(filterFailure("creation_time = 'x'", experimentSearchGrammar)).toContain(
      'Expected numeric value type for numeric attribute: creation_time',
    );
    expect(filterFailure('tags.t IS NULL', experimentSearchGrammar)).toContain(
      "Invalid comparator 'IS NULL' for tag 't'",
    );
    expect(filterFailure("run_id = 'r'", registeredModelSearchGrammar)).toContain(
      "Invalid attribute key 'run_id' for registered models",
    );
    expect(filterFailure("name IN ('a')", registeredModelSearchGrammar)).toContain(
      "Invalid comparator 'IN' for attribute 'name'",
    );
    expect(filterFailure("run_id NOT IN ('a')", modelVersionSearchGrammar)).toContain(
      "Invalid comparator 'NOT IN' for attribute 'run_id' at position 7, expected one of =, !=, LIKE, ILIKE, IN",
    );
    expect(filterFailure("version_number = '1'", modelVersionSearchGrammar)).toContain(
      "Found '1' at position 17",
    );
    expect(filterFailure("name == 'x'", modelVersionSearchGrammar)).toContain("unexpected '=' at position 6");
  });
});

describe('parseOrderBy', () => {
  it('returns nothing for missing or empty lists', () => {
    expect(parseOrderBy(undefined, runSearchGrammar)).toEqual([]);
    expect(parseOrderBy([], runSearchGrammar)).toEqual([]);
  });

  it('orders runs by metrics, params, tags and attributes', () => {
    expect(
      parseOrderBy(
        [
          'metrics.acc DESC',
          'params.lr asc',
          'tags.`mlflow.runName`',
          'attributes.start_time desc',
          'end_time',
          'created DESC',
          'metrics."my metric" Asc',
          'run_name',
          'attr.status',
        ],
        runSearchGrammar,
      ),
    ).toEqual([
      { entity: 'metric', key: 'acc', ascending: false },
      { entity: 'param', key: 'lr', ascending: true },
      { entity: 'tag', key: 'mlflow.runName', ascending: true },
      { entity: 'attribute', key: 'start_time', ascending: false },
      { entity: 'attribute', key: 'end_time', ascending: true },
      { entity: 'attribute', key: 'start_time', ascending: false },
      { entity: 'metric', key: 'my metric', ascending: true },
      { entity: 'attribute', key: 'run_name', ascending: true },
      { entity: 'attribute', key: 'status', ascending: true },
    ]);
  });

  it('orders experiments, registered models and model versions by their attributes', () => {
    expect(parseOrderBy(['experiment_id DESC', 'attributes.name'], experimentSearchGrammar)).toEqual([
      { entity: 'attribute', key: 'experiment_id', ascending: false },
      { entity: 'attribute', key: 'name', ascending: true },
    ]);
    expect(
      parseOrderBy(['creation_timestamp DESC', 'timestamp', 'name ASC'], registeredModelSearchGrammar),
    ).toEqual([
      { entity: 'attribute', key: 'creation_timestamp', ascending: false },
      { entity: 'attribute', key: 'last_updated_timestamp', ascending: true },
      { entity: 'attribute', key: 'name', ascending: true },
    ]);
    expect(
      parseOrderBy(['version_number DESC', 'last_updated_timestamp'], modelVersionSearchGrammar),
    ).toEqual([
      { entity: 'attribute', key: 'version_number', ascending: false },
      { entity: 'attribute', key: 'last_updated_timestamp', ascending: true },
    ]);
  });

  it.each([
    [
      'metrics.acc DESC extra',
      runSearchGrammar,
      17,
      "unexpected 'extra' at position 17, expected end of input",
    ],
    [
      'start_time sideways',
      runSearchGrammar,
      11,
      "unexpected 'sideways' at position 11, expected 'ASC', 'DESC'",
    ],
    ['', runSearchGrammar, 0, "empty clause at position 0, expected one of 'metrics.<key>'"],
    ['foo DESC', runSearchGrammar, 0, "Invalid order_by attribute 'foo' for runs at position 0"],
    ['datasets.name', runSearchGrammar, 9, 'runs cannot be ordered by datasets at position 9'],
    ['metricz.acc', runSearchGrammar, 0, "Invalid entity type 'metricz'"],
    ['metrics.acc, params.lr', runSearchGrammar, 11, "unexpected ',' at position 11"],
    ['metrics.`acc DESC', runSearchGrammar, 8, 'unterminated backtick-quoted name'],
    ['tags.t', experimentSearchGrammar, 5, 'experiments cannot be ordered by tags at position 5'],
    ['creation_timestamp', experimentSearchGrammar, 0, "expected one of 'name', 'experiment_id'"],
    ['version_number', registeredModelSearchGrammar, 0, "Invalid order_by attribute 'version_number'"],
    ['run_id DESC', modelVersionSearchGrammar, 0, "Invalid order_by attribute 'run_id' for model versions"],
  ] as const)('rejects %j', (clause, grammar, position, fragment) => {
    const message = failure(() => parseOrderBy([clause], grammar));
    expect(message).toContain(`Invalid order_by clause "${clause}": `);
    expect(message).toContain(`at position ${position}`);
    expect(message).toContain(fragment);
  });
});
