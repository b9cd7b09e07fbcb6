import { invalidParameter } from '../core/errors.js';

/**
 * MLflow's search filter and order_by grammar, parsed by a small hand-written tokenizer and parser into plain
 * clauses that the stores turn into SQL. Pure: no I/O, exhaustively unit-tested.
 *
 *   filter  := clause (AND clause)*
 *   clause  := identifier comparator value
 *   identifier := [prefix '.'] key       key: bare (letters, digits, _ . - / :) or quoted with ` or "
 *   value   := 'string' | "string" | number | '(' string (',' string)* ')' | NULL (after IS / IS NOT)
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

type ValueKind = 'string' | 'number';

interface EntityRule {
  comparators: readonly Comparator[];
  value: ValueKind;
}

/** What one kind of search accepts. Attribute keys name their value kind; `inKeys` may also use IN / NOT IN. */
export interface SearchGrammar {
  what: string;
  prefixes: Readonly<Record<string, FilterEntity>>;
  entities: Partial<Readonly<Record<Exclude<FilterEntity, 'attribute'>, EntityRule>>>;
  attributes: Readonly<Record<string, ValueKind>>;
  /** Attribute aliases, normalised on parse (MLflow's `created` is `start_time`). */
  aliases?: Readonly<Record<string, string>>;
  inKeys: readonly string[];
  /** Attributes that order_by accepts (after aliasing), and whether metrics/params/tags may order. */
  orderAttributes: readonly string[];
  orderEntities: readonly FilterEntity[];
}

const NUMERIC: readonly Comparator[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];
const NULLABLE: readonly Comparator[] = [...STRING, 'IS NULL', 'IS NOT NULL'];
const ATTRIBUTE_PREFIXES = { attributes: 'attribute', attribute: 'attribute', attr: 'attribute' } as const;
const TAG_PREFIXES = { tags: 'tag', tag: 'tag' } as const;

export const runSearchGrammar: SearchGrammar = {
  what: 'runs',
  prefixes: {
    metrics: 'metric',
    metric: 'metric',
    params: 'param',
    param: 'param',
    parameters: 'param',
    parameter: 'param',
    ...TAG_PREFIXES,
    ...ATTRIBUTE_PREFIXES,
    run: 'attribute',
    datasets: 'dataset',
    dataset: 'dataset',
  },
  entities: {
    metric: { comparators: NUMERIC, value: 'number' },
    param: { comparators: NULLABLE, value: 'string' },
    tag: { comparators: NULLABLE, value: 'string' },
    dataset: { comparators: [...STRING, 'IN', 'NOT IN'], value: 'string' },
  },
  attributes: {
    run_id: 'string',
    run_name: 'string',
    status: 'string',
    user_id: 'string',
    artifact_uri: 'string',
    lifecycle_stage: 'string',
    start_time: 'number',
    end_time: 'number',
  },
  aliases: { created: 'start_time', Created: 'start_time' },
  inKeys: ['run_id', 'run_name', 'status', 'user_id'],
  orderAttributes: ['start_time', 'end_time', 'run_name', 'run_id', 'status', 'user_id', 'artifact_uri'],
  orderEntities: ['metric', 'param', 'tag', 'attribute'],
};

export const experimentSearchGrammar: SearchGrammar = {
  what: 'experiments',
  prefixes: { ...TAG_PREFIXES, ...ATTRIBUTE_PREFIXES },
  entities: { tag: { comparators: STRING, value: 'string' } },
  attributes: { name: 'string', creation_time: 'number', last_update_time: 'number' },
  inKeys: [],
  orderAttributes: ['name', 'experiment_id', 'creation_time', 'last_update_time'],
  orderEntities: ['attribute'],
};

