type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strings that satisfy the common `format`s, since clients validate the parsed object against the schema. */
const FORMATTED: Record<string, string> = {
  email: 'echo@example.com',
  uri: 'https://example.com/echo',
  url: 'https://example.com/echo',
  'date-time': '2024-01-01T00:00:00.000Z',
  date: '2024-01-01',
  time: '00:00:00',
  uuid: '00000000-0000-4000-8000-000000000000',
};

function resolveRef(ref: string, root: Schema): Schema {
  // Only local refs ('#/$defs/x', '#/definitions/x'), which is all zod and the SDKs emit.
  let node: unknown = root;
  for (const key of ref.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    node = isSchema(node) ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return isSchema(node) ? node : {};
}

function firstType(type: unknown): string | undefined {
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') ?? type[0];
  return undefined;
}

function sample(schema: Schema, root: Schema, text: string, depth: number): unknown {
  if (depth > 8) return null;
  if (typeof schema.$ref === 'string') return sample(resolveRef(schema.$ref, root), root, text, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const option = options.find((o) => isSchema(o) && o.type !== 'null') ?? options[0];
      if (isSchema(option)) return sample(option, root, text, depth + 1);
    }
  }
  const type = firstType(schema.type) ?? (isSchema(schema.properties) ? 'object' : 'string');
  switch (type) {
    case 'object': {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const result: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(properties)) {
        result[key] = sample(isSchema(value) ? value : {}, root, text, depth + 1);
      }
      return result;
    }
    case 'array': {
      const count = typeof schema.minItems === 'number' ? Math.max(1, schema.minItems) : 1;
      const items = isSchema(schema.items) ? schema.items : {};
      return Array.from({ length: count }, () => sample(items, root, text, depth + 1));
    }
    case 'integer':
    case 'number': {
      // 1 when allowed; zod's int() sets minimum to -(2^53-1), so the bound is only a clamp, not the value.
      const bound = (key: string, offset: number) =>
        typeof schema[key] === 'number' ? schema[key] + offset : undefined;
      const low = bound('minimum', 0) ?? bound('exclusiveMinimum', 1) ?? -Infinity;
      const high = bound('maximum', 0) ?? bound('exclusiveMaximum', -1) ?? Infinity;
      const value = Math.min(Math.max(1, low), high);
      return type === 'integer' ? Math.ceil(value) : value;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default: {
      const format = typeof schema.format === 'string' ? FORMATTED[schema.format] : undefined;
      return format ?? text;
    }
  }
}

/**
 * A deterministic value that satisfies a JSON schema well enough for the SDKs' own validation: strings carry the
 * given text, numbers honour minimums, arrays get one item, unions take their first non-null branch.
 */
export function sampleFromSchema(schema: Record<string, unknown>, text: string): unknown {
  return sample(schema, schema, text, 0);
}
