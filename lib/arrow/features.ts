/**
 * Hugging Face `datasets` features (the column types a dataset declares) and their Arrow types:
 * the JSON form `dataset_info.json` and the Arrow schema metadata carry, the YAML list form dataset
 * cards use, and the apache-arrow schema a file is written with.
 *
 * @module
 */
import {
  Bool,
  DataType,
  Field,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeList,
  LargeUtf8,
  List,
  Null,
  Schema,
  Struct,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
} from 'apache-arrow';
import { ConfigError } from '../core/errors.js';

/**
 * The `Value` dtypes this library reads and writes (`datasets.Value(dtype)`).
 *
 * @category models
 */
export type ValueDtype =
  | 'null'
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string'
  | 'large_string';

/**
 * One column type: a scalar `Value`, a `List` / `LargeList` of a feature, or a struct (a dict of
 * named features, in order).
 *
 * @category models
 */
export type Feature =
  | { readonly kind: 'value'; readonly dtype: ValueDtype }
  | { readonly kind: 'list'; readonly feature: Feature; readonly large: boolean }
  | { readonly kind: 'struct'; readonly fields: Features };

/**
 * A dataset's columns in order. An array, not an object: column order is part of a schema, and
 * object keys that look like integers would be reordered.
 *
 * @category models
 */
export type Features = ReadonlyArray<{ readonly name: string; readonly feature: Feature }>;

const VALUE_DTYPES: ReadonlySet<string> = new Set<ValueDtype>([
  'null', 'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
  'float16', 'float32', 'float64', 'string', 'large_string',
]);
/** `datasets.Value.__post_init__` and pyarrow's aliases. */
const DTYPE_ALIASES: Readonly<Record<string, ValueDtype>> = { double: 'float64', float: 'float32', halffloat: 'float16', utf8: 'string', large_utf8: 'large_string', bool_: 'bool' };

/**
 * Shorthands for building features by hand.
 *
 * @example
 * const features: Features = [{ name: 'q_ids', feature: listOf(listOf(value('int32'))) }, { name: 'epoch', feature: value('int64') }];
 *
 * @category constructors
 */
export const value = (dtype: ValueDtype): Feature => ({ kind: 'value', dtype });
/** A `List` of `feature` (`large: true` for `LargeList`). @category constructors */
export const listOf = (feature: Feature, large = false): Feature => ({ kind: 'list', feature, large });
/** A struct of named features. @category constructors */
export const structOf = (fields: Features): Feature => ({ kind: 'struct', fields });

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u);

const dtypeOf = (raw: unknown, where: string): ValueDtype => {
  const name = typeof raw === 'string' ? (DTYPE_ALIASES[raw] ?? raw) : raw;
  if (typeof name !== 'string' || !VALUE_DTYPES.has(name)) {
    throw new ConfigError(where, `dtype ${JSON.stringify(raw)} is not supported (supported: ${[...VALUE_DTYPES].join(', ')})`);
  }
  return name as ValueDtype;
};

const featureFromJson = (u: unknown, where: string): Feature => {
  if (!isRecord(u)) throw new ConfigError(where, `expected a feature object, got ${JSON.stringify(u)}`);
  const type = u['_type'];
  if (type === undefined) return structOf(featuresFromJson(u, where));
  if (type === 'Value') return value(dtypeOf(u['dtype'], where));
  if (type === 'List' || type === 'LargeList' || type === 'Sequence') {
    const length = u['length'];
    if (length !== undefined && length !== -1) throw new ConfigError(where, `fixed-length lists (length ${JSON.stringify(length)}) are not supported`);
    const inner = u['feature'];
    // datasets' legacy Sequence of a dict is a dict of lists.
    if (type === 'Sequence' && isRecord(inner) && inner['_type'] === undefined) {
      return structOf(featuresFromJson(inner, where).map(({ name, feature }) => ({ name, feature: listOf(feature) })));
    }
    return listOf(featureFromJson(inner, `${where}.feature`), type === 'LargeList');
  }
  throw new ConfigError(where, `feature type ${JSON.stringify(type)} is not supported (Value, List, LargeList, Sequence and dicts are)`);
};

