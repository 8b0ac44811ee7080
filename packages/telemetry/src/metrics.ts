import { trace } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
} from 'prom-client';

/** Label for requests that matched no route: raw paths would explode cardinality and leak input. */
export const UNMATCHED_ROUTE = 'unmatched';

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

/** The route template (`/products/:id`), never the raw path. */
export function routeLabel(req: Pick<Request, 'baseUrl' | 'route'>): string {
  const route: unknown = req.route;
  if (!route || typeof route !== 'object' || !('path' in route)) return UNMATCHED_ROUTE;
  const path = (route as { path: unknown }).path;
  const template = typeof path === 'string' ? path : Array.isArray(path) ? path.join('|') : String(path);
  return `${req.baseUrl}${template}` || '/';
}

/** RED metrics per request, recorded when the response is finished (or the client went away). */
export function redMiddleware(metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    // The span is read now: by the time 'finish' fires the request's context may no longer be active.
    const spanContext = trace.getActiveSpan()?.spanContext();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const labels = { method: req.method, route: routeLabel(req), status: String(res.statusCode) };
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const sampled = spanContext && (spanContext.traceFlags & 1) === 1;
      // Without a sampled trace there is nothing to link to, and prom-client keeps the previous exemplar.
      const exemplarLabels = sampled ? { trace_id: spanContext.traceId } : undefined;
      metrics.requestsTotal.inc({ labels, value: 1, exemplarLabels });
      metrics.requestDuration.observe({ labels, value: seconds, exemplarLabels });
    };
    res.once('finish', record);
    res.once('close', record);
    next();
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

/** Operation and table of a statement, for low-cardinality labels; unknown shapes fall back to "other". */
export function classifySql(sql: string): { operation: string; table: string } {
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
