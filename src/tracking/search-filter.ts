import { invalidParameter } from '../core/errors.js';

/**
 * MLflow's search filter and order_by grammar, read by a small hand-written tokenizer and parser into plain
 * clauses that the stores turn into SQL. Pure: no I/O.
 *
 *   filter     := clause (AND clause)*
 *   clause     := identifier comparator value
 *   identifier := [prefix '.'] key | key          a bare key is an attribute
 *   key        := word ('.' word)* | `quoted` | "quoted"
 *   comparator := = | != | > | >= | < | <= | LIKE | ILIKE | IN | NOT IN | IS NULL | IS NOT NULL
 *   value      := 'string' | "string" | number | '(' string (',' string)* ')'
 *   order_by   := identifier [ASC | DESC]
 *
 * Keywords are case-insensitive; prefixes and keys are matched exactly, as MLflow matches them.
 */

export type FilterEntity = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';

export type Comparator =
  | '='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<='
  | 'LIKE'
  | 'ILIKE'
  | 'IN'
  | 'NOT IN'
  | 'IS NULL'
  | 'IS NOT NULL';

/**
 * One condition of a filter. `value` is a number for numeric keys, a string for string keys, the list for
 * IN / NOT IN, and null for IS NULL / IS NOT NULL. Attribute keys are normalised (`created` is `start_time`).
 */
export interface FilterClause {
  entity: FilterEntity;
  key: string;
  comparator: Comparator;
  value: string | number | string[] | null;
}

export interface OrderByClause {
  entity: FilterEntity;
  key: string;
  ascending: boolean;
}

export type ValueKind = 'string' | 'number';

/** How one key may be compared: the comparators it admits and the kind of value on the right. */
export interface KeyRule {
  readonly comparators: readonly Comparator[];
  readonly value: ValueKind;
}

/** What one kind of search accepts in its filter and its order_by clauses. */
export interface SearchGrammar {
  /** What is searched, for messages: 'runs', 'experiments'. */
  readonly subject: string;
  /** Prefix as written before the first dot, mapped to its entity. */
  readonly prefixes: Readonly<Record<string, FilterEntity>>;
  /** Entities whose keys are free (metrics, params, tags), with the rule every key follows. */
  readonly openEntities: Readonly<Partial<Record<FilterEntity, KeyRule>>>;
  /** Entities with a closed set of keys (attributes, datasets), with each key's rule. */
  readonly closedEntities: Readonly<Partial<Record<FilterEntity, Readonly<Record<string, KeyRule>>>>>;
  /** Other spellings of attribute keys, normalised on parse (`created` is `start_time`). */
  readonly attributeAliases: Readonly<Record<string, string>>;
  /** Open entities order_by accepts with any key. */
  readonly orderEntities: readonly FilterEntity[];
  /** Attribute keys order_by accepts (after aliasing). */
  readonly orderAttributes: readonly string[];
}

const NUMERIC: readonly Comparator[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];
const NUMBER_KEY: KeyRule = { comparators: NUMERIC, value: 'number' };
const STRING_KEY: KeyRule = { comparators: STRING, value: 'string' };
const STRING_OR_LIST_KEY: KeyRule = { comparators: [...STRING, 'IN', 'NOT IN'], value: 'string' };

const TAG_PREFIXES = { tags: 'tag', tag: 'tag' } as const;
const ATTRIBUTE_PREFIXES = { attributes: 'attribute', attribute: 'attribute' } as const;
const TIMESTAMP_ALIAS = { timestamp: 'last_updated_timestamp' } as const;

