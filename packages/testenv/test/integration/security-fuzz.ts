// Property-based fuzzing of a running service from its own /openapi.json, with fast-check: for every operation,
// requests built from the document (valid-looking values) and hostile ones (wrong types, huge numbers, unicode,
// missing and extra fields, raw garbage, malformed JSON). Used by services/<svc>/test/integration/fuzz.test.ts.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

/** OpenAPI 3.1 schemas are JSON Schema 2020-12; `strict: false` lets OpenAPI's own keywords through. */
export function responseValidator(): (schema: Schema, body: unknown) => string | undefined {
  // ajv and ajv-formats are CommonJS: their callable is the default export's `default` under NodeNext.
  const ajv = new Ajv2020.default({ strict: false, allErrors: false });
  addFormats.default(ajv);
  const compiled = new Map<Schema, ReturnType<typeof ajv.compile>>();
  return (schema, body) => {
    let validate = compiled.get(schema);
    if (validate === undefined) compiled.set(schema, (validate = ajv.compile(schema)));
    return validate(body) ? undefined : ajv.errorsText(validate.errors);
  };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

export interface FuzzRequest {
  path: string;
  query: Record<string, string>;
  /** A JSON value to serialize, or a raw string sent as is (malformed JSON, garbage). */
  body?: { json: unknown } | { raw: string };
}

export interface FuzzFinding {
  operation: string;
  request: FuzzRequest;
  status: number;
  problem: string;
}

const hostileStrings = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e309',
    '9'.repeat(400),
    'NaN',
    'null',
    'true',
    '../../etc/passwd',
    '%00',
    "' OR 1=1 --",
    '<script>alert(1)</script>',
    '\u0000',
    '\uFEFF',
    '𝕏🚀ü中文',
    '\uD800',
    'x'.repeat(5000),
  ),
);

const hostileNumbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    2 ** 31,
    2 ** 63,
  ),
);

/** Anything at all that JSON can carry. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileStrings,
  hostileNumbers,
  fc.constantFrom(null, true, false, [], {}),
);

function stringFor(schema: Schema): fc.Arbitrary<string> {
  if (schema.enum) return fc.constantFrom(...schema.enum.map(String));
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.pattern !== undefined) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern, 'u'))
        .filter((s) => s.length <= (schema.maxLength ?? 500));
    } catch {
      // A pattern fast-check cannot invert (e.g. Unicode classes) falls back to free text.
    }
  }
  return fc.string({ unit: 'grapheme', minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 50 });
}

/** Values the document describes (most of them valid), for reaching past validation into the handlers. */
export function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return anyJson;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  if (schema.allOf?.length) return fromSchema(schema.allOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number': {
      const min = schema.minimum ?? -1e6;
      const max = schema.maximum ?? 1e6;
      // Values just above a bound (sub-cent prices, denormals) are where rounding bugs live.
      const edges = [Number.MIN_VALUE, 1e-9, 0.001, 0.005, 0.015].filter((v) => v >= min && v <= max);
      const plain = fc.double({ min, max, noNaN: true });
      return edges.length ? fc.oneof(plain, fc.constantFrom(...edges)) : plain;
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 5 });
    case 'object': {
      const props = schema.properties ?? {};
      const required = schema.required ?? [];
      return fc.record(
        Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, depth + 1)])),
        { requiredKeys: required.filter((k) => k in props) },
      );
    }
    default:
      return anyJson;
  }
}

/** A document-shaped value with one hostile twist: a wrong type, a dropped field, an extra field. */
function hostileFromSchema(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const base = fromSchema(schema);
  return fc.oneof(
    anyJson,
    fc.tuple(base, fc.string({ maxLength: 12 }), anyJson).map(([value, key, twist]) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return twist;
      const entries = Object.entries(value);
      const target = entries.length > 0 ? entries[key.length % entries.length]?.[0] : undefined;
      if (target !== undefined && key.length % 3 === 0)
        return Object.fromEntries(entries.filter(([k]) => k !== target));
      if (target !== undefined && key.length % 3 === 1) return { ...value, [target]: twist };
      return { ...value, [`extra${key}`]: twist };
    }),
  );
}

