/**
 * How `datasets` types the columns of a dataset it reads, and when it refuses to load one: the
 * kinds pyarrow's JSON reader infers per chunk of a file, how they merge, the features the first
 * chunk (or the dataset card) fixes for the whole dataset, and which later chunks cast to them.
 *
 * Checked against datasets 5.0.1 / pyarrow 25 (spec/sources/hfSchema.spec.ts runs the same cases
 * through Python when the oracle's venv is present).
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { listOf, structOf, value, type Feature, type Features } from '../arrow/features.js';

/**
 * A column's type as inferred from data: what pyarrow's JSON reader infers (`int` is int64,
 * `float` float64), with what a later cast needs to know (whether every float is integral, whether
 * every text spells a number). `mixed` is a column pyarrow cannot type (`datasets` then stores its
 * values as JSON).
 *
 * @category models
 */
export type Kind =
  | { readonly k: 'null' }
  | { readonly k: 'bool' }
  | { readonly k: 'int' }
  | { readonly k: 'float'; readonly integral: boolean }
  | { readonly k: 'string'; readonly numeric: 'int' | 'float' | 'no' }
  | { readonly k: 'list'; readonly item: Kind }
  | { readonly k: 'struct'; readonly fields: ReadonlyArray<readonly [string, Kind]> }
  | { readonly k: 'mixed' };

/** Column name → kind, in order of first appearance. */
export type Schema = ReadonlyArray<readonly [string, Kind]>;

const NULL: Kind = { k: 'null' };
const MIXED: Kind = { k: 'mixed' };

const numericText = (s: string): 'int' | 'float' | 'no' =>
  /^\s*[+-]?\d+\s*$/.test(s) ? 'int' : s.trim() !== '' && Number.isFinite(Number(s)) ? 'float' : 'no';

const mergeNumeric = (a: 'int' | 'float' | 'no', b: 'int' | 'float' | 'no'): 'int' | 'float' | 'no' => (a === 'no' || b === 'no' ? 'no' : a === 'float' || b === 'float' ? 'float' : 'int');

/**
 * pyarrow's JSON type inference across values of one column: null gives way to anything, int and
 * float make float, lists and structs merge item by item (struct fields by name, in order of
 * appearance); anything else (a string and a number, a bool and a number, a list and a string) is
 * `mixed`.
 *
 * @category plan
 */
export const mergeKinds = (a: Kind, b: Kind): Kind => {
  if (a.k === 'null') return b;
  if (b.k === 'null') return a;
  if (a.k === 'mixed' || b.k === 'mixed') return MIXED;
  if (a.k === 'int' && b.k === 'int') return a;
  if ((a.k === 'int' || a.k === 'float') && (b.k === 'int' || b.k === 'float')) {
    return { k: 'float', integral: (a.k === 'int' || a.integral) && (b.k === 'int' || b.integral) };
  }
  if (a.k !== b.k) return MIXED;
  switch (a.k) {
    case 'bool':
      return a;
    case 'string':
      return { k: 'string', numeric: mergeNumeric(a.numeric, (b as typeof a).numeric) };
    case 'list':
      return { k: 'list', item: mergeKinds(a.item, (b as typeof a).item) };
    case 'struct':
      return { k: 'struct', fields: mergeSchemas(a.fields, (b as typeof a).fields) };
    default:
      return a;
  }
};

/** Merges two column lists: columns by name, new ones appended in order. */
export const mergeSchemas = (a: Schema, b: Schema): Schema => {
  const out = new Map<string, Kind>(a);
  for (const [name, kind] of b) out.set(name, out.has(name) ? mergeKinds(out.get(name)!, kind) : kind);
  return [...out];
};

/**
 * The kind of one JSON value given as text (one record's bytes): numbers are `int` unless their
 * text has a fraction or exponent, as pyarrow reads them (after `JSON.parse` the difference between
 * `1` and `1.0` is lost, hence a scan of the text).
 *
 * **Gotchas**: the text must be valid JSON (parse it first; this scanner does not report errors).
 *
 * @example
 * kindOfJsonText('{"s": [1, 2.5]}'); // struct { s: list<float> }
 *
 * @category plan
 */
export const kindOfJsonText = (text: string): Kind => {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const stringToken = (): string => {
    const start = i;
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const valueKind = (): Kind => {
    ws();
    const c = text[i];
    if (c === '"') return { k: 'string', numeric: numericText(stringToken()) };
    if (c === '{') {
      i++;
      let fields: Schema = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { k: 'struct', fields };
      }
      for (;;) {
        ws();
        const name = stringToken();
        ws();
        i++; // colon
        fields = mergeSchemas(fields, [[name, valueKind()]]);
        ws();
        if (text[i++] === '}') return { k: 'struct', fields };
      }
    }
    if (c === '[') {
      i++;
      let item: Kind = NULL;
      ws();
      if (text[i] === ']') {
        i++;
        return { k: 'list', item };
      }
      for (;;) {
        item = mergeKinds(item, valueKind());
        ws();
        if (text[i++] === ']') return { k: 'list', item };
      }
    }
    if (c === 't' || c === 'f') {
      i += c === 't' ? 4 : 5;
      return { k: 'bool' };
    }
    if (c === 'n') {
      i += 4;
      return NULL;
    }
    const start = i;
    while (i < text.length && /[-+0-9.eE]/.test(text[i]!)) i++;
    const token = text.slice(start, i);
    if (/[.eE]/.test(token)) return { k: 'float', integral: Number.isInteger(Number(token)) };
    return { k: 'int' };
  };
  return valueKind();
};