/** search runs: metrics, params, tags, run attributes and the datasets a run used. */
export const runSearchGrammar: SearchGrammar = {
  subject: 'runs',
  prefixes: {
    metrics: 'metric',
    metric: 'metric',
    params: 'param',
    param: 'param',
    parameters: 'param',
    parameter: 'param',
    ...TAG_PREFIXES,
    ...ATTRIBUTE_PREFIXES,
    attr: 'attribute',
    run: 'attribute',
    datasets: 'dataset',
    dataset: 'dataset',
  },
  openEntities: {
    metric: NUMBER_KEY,
    param: { comparators: [...STRING, 'IS NULL', 'IS NOT NULL'], value: 'string' },
    tag: { comparators: [...STRING, 'IS NULL', 'IS NOT NULL'], value: 'string' },
  },
  closedEntities: {
    attribute: {
      run_id: STRING_OR_LIST_KEY,
      run_name: STRING_KEY,
      status: STRING_KEY,
      user_id: STRING_KEY,
      artifact_uri: STRING_KEY,
      start_time: NUMBER_KEY,
      end_time: NUMBER_KEY,
    },
    dataset: { name: STRING_OR_LIST_KEY, digest: STRING_OR_LIST_KEY, context: STRING_OR_LIST_KEY },
  },
  attributeAliases: {
    created: 'start_time',
    Created: 'start_time',
    'run name': 'run_name',
    'Run name': 'run_name',
    'Run Name': 'run_name',
  },
  orderEntities: ['metric', 'param', 'tag'],
  orderAttributes: ['start_time', 'end_time', 'run_name', 'run_id', 'status', 'user_id', 'artifact_uri'],
};

/** search experiments: name, creation and update times, tags. */
export const experimentSearchGrammar: SearchGrammar = {
  subject: 'experiments',
  prefixes: { ...TAG_PREFIXES, ...ATTRIBUTE_PREFIXES },
  openEntities: { tag: STRING_KEY },
  closedEntities: {
    attribute: { name: STRING_KEY, creation_time: NUMBER_KEY, last_update_time: NUMBER_KEY },
  },
  attributeAliases: {},
  orderEntities: [],
  orderAttributes: ['name', 'experiment_id', 'creation_time', 'last_update_time'],
};

/** search registered models: name and tags; ordered by name or timestamps. */
export const registeredModelSearchGrammar: SearchGrammar = {
  subject: 'registered models',
  prefixes: { ...TAG_PREFIXES, ...ATTRIBUTE_PREFIXES },
  openEntities: { tag: STRING_KEY },
  closedEntities: { attribute: { name: STRING_KEY } },
  attributeAliases: TIMESTAMP_ALIAS,
  orderEntities: [],
  orderAttributes: ['name', 'creation_timestamp', 'last_updated_timestamp'],
};

/** search model versions: name, run, source, version and tags. As in MLflow, run_id has IN but not NOT IN. */
export const modelVersionSearchGrammar: SearchGrammar = {
  subject: 'model versions',
  prefixes: { ...TAG_PREFIXES, ...ATTRIBUTE_PREFIXES },
  openEntities: { tag: STRING_KEY },
  closedEntities: {
    attribute: {
      name: STRING_KEY,
      run_id: { comparators: [...STRING, 'IN'], value: 'string' },
      source_path: STRING_KEY,
      version_number: NUMBER_KEY,
    },
  },
  attributeAliases: TIMESTAMP_ALIAS,
  orderEntities: [],
  orderAttributes: ['name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'],
};

/** A piece of an identifier between dots; quoted pieces keep dots and spaces. */
interface Segment {
  text: string;
  quoted: boolean;
  start: number;
}

type Token = { start: number; text: string } & (
  | { kind: 'identifier'; segments: Segment[] }
  | { kind: 'string'; quote: "'" | '"'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'operator' | 'lparen' | 'rparen' | 'comma' | 'end' }
);

/** A problem in the input; the public functions turn it into an INVALID_PARAMETER_VALUE error. */
class FilterSyntaxError extends Error {
  constructor(
    readonly problem: string,
    readonly position: number,
    readonly expected?: string,
  ) {
    super(problem);
  }
}

const WORD_START = /[\p{L}_]/u;
// Hyphens, slashes and colons are common in metric names (`train/loss`); MLflow wants them quoted, we do not.
const WORD_CHAR = /[\p{L}\p{N}_\-/:]/u;
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;
const OPERATORS = ['!=', '>=', '<=', '=', '>', '<'] as const;