const encodePathValue = (value: { verbatim: string } | { v: string } | undefined) =>
  value === undefined
    ? ''
    : 'verbatim' in value
      ? value.verbatim
      : encodeURIComponent(value.v.toWellFormed());

const asParam = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

function requestsFor(
  path: string,
  op: Operation,
  pathValues: Record<string, string[]> = {},
): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters ?? [];
  // Every {name} in the template is a path parameter, declared or not (an undeclared one is free text).
  const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map(
    ([, name = '']): Parameter =>
      params.find((p) => p.in === 'path' && p.name === name) ?? { name, in: 'path' },
  );
  const queryParams = params.filter((p) => p.in === 'query');
  const paramValue = (p: Parameter) =>
    fc.oneof(
      { weight: 2, arbitrary: fromSchema(p.schema).map(asParam) },
      { weight: 1, arbitrary: hostileStrings },
    );
  // Known sub-paths (e.g. behind a proxy route's {path}) are sent verbatim, slashes included.
  const pathParamValue = (p: Parameter) => {
    const known = pathValues[p.name];
    return known?.length
      ? fc.oneof(
          fc.constantFrom(...known).map((v) => ({ verbatim: v })),
          paramValue(p).map((v) => ({ v })),
        )
      : paramValue(p).map((v) => ({ v }));
  };
  const pathArb = fc
    .tuple(...pathParams.map(pathParamValue))
    .map((values) =>
      pathParams.reduce((acc, p, i) => acc.replace(`{${p.name}}`, encodePathValue(values[i])), path),
    );
  const queryArb = fc
    .tuple(
      fc.tuple(...queryParams.map((p) => fc.option(paramValue(p), { nil: undefined }))),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), hostileStrings, { maxKeys: 2 }),
    )
    .map(([values, extra]) => {
      const q: Record<string, string> = {};
      queryParams.forEach((p, i) => {
        const v = values[i];
        if (v !== undefined) q[p.name] = v;
      });
      return { ...extra, ...q };
    });
  const schema = op.requestBody?.content?.['application/json']?.schema;
  const bodyArb: fc.Arbitrary<FuzzRequest['body']> =
    op.requestBody === undefined
      ? fc.constant(undefined)
      : fc.oneof(
          { weight: 3, arbitrary: fromSchema(schema).map((json) => ({ json })) },
          { weight: 3, arbitrary: hostileFromSchema(schema).map((json) => ({ json })) },
          {
            weight: 1,
            arbitrary: fc
              .oneof(
                fc.string({ unit: 'binary', maxLength: 200 }),
                fc.constantFrom('{', '{"a":', '[1,', 'nul', '{"a":1}}'),
              )
              .map((raw) => ({ raw })),
          },
        );
  return fc.record({ path: pathArb, query: queryArb, body: bodyArb });
}