/**
 * The feature `datasets` fixes for a column of this kind (`Features.from_arrow_schema` of what
 * pyarrow inferred).
 *
 * **Gotchas**: a `mixed` column becomes `datasets`' `Json` feature, which this library cannot write:
 * a {@link ConfigError} naming the column (reading it is fine; see {@link castProblem}).
 *
 * @category plan
 */
export const featureOfKind = (kind: Kind, where: string): Feature => {
  switch (kind.k) {
    case 'null':
      return value('null');
    case 'bool':
      return value('bool');
    case 'int':
      return value('int64');
    case 'float':
      return value('float64');
    case 'string':
      return value('string');
    case 'list':
      return listOf(featureOfKind(kind.item, where));
    case 'struct':
      return structOf(kind.fields.map(([name, k]) => ({ name, feature: featureOfKind(k, `${where}.${name}`) })));
    case 'mixed':
      throw new ConfigError('train_data', `${where} holds values of different types (datasets stores it as Json), which cannot be written as Arrow here`);
  }
};

/**
 * The kind a declared feature stands for (dataset card features, a Parquet or Arrow schema).
 *
 * @category plan
 */
export const kindOfFeature = (feature: Feature): Kind => {
  switch (feature.kind) {
    case 'value': {
      const d = feature.dtype;
      if (d === 'null') return NULL;
      if (d === 'bool') return { k: 'bool' };
      if (d.startsWith('int') || d.startsWith('uint')) return { k: 'int' };
      if (d.startsWith('float')) return { k: 'float', integral: false };
      return { k: 'string', numeric: 'no' };
    }
    case 'list':
      return { k: 'list', item: kindOfFeature(feature.feature) };
    case 'struct':
      return { k: 'struct', fields: feature.fields.map(({ name, feature: f }) => [name, kindOfFeature(f)] as const) };
  }
};

/** The schema of declared features. */
export const schemaOfFeatures = (features: Features): Schema => features.map(({ name, feature }) => [name, kindOfFeature(feature)] as const);

const describe = (kind: Kind): string =>
  kind.k === 'list'
    ? `list<${describe(kind.item)}>`
    : kind.k === 'struct'
      ? `struct<${kind.fields.map(([n, k]) => `${n}: ${describe(k)}`).join(', ')}>`
      : kind.k === 'float'
        ? 'float64'
        : kind.k === 'int'
          ? 'int64'
          : kind.k;

/** A kind as people read it (`list<float64>`). */
export const describeKind = describe;

/**
 * Why values of kind `from` do not cast to the column type `to` as `datasets`' `table_cast` casts
 * them, or null when they do: nulls cast to anything; anything casts to a `mixed` (Json) column;
 * numbers and booleans to text; ints and booleans to floats; floats to ints only when integral; text
 * to numbers only when every text spells one; lists item by item; structs field by field (same names).
 *
 * @example
 * castProblem({ k: 'string', numeric: 'no' }, { k: 'null' }); // 'cannot cast string to null'
 *
 * @category plan
 */
export const castProblem = (from: Kind, to: Kind): string | null => {
  if (from.k === 'null' || to.k === 'mixed') return null;
  const no = `cannot cast ${describe(from)} to ${describe(to)}`;
  // A later chunk whose values have different types is re-encoded as JSON text by datasets, which casts to a text column only.
  if (from.k === 'mixed') return to.k === 'string' ? null : `${no} (its values have different types)`;
  switch (to.k) {
    case 'null':
      return no;
    case 'bool':
      return from.k === 'bool' || from.k === 'int' || from.k === 'float' ? null : no;
    case 'int':
      if (from.k === 'int' || from.k === 'bool') return null;
      if (from.k === 'float') return from.integral ? null : `${no} (a value has a fraction)`;
      if (from.k === 'string') return from.numeric === 'int' ? null : `${no} (a text is not an integer)`;
      return no;
    case 'float':
      if (from.k === 'int' || from.k === 'float' || from.k === 'bool') return null;
      if (from.k === 'string') return from.numeric !== 'no' ? null : `${no} (a text is not a number)`;
      return no;
    case 'string':
      return from.k === 'bool' || from.k === 'int' || from.k === 'float' || from.k === 'string' ? null : no;
    case 'list':
      return from.k === 'list' ? castProblem(from.item, to.item) : no;
    case 'struct': {
      if (from.k !== 'struct') return no;
      const names = (s: Schema) => s.map(([n]) => n).sort().join(',');
      if (names(from.fields) !== names(to.fields)) return `${no} (different fields)`;
      for (const [name, kind] of from.fields) {
        const problem = castProblem(kind, to.fields.find(([n]) => n === name)![1]);
        if (problem !== null) return `${name}: ${problem}`;
      }
      return null;
    }
  }
};

/**
 * Why a chunk of rows with schema `chunk` cannot join a dataset with columns `target`, or null:
 * an extra column fails ("column names don't match"), a missing one is filled with nulls, and each
 * present column must cast (see {@link castProblem}).
 *
 * @category plan
 */
export const schemaProblem = (chunk: Schema, target: Schema): { readonly field: string; readonly message: string } | null => {
  const columns = new Map(target);
  for (const [name, kind] of chunk) {
    const to = columns.get(name);
    if (to === undefined) return { field: name, message: `is a column the dataset does not have (its columns come from the first file: ${target.map(([n]) => n).join(', ')})` };
    const problem = castProblem(kind, to);
    if (problem !== null) return { field: name, message: `${problem}, the dataset's type for it` };
  }
  return null;
};