/** Splits a filter or order_by clause into tokens; the last token is always `end`. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;

  const readQuoted = (quote: string): string => {
    const start = i;
    let value = '';
    i++;
    while (i < input.length) {
      const ch = input[i] as string;
      const next = input[i + 1];
      // SQL's doubled quote and a backslash both escape the quote; backticks only double.
      if (
        (ch === quote && next === quote) ||
        (ch === '\\' && quote !== '`' && (next === quote || next === '\\'))
      ) {
        value += next;
        i += 2;
      } else if (ch === quote) {
        i++;
        return value;
      } else {
        value += ch;
        i++;
      }
    }
    const what = quote === '`' ? 'backtick-quoted name' : 'string';
    throw new FilterSyntaxError(`unterminated ${what} ${input.slice(start)}`, start, `a closing ${quote}`);
  };

  const readWord = (): string => {
    const start = i;
    while (i < input.length && WORD_CHAR.test(input[i] as string)) i++;
    return input.slice(start, i);
  };

  while (i < input.length) {
    const ch = input[i] as string;
    const start = i;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      i++;
      tokens.push({ kind: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma', start, text: ch });
    } else if (ch === '=' || ch === '!' || ch === '<' || ch === '>') {
      const operator = OPERATORS.find((op) => input.startsWith(op, i));
      if (operator === undefined) {
        throw new FilterSyntaxError(`unexpected '${ch}'`, start, "a comparator such as '!='");
      }
      i += operator.length;
      tokens.push({ kind: 'operator', start, text: operator });
    } else if (ch === "'" || ch === '"') {
      const value = readQuoted(ch);
      tokens.push({ kind: 'string', quote: ch, value, start, text: input.slice(start, i) });
    } else if (/[0-9]/.test(ch) || (/[-+.]/.test(ch) && /[0-9.]/.test(input[i + 1] ?? ''))) {
      const match = NUMBER.exec(input.slice(i));
      const end = i + (match?.[0].length ?? 0);
      if (match === null || WORD_CHAR.test(input[end] ?? ' ') || input[end] === '.') {
        const word = input.slice(i).match(/^[^\s()',"=<>!]+/)?.[0] ?? ch;
        throw new FilterSyntaxError(`malformed number '${word}'`, start, 'a number such as 1, -0.5 or 1e-3');
      }
      i = end;
      tokens.push({ kind: 'number', value: Number(match[0]), start, text: match[0] });
    } else if (WORD_START.test(ch) || ch === '`') {
      const segments: Segment[] = [];
      for (;;) {
        const segmentStart = i;
        const quote = input[i];
        if (quote === '`' || (quote === '"' && segments.length > 0)) {
          segments.push({ text: readQuoted(quote), quoted: true, start: segmentStart });
        } else {
          segments.push({ text: readWord(), quoted: false, start: segmentStart });
        }
        if (input[i] !== '.') break;
        i++;
      }
      tokens.push({ kind: 'identifier', segments, start, text: input.slice(start, i) });
    } else {
      throw new FilterSyntaxError(`unexpected character '${ch}'`, start);
    }
  }
  tokens.push({ kind: 'end', start: input.length, text: '' });
  return tokens;
}

const describeToken = (token: Token): string =>
  token.kind === 'end' ? 'end of input' : token.kind === 'string' ? token.text : `'${token.text}'`;

const quoteList = (items: readonly string[]): string => items.map((item) => `'${item}'`).join(', ');

/** The keyword a token spells (upper-cased), or undefined when it is not a single bare word. */
function keyword(token: Token | undefined): string | undefined {
  if (token?.kind !== 'identifier' || token.segments.length !== 1) return undefined;
  const [segment] = token.segments;
  return segment === undefined || segment.quoted ? undefined : segment.text.toUpperCase();
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'ILIKE']);

interface Identifier {
  entity: FilterEntity;
  key: string;
  rule: KeyRule;
}

type Purpose = 'filter' | 'order';