export const registeredModelSearchGrammar: SearchGrammar = {
  what: 'registered models',
  prefixes: { ...TAG_PREFIXES },
  entities: { tag: { comparators: STRING, value: 'string' } },
  attributes: { name: 'string' },
  inKeys: [],
  orderAttributes: ['name', 'creation_timestamp', 'last_updated_timestamp'],
  aliases: { timestamp: 'last_updated_timestamp' },
  orderEntities: ['attribute'],
};

export const modelVersionSearchGrammar: SearchGrammar = {
  what: 'model versions',
  prefixes: { ...TAG_PREFIXES },
  entities: { tag: { comparators: STRING, value: 'string' } },
  attributes: { name: 'string', run_id: 'string', source_path: 'string', version_number: 'number' },
  inKeys: ['run_id'],
  orderAttributes: ['name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'],
  aliases: { timestamp: 'last_updated_timestamp' },
  orderEntities: ['attribute'],
};

type TokenType = 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma' | 'end';

interface Token {
  type: TokenType;
  /** For identifiers: the prefix part (before the first unquoted dot), if any. */
  prefix?: string;
  text: string;
  value?: string | number;
  position: number;
}

class FilterSyntaxError extends Error {
  constructor(
    readonly problem: string,
    readonly position: number,
  ) {
    super(problem);
  }
}

const IDENT_CHAR = /[A-Za-z0-9_.\-/:]/;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const readQuoted = (quote: string, start: number): string => {
    let out = '';
    let j = start + 1;
    while (j < input.length) {
      const ch = input[j] as string;
      if (ch === '\\' && j + 1 < input.length) {
        out += input[j + 1];
        j += 2;
        continue;
      }
      if (ch === quote) {
        // A doubled quote inside a string stands for the quote itself (SQL style).
        if (input[j + 1] === quote && quote !== '`') {
          out += quote;
          j += 2;
          continue;
        }
        i = j + 1;
        return out;
      }
      out += ch;
      j++;
    }
    throw new FilterSyntaxError(
      `unterminated ${quote === '`' ? 'backtick-quoted name' : 'string'} starting`,
      start,
    );
  };

  while (i < input.length) {
    const ch = input[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === '(') tokens.push({ type: 'lparen', text: ch, position: i++ });
    else if (ch === ')') tokens.push({ type: 'rparen', text: ch, position: i++ });
    else if (ch === ',') tokens.push({ type: 'comma', text: ch, position: i++ });
    else if (ch === '=' || ch === '!' || ch === '<' || ch === '>') {
      const two = input.slice(i, i + 2);
      const op = ['!=', '>=', '<=', '<>'].includes(two) ? two : ch;
      if (op === '!') throw new FilterSyntaxError("unexpected '!' (did you mean '!=')", i);
      i += op.length;
      if (input[i] === '=' || input[i] === '>' || input[i] === '<') {
        throw new FilterSyntaxError(`unexpected '${input[i]}' after '${op}'`, i);
      }
      tokens.push({ type: 'op', text: op === '<>' ? '!=' : op, position: start });
    } else if (ch === "'") {
      const value = readQuoted("'", start);
      tokens.push({ type: 'string', text: input.slice(start, i), value, position: start });
    } else if (ch === '"' || ch === '`') {
      // A quoted name standing alone (e.g. an attribute) or a double-quoted string value; the parser decides.
      const value = readQuoted(ch, start);
      tokens.push({
        type: ch === '`' ? 'ident' : 'string',
        text: input.slice(start, i),
        value,
        position: start,
      });
    } else if (
      /[0-9]/.test(ch) ||
      ((ch === '-' || ch === '+' || ch === '.') && /[0-9.]/.test(input[i + 1] ?? ''))
    ) {
      const match = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(input.slice(i));
      if (match === null) throw new FilterSyntaxError(`malformed number`, i);
      i += match[0].length;
      if (IDENT_CHAR.test(input[i] ?? ' ') && !/[.]/.test(input[i] ?? '')) {
        // Something like `1abc`: an identifier that starts with a digit.
        while (i < input.length && IDENT_CHAR.test(input[i] as string)) i++;
        tokens.push({
          type: 'ident',
          text: input.slice(start, i),
          value: input.slice(start, i),
          position: start,
        });
      } else {
        tokens.push({ type: 'number', text: match[0], value: Number(match[0]), position: start });
      }
    } else if (IDENT_CHAR.test(ch)) {
      while (i < input.length && IDENT_CHAR.test(input[i] as string)) i++;
      let text = input.slice(start, i);
      let value = text;
      let prefix: string | undefined;
      // `prefix.` followed by a quoted key: metrics."my metric", tags.`a b`
      if (text.endsWith('.') && (input[i] === '"' || input[i] === '`')) {
        prefix = text.slice(0, -1);
        const quoteStart = i;
        value = readQuoted(input[quoteStart] as string, quoteStart);
        text = input.slice(start, i);
      } else if (text.includes('.')) {
        const dot = text.indexOf('.');
        prefix = text.slice(0, dot);
        value = text.slice(dot + 1);
      }
      tokens.push({ type: 'ident', text, value, ...(prefix !== undefined && { prefix }), position: start });
    } else {
      throw new FilterSyntaxError(`unexpected character '${ch}'`, i);
    }
  }
  tokens.push({ type: 'end', text: '', position: input.length });
  return tokens;
}