/**
 * Features from their JSON form, as `dataset_info.json` and the `huggingface` Arrow schema metadata
 * store them (`Features.to_dict()`): `{"query": {"dtype": "string", "_type": "Value"}, "pos":
 * {"feature": {…}, "_type": "List"}}`.
 *
 * **Gotchas**: only the types listed in {@link ValueDtype}, lists and structs; anything else
 * (`ClassLabel`, `Image`, `Json`, fixed-length lists) is a {@link ConfigError} naming `where`.
 *
 * @example
 * featuresFromJson({ query: { dtype: 'string', _type: 'Value' } }, 'dataset_info.json');
 *
 * @category constructors
 */
export const featuresFromJson = (u: unknown, where: string): Features => {
  if (!isRecord(u)) throw new ConfigError(where, `expected features as an object of columns, got ${JSON.stringify(u)}`);
  return Object.entries(u).map(([name, feature]) => ({ name, feature: featureFromJson(feature, `${where}: ${name}`) }));
};

const featureToJson = (feature: Feature): unknown => {
  switch (feature.kind) {
    case 'value':
      return { dtype: feature.dtype, _type: 'Value' };
    case 'list':
      return { feature: featureToJson(feature.feature), _type: feature.large ? 'LargeList' : 'List' };
    case 'struct':
      return featuresToJson(feature.fields);
  }
};

/**
 * The JSON form of features (`Features.to_dict()`), key order kept.
 *
 * @category constructors
 */
export const featuresToJson = (features: Features): Record<string, unknown> => Object.fromEntries(features.map(({ name, feature }) => [name, featureToJson(feature)]));

/**
 * Features from a dataset card's YAML list form (`dataset_info: features:` in README.md), as
 * `datasets.Features._from_yaml_list` reads it: `- name: pos` with `dtype: string`, `list: string`,
 * `sequence: …`, `large_list: …` or `struct: [ … ]`.
 *
 * @example
 * featuresFromYaml([{ name: 'query', dtype: 'string' }, { name: 'pos', list: 'string' }], 'README.md');
 *
 * @category constructors
 */
export const featuresFromYaml = (u: unknown, where: string): Features => {
  if (!Array.isArray(u)) throw new ConfigError(where, `dataset_info.features must be a list of columns, got ${JSON.stringify(u)}`);
  return u.map((item, i) => {
    if (!isRecord(item) || typeof item['name'] !== 'string') throw new ConfigError(where, `feature ${i} needs a name: ${JSON.stringify(item)}`);
    const { name, ...rest } = item;
    return { name, feature: featureFromYaml(rest, `${where}: ${name}`) };
  });
};

const featureFromYaml = (u: unknown, where: string): Feature => {
  if (typeof u === 'string') return value(dtypeOf(u, where));
  if (Array.isArray(u)) return structOf(featuresFromYaml(u, where));
  if (!isRecord(u)) throw new ConfigError(where, `expected a feature, got ${JSON.stringify(u)}`);
  // _from_yaml_list reads the first key.
  const [key] = Object.keys(u);
  const inner = key === undefined ? undefined : u[key];
  switch (key) {
    case 'dtype':
      return typeof inner === 'string' ? value(dtypeOf(inner, where)) : featureFromYaml(inner, where);
    case 'list':
    case 'large_list':
      return listOf(featureFromYaml(inner, where), key === 'large_list');
    case 'sequence':
      if (Array.isArray(inner)) return structOf(featuresFromYaml(inner, where).map(({ name, feature }) => ({ name, feature: listOf(feature) })));
      return listOf(featureFromYaml(inner, where));
    case 'struct':
      return structOf(featuresFromYaml(inner, where));
    default:
      throw new ConfigError(where, `feature ${JSON.stringify(u)} is not supported (dtype, list, large_list, sequence and struct are)`);
  }
};

