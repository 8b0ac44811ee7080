import { trace } from '@opentelemetry/api';
import type { HttpMetrics } from '@obsdemo/telemetry';
import type { Request, RequestHandler } from 'express';

/** Label for requests that matched no route: raw paths would explode cardinality and leak input. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The route template (`/products/:id`), never the raw path. */
export function routeLabel(req: Pick<Request, 'baseUrl' | 'route'>): string {
  const route: unknown = req.route;
  if (!route || typeof route !== 'object' || !('path' in route)) return UNMATCHED_ROUTE;
  const path = (route as { path: unknown }).path;
  const template = typeof path === 'string' ? path : Array.isArray(path) ? path.join('|') : String(path);
  // Express leaves baseUrl undefined once a request has left the router through its final (error) handler.
  return `${req.baseUrl ?? ''}${template}` || '/';
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