const isKeyword = (token: Token | undefined, word: string): boolean =>
  token?.type === 'ident' && token.prefix === undefined && token.text.toUpperCase() === word;

const describeToken = (token: Token): string =>
  token.type === 'end' ? 'the end of the filter' : `'${token.text}'`;

interface Identifier {
  entity: FilterEntity;
  key: string;
}

function resolveIdentifier(token: Token, grammar: SearchGrammar, forOrder: boolean): Identifier {
  if (token.type !== 'ident') {
    throw new FilterSyntaxError(
      `expected an identifier such as 'metrics.acc' or 'name', got ${describeToken(token)}`,
      token.position,
    );
  }
  const key = String(token.value ?? token.text);
  if (token.prefix === undefined) {
    const name = grammar.aliases?.[key] ?? key;
    const known = forOrder ? grammar.orderAttributes : Object.keys(grammar.attributes);
    if (!known.includes(name)) {
      const prefixes = [...new Set(Object.keys(grammar.prefixes))].map((p) => `'${p}.'`).join(', ');
      throw new FilterSyntaxError(
        `unknown attribute '${key}' for ${grammar.what}; expected one of ${known.map((k) => `'${k}'`).join(', ')}` +
          (prefixes === '' ? '' : ` or a key with a prefix (${prefixes})`),
        token.position,
      );
    }
    return { entity: 'attribute', key: name };
  }
  const entity = grammar.prefixes[token.prefix.toLowerCase()];
  if (entity === undefined) {
    throw new FilterSyntaxError(
      `invalid entity type '${token.prefix}' for ${grammar.what}; valid prefixes are ${Object.keys(
        grammar.prefixes,
      )
        .map((p) => `'${p}'`)
        .join(', ')}`,
      token.position,
    );
  }
  if (key === '') throw new FilterSyntaxError(`missing key after '${token.prefix}.'`, token.position);
  if (entity === 'attribute') {
    const name = grammar.aliases?.[key] ?? key;
    const known = forOrder ? grammar.orderAttributes : Object.keys(grammar.attributes);
    if (!known.includes(name)) {
      throw new FilterSyntaxError(
        `invalid attribute key '${key}'; valid attributes for ${grammar.what} are ${known.map((k) => `'${k}'`).join(', ')}`,
        token.position,
      );
    }
    return { entity, key: name };
  }
  if (entity === 'dataset' && !['name', 'digest', 'context'].includes(key)) {
    throw new FilterSyntaxError(
      `invalid dataset key '${key}'; expected 'name', 'digest' or 'context'`,
      token.position,
    );
  }
  if (forOrder && !grammar.orderEntities.includes(entity)) {
    throw new FilterSyntaxError(`${grammar.what} cannot be ordered by ${entity}s`, token.position);
  }
  return { entity, key };
}