/** The response the document lists for a status: the exact code first, then its `4XX`-style range. */
const responseFor = (op: Operation, status: number) =>
  op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`];

async function send(
  base: string,
  method: string,
  req: FuzzRequest,
): Promise<{ status: number; text: string }> {
  const url = new URL(req.path, base);
  for (const [k, v] of Object.entries(req.query)) url.searchParams.append(k, v);
  const body =
    req.body === undefined ? undefined : 'raw' in req.body ? req.body.raw : JSON.stringify(req.body.json);
  const res = await fetch(url, {
    method: method.toUpperCase(),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

type Validate = (schema: Schema, body: unknown) => string | undefined;

/**
 * The problem with one response, or undefined: the status must be one the document lists for the operation (so
 * a 5xx only where documented), a JSON body must match the listed schema, and every 4xx body is {error, message}.
 */
export function judge(op: Operation, status: number, text: string, validate: Validate): string | undefined {
  const documented = responseFor(op, status);
  if (documented === undefined) return `status ${status} is not in the document: ${text.slice(0, 300)}`;
  const schema = documented.content?.['application/json']?.schema;
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    if (schema !== undefined || status >= 400) return `${status} without a JSON body: ${text.slice(0, 200)}`;
    return undefined;
  }
  if (status >= 400 && status < 500) {
    const b = body as { error?: unknown; message?: unknown } | undefined;
    if (typeof b?.error !== 'string' || typeof b.message !== 'string')
      return `4xx body without string error and message: ${text.slice(0, 200)}`;
  }
  if (schema !== undefined) {
    const problem = validate(schema, body);
    if (problem !== undefined)
      return `${status} body does not match the document (${problem}): ${text.slice(0, 300)}`;
  }
  return undefined;
}

export interface FuzzOptions {
  baseUrl: string;
  document: OpenApiDocument;
  seed: number;
  runsPerOperation: number;
  /** Path parameter name → sub-paths sent verbatim besides the generated values (for proxy routes). */
  pathValues?: Record<string, string[]>;
  /** "METHOD /path" → why it is not fuzzed (e.g. a deliberate delay endpoint). */
  exclude?: Record<string, string>;
}

export interface FuzzResult {
  covered: string[];
  /** One line per failing operation: the problem, the shrunk request, and the seed/path to replay it. */
  failures: string[];
  /** "METHOD /path" → status → count, to see how far past validation the cases reached. */
  statuses: Record<string, Record<number, number>>;
}

/** Fuzzes every operation, each to its first failure (shrunk), and goes on with the next operation. */
export async function fuzzOperations(options: FuzzOptions): Promise<FuzzResult> {
  const result: FuzzResult = { covered: [], failures: [], statuses: {} };
  const validate = responseValidator();
  for (const [path, ops] of Object.entries(options.document.paths))
    for (const [method, op] of Object.entries(ops)) {
      const name = `${method.toUpperCase()} ${path}`;
      if (options.exclude?.[name] !== undefined) continue;
      const seen: Record<number, number> = (result.statuses[name] = {});
      const details = await fc.check(
        fc.asyncProperty(requestsFor(path, op, options.pathValues), async (req) => {
          const { status, text } = await send(options.baseUrl, method, req);
          seen[status] = (seen[status] ?? 0) + 1;
          const problem = judge(op, status, text, validate);
          if (problem !== undefined) throw new Error(problem);
        }),
        { seed: options.seed, numRuns: options.runsPerOperation },
      );
      result.covered.push(name);
      if (details.failed) {
        const error =
          details.errorInstance instanceof Error
            ? details.errorInstance.message
            : String(details.errorInstance);
        result.failures.push(
          `${name}: ${error}\n  request: ${JSON.stringify(details.counterexample?.[0])}\n  replay: seed ${details.seed} path ${String(details.counterexamplePath)}`,
        );
      }
    }
  return result;
}

/** Oversized and malformed bodies on every operation that takes one: 413 and 400, each with {error, message}. */
export async function checkBodyLimits(
  baseUrl: string,
  document: OpenApiDocument,
  limitBytes: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [path, ops] of Object.entries(document.paths))
    for (const [method, op] of Object.entries(ops)) {
      if (op.requestBody === undefined) continue;
      const concrete = path.replace(/\{[^}]+\}/g, '1');
      const cases: [string, string, number][] = [
        ['oversized', JSON.stringify({ padding: 'x'.repeat(limitBytes + 1) }), 413],
        ['malformed', '{"name": "half', 400],
      ];
      for (const [what, body, want] of cases) {
        const { status, text } = await send(baseUrl, method, {
          path: concrete,
          query: {},
          body: { raw: body },
        });
        const b = (() => {
          try {
            return JSON.parse(text) as { error?: unknown; message?: unknown };
          } catch {
            return {};
          }
        })();
        if (status !== want || typeof b.error !== 'string' || typeof b.message !== 'string')
          problems.push(`${method.toUpperCase()} ${path} ${what}: ${status} ${text.slice(0, 200)}`);
      }
    }
  return problems;
}