/** Reads `prefix.key`, a bare attribute or a double-quoted attribute, and checks it against the grammar. */
function resolveIdentifier(token: Token, grammar: SearchGrammar, purpose: Purpose): Identifier {
  const prefixHint = `an identifier such as ${quoteList(prefixExamples(grammar))} or an attribute name`;
  if (token.kind === 'string' && token.quote === '"') {
    return resolveKey('attribute', token.value, token.start, grammar, purpose, true);
  }
  if (token.kind !== 'identifier') {
    throw new FilterSyntaxError(`unexpected ${describeToken(token)}`, token.start, prefixHint);
  }
  const word = keyword(token);
  if (word !== undefined && KEYWORDS.has(word)) {
    throw new FilterSyntaxError(`unexpected keyword '${token.text}'`, token.start, prefixHint);
  }
  const [first, ...rest] = token.segments as [Segment, ...Segment[]];
  if (rest.length === 0) return resolveKey('attribute', first.text, first.start, grammar, purpose, true);

  const entity = grammar.prefixes[first.text];
  if (entity === undefined) {
    throw new FilterSyntaxError(
      `Invalid entity type '${first.text}' for ${grammar.subject}`,
      first.start,
      `one of ${quoteList(Object.keys(grammar.prefixes))}`,
    );
  }
  const keyStart = rest[0]?.start ?? token.start;
  const quoted = rest.find((segment) => segment.quoted);
  if (quoted !== undefined && rest.length > 1) {
    throw new FilterSyntaxError(
      `a quoted key must be the whole key in '${token.text}'`,
      quoted.start,
      `${first.text}.\`<key>\``,
    );
  }
  const key = rest.map((segment) => segment.text).join('.');
  if (key === '') {
    throw new FilterSyntaxError(`missing key after '${first.text}.'`, keyStart, 'a key name');
  }
  return resolveKey(entity, key, keyStart, grammar, purpose, false);
}

function resolveKey(
  entity: FilterEntity,
  written: string,
  position: number,
  grammar: SearchGrammar,
  purpose: Purpose,
  bare: boolean,
): Identifier {
  const open = grammar.openEntities[entity];
  if (open !== undefined) {
    if (purpose === 'order' && !grammar.orderEntities.includes(entity)) {
      throw new FilterSyntaxError(
        `${grammar.subject} cannot be ordered by ${entity}s`,
        position,
        orderExpectation(grammar),
      );
    }
    return { entity, key: written, rule: open };
  }
  const keys = grammar.closedEntities[entity] ?? {};
  const key = entity === 'attribute' ? (grammar.attributeAliases[written] ?? written) : written;
  if (purpose === 'order') {
    if (entity !== 'attribute') {
      throw new FilterSyntaxError(
        `${grammar.subject} cannot be ordered by ${entity}s`,
        position,
        orderExpectation(grammar),
      );
    }
    if (!grammar.orderAttributes.includes(key)) {
      throw new FilterSyntaxError(
        `Invalid order_by attribute '${written}' for ${grammar.subject}`,
        position,
        orderExpectation(grammar),
      );
    }
    return { entity, key, rule: keys[key] ?? STRING_KEY };
  }
  const rule = keys[key];
  if (rule === undefined) {
    const prefixed = bare ? ` or a prefixed key such as ${quoteList(prefixExamples(grammar))}` : '';
    throw new FilterSyntaxError(
      `Invalid ${entity} key '${written}' for ${grammar.subject}`,
      position,
      `one of ${quoteList(Object.keys(keys))}${prefixed}`,
    );
  }
  return { entity, key, rule };
}

/** One `prefix.<key>` example per entity (the first prefix the grammar lists for it), attributes excluded. */
function prefixExamples(grammar: SearchGrammar, entities?: readonly FilterEntity[]): string[] {
  const examples = new Map<FilterEntity, string>();
  for (const [prefix, entity] of Object.entries(grammar.prefixes)) {
    if (entity === 'attribute' || examples.has(entity)) continue;
    if (entities === undefined || entities.includes(entity)) examples.set(entity, `${prefix}.<key>`);
  }
  return [...examples.values()];
}