const VALUE_TYPES: Readonly<Record<ValueDtype, () => DataType>> = {
  null: () => new Null(),
  bool: () => new Bool(),
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float16: () => new Float16(),
  float32: () => new Float32(),
  float64: () => new Float64(),
  string: () => new Utf8(),
  large_string: () => new LargeUtf8(),
};

/**
 * The Arrow type of a feature (what `datasets`' `get_nested_type` gives: list items are named `item`).
 *
 * @category constructors
 */
export const arrowTypeOf = (feature: Feature): DataType => {
  switch (feature.kind) {
    case 'value':
      return VALUE_TYPES[feature.dtype]();
    case 'list': {
      const item = new Field('item', arrowTypeOf(feature.feature), true);
      return feature.large ? new LargeList(item) : new List(item);
    }
    case 'struct':
      return new Struct(feature.fields.map(({ name, feature: f }) => new Field(name, arrowTypeOf(f), true)));
  }
};

/**
 * The Arrow schema `datasets` writes for `features`: one nullable field per column, and the
 * features again as `huggingface` metadata (`{"info": {"features": …}}`), which is where
 * `datasets` reads them back from.
 *
 * @category constructors
 */
export const arrowSchemaOf = (features: Features): Schema =>
  new Schema(
    features.map(({ name, feature }) => new Field(name, arrowTypeOf(feature), true)),
    new Map([['huggingface', JSON.stringify({ info: { features: featuresToJson(features) } })]]),
  );

const featureOfArrowType = (type: DataType, where: string): Feature => {
  switch (type.typeId) {
    case Type.Null:
      return value('null');
    case Type.Bool:
      return value('bool');
    case Type.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      return value(`${isSigned ? 'int' : 'uint'}${bitWidth}` as ValueDtype);
    }
    case Type.Float: {
      const precision = (type as unknown as { precision: number }).precision;
      return value((['float16', 'float32', 'float64'] as const)[precision]!);
    }
    case Type.Utf8:
      return value('string');
    case Type.LargeUtf8:
      return value('large_string');
    case Type.List:
    case Type.LargeList:
      return listOf(featureOfArrowType(type.children[0]!.type, where), type.typeId === Type.LargeList);
    case Type.Struct:
      return structOf(type.children.map((f: Field) => ({ name: f.name, feature: featureOfArrowType(f.type, `${where}.${f.name}`) })));
    default:
      throw new ConfigError(where, `Arrow type ${String(type)} is not supported`);
  }
};

/**
 * The features of an Arrow schema: from its `huggingface` metadata when present (as `datasets`
 * does), else from its types.
 *
 * @category constructors
 */
export const featuresOfArrowSchema = (schema: Schema, where: string): Features => {
  const meta = schema.metadata.get('huggingface');
  if (meta !== undefined) {
    const parsed = JSON.parse(meta) as { info?: { features?: unknown } };
    if (parsed.info?.features !== undefined) return featuresFromJson(parsed.info.features, where);
  }
  return schema.fields.map((f) => ({ name: f.name, feature: featureOfArrowType(f.type, `${where}: ${f.name}`) }));
};

/**
 * Whether two features are the same type.
 *
 * @category constructors
 */
export const sameFeature = (a: Feature, b: Feature): boolean => {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'value') return a.dtype === (b as typeof a).dtype;
  if (a.kind === 'list') return a.large === (b as typeof a).large && sameFeature(a.feature, (b as typeof a).feature);
  const fb = (b as typeof a).fields;
  return a.fields.length === fb.length && a.fields.every((f, i) => f.name === fb[i]!.name && sameFeature(f.feature, fb[i]!.feature));
};

/**
 * A feature as people write it: `string`, `list<float64>`, `struct<a: string>`.
 *
 * @category constructors
 */
export const describeFeature = (feature: Feature): string =>
  feature.kind === 'value'
    ? feature.dtype
    : feature.kind === 'list'
      ? `${feature.large ? 'large_list' : 'list'}<${describeFeature(feature.feature)}>`
      : `struct<${feature.fields.map((f) => `${f.name}: ${describeFeature(f.feature)}`).join(', ')}>`;