/** Parses an MLflow filter string; an empty or missing filter is no condition. */
export function parseSearchFilter(filter: string | undefined, grammar: SearchGrammar): FilterClause[] {
  if (filter === undefined || filter.trim() === '') return [];
  try {
    return parseClauses(tokenize(filter), grammar);
  } catch (error) {
    if (error instanceof FilterSyntaxError) {
      throw invalidParameter(`Invalid filter "${filter}": ${error.problem} at position ${error.position}`);
    }
    throw error;
  }
}

function parseClauses(tokens: Token[], grammar: SearchGrammar): FilterClause[] {
  const clauses: FilterClause[] = [];
  let i = 0;
  const peek = () => tokens[i] as Token;
  const next = () => tokens[i++] as Token;
  for (;;) {
    const identToken = next();
    if (identToken.type === 'lparen') {
      throw new FilterSyntaxError(
        "parentheses are not supported; combine clauses with 'AND'",
        identToken.position,
      );
    }
    if (identToken.type === 'end') {
      throw new FilterSyntaxError(
        clauses.length === 0 ? 'expected a clause' : "expected a clause after 'AND'",
        identToken.position,
      );
    }
    const identifier = resolveIdentifier(identToken, grammar, false);
    const rule: EntityRule =
      identifier.entity === 'attribute'
        ? attributeRule(grammar, identifier.key)
        : ((grammar.entities[identifier.entity] as EntityRule | undefined) ??
          (() => {
            throw new FilterSyntaxError(
              `${identifier.entity}s cannot be searched for ${grammar.what}`,
              identToken.position,
            );
          })());
    const comparatorToken = peek();
    const comparator = readComparator(tokens, i);
    i = comparator.next;
    if (!rule.comparators.includes(comparator.comparator)) {
      throw new FilterSyntaxError(
        `comparator '${comparator.comparator}' is not allowed for ${identifier.entity} '${identifier.key}'; ` +
          `expected one of ${rule.comparators.map((c) => `'${c}'`).join(', ')}`,
        comparatorToken.position,
      );
    }
    let value: FilterClause['value'] = null;
    if (comparator.comparator === 'IN' || comparator.comparator === 'NOT IN') {
      const list = readList(tokens, i);
      i = list.next;
      value = list.values;
    } else if (comparator.comparator !== 'IS NULL' && comparator.comparator !== 'IS NOT NULL') {
      const valueToken = next();
      value = readValue(valueToken, rule.value, identifier);
    }
    clauses.push({
      entity: identifier.entity,
      key: identifier.key,
      comparator: comparator.comparator,
      value,
    });
    const after = next();
    if (after.type === 'end') return clauses;
    if (isKeyword(after, 'AND')) continue;
    if (isKeyword(after, 'OR')) {
      throw new FilterSyntaxError("'OR' is not supported; only 'AND' can combine clauses", after.position);
    }
    throw new FilterSyntaxError(
      `expected 'AND' or the end of the filter, got ${describeToken(after)}`,
      after.position,
    );
  }
}

function attributeRule(grammar: SearchGrammar, key: string): EntityRule {
  const kind = grammar.attributes[key] as ValueKind;
  if (kind === 'number') return { comparators: NUMERIC, value: 'number' };
  return {
    comparators: grammar.inKeys.includes(key) ? [...STRING, 'IN', 'NOT IN'] : STRING,
    value: 'string',
  };
}