function orderExpectation(grammar: SearchGrammar): string {
  const open = prefixExamples(grammar, grammar.orderEntities);
  return `one of ${quoteList([...open, ...grammar.orderAttributes])}`;
}

/** A cursor over the tokens; `end` repeats forever, so reading past it is safe. */
class TokenStream {
  private index = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  peek(ahead = 0): Token {
    const last = this.tokens[this.tokens.length - 1] as Token;
    return this.tokens[this.index + ahead] ?? last;
  }

  next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }
}

const COMPARATOR_HINT = 'a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)';

function readComparator(stream: TokenStream): Comparator {
  const token = stream.next();
  if (token.kind === 'operator') return token.text as Comparator;
  const word = keyword(token);
  if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return word;
  if (word === 'NOT') {
    const after = stream.next();
    if (keyword(after) === 'IN') return 'NOT IN';
    throw new FilterSyntaxError(`unexpected ${describeToken(after)} after 'NOT'`, after.start, "'IN'");
  }
  if (word === 'IS') {
    const after = stream.next();
    if (keyword(after) === 'NULL') return 'IS NULL';
    if (keyword(after) === 'NOT' && keyword(stream.peek()) === 'NULL') {
      stream.next();
      return 'IS NOT NULL';
    }
    const bad = keyword(after) === 'NOT' ? stream.peek() : after;
    throw new FilterSyntaxError(
      `unexpected ${describeToken(bad)} after 'IS'`,
      bad.start,
      "'NULL' or 'NOT NULL'",
    );
  }
  throw new FilterSyntaxError(`unexpected ${describeToken(token)}`, token.start, COMPARATOR_HINT);
}

function readValue(stream: TokenStream, identifier: Identifier): string | number {
  const token = stream.next();
  const { entity, key, rule } = identifier;
  if (token.kind !== 'string' && token.kind !== 'number' && token.kind !== 'identifier') {
    throw new FilterSyntaxError(`unexpected ${describeToken(token)}`, token.start, 'a value');
  }
  if (rule.value === 'number') {
    if (token.kind === 'number') return token.value;
    const what = entity === 'metric' ? 'metric' : `numeric ${entity}: ${key}`;
    throw new FilterSyntaxError(
      `Expected numeric value type for ${what}. Found ${describeToken(token)}`,
      token.start,
    );
  }
  if (token.kind === 'string') return token.value;
  throw new FilterSyntaxError(
    `Expected a quoted string value for ${entity} '${key}'. Found ${describeToken(token)}`,
    token.start,
    "a value in single or double quotes, e.g. 'my-value'",
  );
}

function readList(stream: TokenStream): string[] {
  const open = stream.next();
  if (open.kind !== 'lparen') {
    throw new FilterSyntaxError(
      `unexpected ${describeToken(open)}`,
      open.start,
      "a parenthesised list such as ('a', 'b')",
    );
  }
  if (stream.peek().kind === 'rparen') {
    throw new FilterSyntaxError('empty list', stream.peek().start, 'at least one quoted string');
  }
  const values: string[] = [];
  for (;;) {
    const item = stream.next();
    if (item.kind !== 'string') {
      throw new FilterSyntaxError(`unexpected ${describeToken(item)} in list`, item.start, 'a quoted string');
    }
    values.push(item.value);
    const separator = stream.next();
    if (separator.kind === 'rparen') return values;
    if (separator.kind !== 'comma') {
      throw new FilterSyntaxError(
        `unexpected ${describeToken(separator)} in list`,
        separator.start,
        "',' or ')'",
      );
    }
  }
}

