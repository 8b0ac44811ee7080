import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
} from 'prom-client';

/** prom-client types exemplar labels with the metric's own label names, hence trace_id in the union. */
type HttpLabel = 'method' | 'route' | 'status' | 'trace_id';

export interface HttpMetrics {
  registry: Registry<OpenMetricsContentType>;
  requestsTotal: Counter<HttpLabel>;
  requestDuration: Histogram<HttpLabel>;
}

/**
 * An OpenMetrics registry, because only that exposition format carries exemplars (trace_id on samples),
 * which Grafana uses to jump from a latency panel to the trace.
 */
export function createRegistry(
  service: string,
  options: { defaultMetrics?: boolean } = {},
): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

export function createHttpMetrics(registry: Registry<OpenMetricsContentType>): HttpMetrics {
  const labelNames: HttpLabel[] = ['method', 'route', 'status'];
  return {
    registry,
    requestsTotal: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code.',
      labelNames,
      registers: [registry],
      enableExemplars: true,
    }),
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
      enableExemplars: true,
    }),
  };
}

export interface DatabaseMetrics {
  queriesTotal: Counter<'operation' | 'table'>;
  queryDuration: Histogram<'operation' | 'table'>;
  pool: Gauge<'status'>;
}

export interface PoolStats {
  used: number;
  idle: number;
  waiting: number;
  max: number;
}

export function createDatabaseMetrics(
  registry: Registry<OpenMetricsContentType>,
  poolStats: () => PoolStats,
): DatabaseMetrics {
  return {
    queriesTotal: new Counter({
      name: 'database_queries_total',
      help: 'SQL statements executed, by operation and table.',
      labelNames: ['operation', 'table'],
      registers: [registry],
    }),
    queryDuration: new Histogram({
      name: 'database_query_duration_seconds',
      help: 'SQL statement duration as the client sees it (pool wait excluded), by operation and table.',
      labelNames: ['operation', 'table'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    pool: new Gauge({
      name: 'database_connection_pool',
      help: 'Database connection pool by status (used, idle, waiting, max).',
      labelNames: ['status'],
      registers: [registry],
      collect() {
        const stats = poolStats();
        for (const status of ['used', 'idle', 'waiting', 'max'] as const) this.set({ status }, stats[status]);
      },
    }),
  };
}

const SQL_SHAPES: [RegExp, number][] = [
  [/^\s*select\b[\s\S]*?\bfrom\s+("?[\w.]+"?)/i, 1],
  [/^\s*insert\s+into\s+("?[\w.]+"?)/i, 1],
  [/^\s*update\s+(?:only\s+)?("?[\w.]+"?)/i, 1],
  [/^\s*delete\s+from\s+(?:only\s+)?("?[\w.]+"?)/i, 1],
];

/**
 * A `WITH` statement as the statement its common table expressions lead to: the text outside every parenthesis
 * (quotes respected) without the CTEs' names, so `WITH a AS (...) INSERT INTO t ...` reads `INSERT INTO t ...`; and
 * the parenthesised groups at the top level, the CTEs' bodies among them. Anything else comes back as it is.
 */
function splitWith(sql: string): { main: string; groups: string[] } {
  if (!/^\s*with\b/i.test(sql)) return { main: sql, groups: [] };
  let main = '';
  let group = '';
  const groups: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  for (const char of sql) {
    if (quote === undefined && (char === "'" || char === '"')) quote = char;
    else if (quote !== undefined && char === quote) quote = undefined;
    else if (quote === undefined && char === '(') {
      if (depth++ === 0) continue;
    } else if (quote === undefined && char === ')' && depth > 0) {
      if (--depth === 0) {
        groups.push(group);
        group = '';
        continue;
      }
    }
    if (depth === 0) main += char;
    else group += char;
  }
  // What is left of each CTE outside its parentheses: `name AS`, `name AS MATERIALIZED`, separated by commas.
  const ctes = /^\s*with\s+(?:recursive\s+)?(?:"?[\w.]+"?\s+as\s+(?:not\s+)?(?:materialized\s+)?,?\s*)+/i;
  return { main: main.replace(ctes, ''), groups };
}

const DATA_MODIFYING = /^\s*(?:insert|update|delete)\b/i;

/** Operation and table of a statement, for low-cardinality labels; unknown shapes fall back to "other". */
export function classifySql(statement: string): { operation: string; table: string } {
  const { main, groups } = splitWith(statement);
  // A query that reads what a data-modifying CTE wrote (`WITH i AS (INSERT ... RETURNING id) SELECT ... FROM i`) is
  // that write.
  const write = /^\s*select\b/i.test(main) ? groups.find((g) => DATA_MODIFYING.test(g)) : undefined;
  if (write !== undefined) return classifySql(write);
  const sql = main;
  const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'other';
  for (const [pattern, group] of SQL_SHAPES) {
    const match = pattern.exec(sql);
    const table = match?.[group];
    if (table) return { operation, table: table.replaceAll('"', '').split('.').pop() ?? 'other' };
  }
  const known = [
    'begin',
    'commit',
    'rollback',
    'start',
    'savepoint',
    'set',
    'show',
    'create',
    'alter',
    'drop',
  ];
  return { operation: known.includes(operation) ? operation : 'other', table: 'none' };
}

/**
 * classifySql with its answers kept per statement text. The services send the same few statements again and again
 * (their values as bind parameters), and reading a long `WITH` statement (a batch write) takes tens of microseconds.
 * At most `limit` texts are kept; past that the memory starts over, so statements with inlined values cannot grow it
 * without bound.
 */
export function sqlClassifier(
  limit = 256,
): (statement: string) => Readonly<{ operation: string; table: string }> {
  const known = new Map<string, Readonly<{ operation: string; table: string }>>();
  return (statement) => {
    let labels = known.get(statement);
    if (labels === undefined) {
      labels = Object.freeze(classifySql(statement));
      if (known.size >= limit) known.clear();
      known.set(statement, labels);
    }
    return labels;
  };
}