function readComparator(tokens: Token[], at: number): { comparator: Comparator; next: number } {
  const token = tokens[at] as Token;
  if (token.type === 'op') return { comparator: token.text as Comparator, next: at + 1 };
  const word = token.type === 'ident' && token.prefix === undefined ? token.text.toUpperCase() : '';
  if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return { comparator: word, next: at + 1 };
  if (word === 'NOT' && isKeyword(tokens[at + 1], 'IN')) return { comparator: 'NOT IN', next: at + 2 };
  if (word === 'IS') {
    if (isKeyword(tokens[at + 1], 'NULL')) return { comparator: 'IS NULL', next: at + 2 };
    if (isKeyword(tokens[at + 1], 'NOT') && isKeyword(tokens[at + 2], 'NULL'))
      return { comparator: 'IS NOT NULL', next: at + 3 };
    const bad = tokens[at + 1] as Token;
    throw new FilterSyntaxError(
      `expected 'NULL' or 'NOT NULL' after 'IS', got ${describeToken(bad)}`,
      bad.position,
    );
  }
  throw new FilterSyntaxError(
    `expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL), got ${describeToken(token)}`,
    token.position,
  );
}

function readValue(token: Token, kind: ValueKind, identifier: Identifier): string | number {
  if (kind === 'number') {
    if (token.type === 'number') return token.value as number;
    if (token.type === 'end') throw new FilterSyntaxError('expected a number', token.position);
    throw new FilterSyntaxError(
      `expected numeric value type for ${identifier.entity} '${identifier.key}', found ${describeToken(token)}`,
      token.position,
    );
  }
  if (token.type === 'string') return String(token.value);
  if (token.type === 'end') throw new FilterSyntaxError('expected a quoted string value', token.position);
  throw new FilterSyntaxError(
    `expected a quoted string value for ${identifier.entity} '${identifier.key}', found ${describeToken(token)}`,
    token.position,
  );
}

function readList(tokens: Token[], at: number): { values: string[]; next: number } {
  let i = at;
  const open = tokens[i++] as Token;
  if (open.type !== 'lparen')
    throw new FilterSyntaxError(`expected '(' to start a list, got ${describeToken(open)}`, open.position);
  const values: string[] = [];
  for (;;) {
    const item = tokens[i++] as Token;
    if (item.type === 'rparen' && values.length === 0)
      throw new FilterSyntaxError('the list is empty', item.position);
    if (item.type !== 'string')
      throw new FilterSyntaxError(
        `expected a quoted string in the list, got ${describeToken(item)}`,
        item.position,
      );
    values.push(String(item.value));
    const sep = tokens[i++] as Token;
    if (sep.type === 'rparen') return { values, next: i };
    if (sep.type !== 'comma')
      throw new FilterSyntaxError(`expected ',' or ')' in the list, got ${describeToken(sep)}`, sep.position);
  }
}

/** Parses order_by clauses: `<identifier> [ASC|DESC]`, ascending by default. */
export function parseOrderBy(
  clauses: readonly string[] | undefined,
  grammar: SearchGrammar,
): OrderByClause[] {
  return (clauses ?? []).map((clause) => {
    try {
      const tokens = tokenize(clause);
      const identToken = tokens[0] as Token;
      if (identToken.type === 'end') throw new FilterSyntaxError('expected an identifier', 0);
      const identifier = resolveIdentifier(identToken, grammar, true);
      let ascending = true;
      let i = 1;
      if (isKeyword(tokens[i], 'ASC')) i++;
      else if (isKeyword(tokens[i], 'DESC')) {
        ascending = false;
        i++;
      }
      const rest = tokens[i] as Token;
      if (rest.type !== 'end')
        throw new FilterSyntaxError(
          `expected 'ASC', 'DESC' or the end, got ${describeToken(rest)}`,
          rest.position,
        );
      return { entity: identifier.entity, key: identifier.key, ascending };
    } catch (error) {
      if (error instanceof FilterSyntaxError) {
        throw invalidParameter(
          `Invalid order_by clause "${clause}": ${error.problem} at position ${error.position}`,
        );
      }
      throw error;
    }
  });
}