function parseClauses(stream: TokenStream, grammar: SearchGrammar): FilterClause[] {
  const clauses: FilterClause[] = [];
  for (;;) {
    const start = stream.next();
    if (start.kind === 'end') {
      const afterAnd = clauses.length > 0;
      throw new FilterSyntaxError(
        afterAnd ? "unexpected end of input after 'AND'" : 'unexpected end of input',
        start.start,
        afterAnd ? 'another clause' : 'a clause',
      );
    }
    if (start.kind === 'lparen') {
      throw new FilterSyntaxError(
        "unexpected '(': parentheses are not supported",
        start.start,
        'an identifier (clauses can only be joined by AND)',
      );
    }
    const identifier = resolveIdentifier(start, grammar, 'filter');
    const comparatorToken = stream.peek();
    const comparator = readComparator(stream);
    if (!identifier.rule.comparators.includes(comparator)) {
      throw new FilterSyntaxError(
        `Invalid comparator '${comparator}' for ${identifier.entity} '${identifier.key}'`,
        comparatorToken.start,
        `one of ${identifier.rule.comparators.join(', ')}`,
      );
    }
    let value: FilterClause['value'] = null;
    if (comparator === 'IN' || comparator === 'NOT IN') value = readList(stream);
    else if (comparator !== 'IS NULL' && comparator !== 'IS NOT NULL') value = readValue(stream, identifier);
    clauses.push({ entity: identifier.entity, key: identifier.key, comparator, value });

    const joiner = stream.next();
    if (joiner.kind === 'end') return clauses;
    const word = keyword(joiner);
    if (word === 'AND') continue;
    const problem =
      word === 'OR' ? "unsupported 'OR'" : `unexpected ${describeToken(joiner)} after a complete clause`;
    throw new FilterSyntaxError(problem, joiner.start, "'AND' or end of input");
  }
}

function failWith(kind: string, input: string, error: unknown): never {
  if (error instanceof FilterSyntaxError) {
    const expected = error.expected === undefined ? '' : `, expected ${error.expected}`;
    throw invalidParameter(
      `Invalid ${kind} "${input}": ${error.problem} at position ${error.position}${expected}`,
    );
  }
  throw error;
}

/**
 * Parses an MLflow search filter (`metrics.acc > 0.9 AND params.model = 'cnn'`) for one kind of search.
 * An empty or blank filter means no condition.
 *
 * @throws SlipwayError INVALID_PARAMETER_VALUE naming the filter, the 0-based position, the offending
 *   token and what was expected there.
 */
export function parseSearchFilter(filter: string | undefined, grammar: SearchGrammar): FilterClause[] {
  if (filter === undefined || filter.trim() === '') return [];
  try {
    return parseClauses(new TokenStream(tokenize(filter)), grammar);
  } catch (error) {
    return failWith('filter', filter, error);
  }
}

/**
 * Parses MLflow order_by clauses (`metrics.acc DESC`, `start_time`), ascending unless DESC is given.
 *
 * @throws SlipwayError INVALID_PARAMETER_VALUE naming the clause, the 0-based position and what was expected.
 */
export function parseOrderBy(
  clauses: readonly string[] | undefined,
  grammar: SearchGrammar,
): OrderByClause[] {
  return (clauses ?? []).map((clause) => {
    try {
      const stream = new TokenStream(tokenize(clause));
      const first = stream.next();
      if (first.kind === 'end') {
        throw new FilterSyntaxError('empty clause', first.start, orderExpectation(grammar));
      }
      const { entity, key } = resolveIdentifier(first, grammar, 'order');
      const direction = stream.next();
      const word = keyword(direction);
      if (direction.kind !== 'end' && word !== 'ASC' && word !== 'DESC') {
        throw new FilterSyntaxError(
          `unexpected ${describeToken(direction)}`,
          direction.start,
          "'ASC', 'DESC' or end of input",
        );
      }
      const rest = direction.kind === 'end' ? direction : stream.next();
      if (rest.kind !== 'end') {
        throw new FilterSyntaxError(`unexpected ${describeToken(rest)}`, rest.start, 'end of input');
      }
      return { entity, key, ascending: word !== 'DESC' };
    } catch (error) {
      return failWith('order_by clause', clause, error);
    }
  });
}
