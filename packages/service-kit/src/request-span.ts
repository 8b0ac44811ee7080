import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Tracer,
} from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { UNMATCHED_ROUTE, routeLabel } from './red-middleware.js';

/** Health probes and metric scrapes would drown real traffic in the trace store. */
export const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

const TRACER = '@obsdemo/service-kit';

/**
 * The request's SERVER span, started as the first middleware of the app, in place of the http instrumentation's
 * incoming side (which the tracing preload turns off: it cost about as much CPU per request as the rest of tracing,
 * sampled or not — see docs/benchmarks.md). It does what that did for an Express app: continues the caller's trace
 * from `traceparent`, names the span `<METHOD> <route template>` with the stable HTTP attributes once the route is
 * known, marks a 5xx as an error, and runs everything after it — later middleware, the handlers, and listeners on
 * the request and response (body parsing, `finish`) — in the span's context. A request that is not sampled costs
 * one non-recording span and the context switch.
 */
export function requestSpan(tracer: Tracer = trace.getTracer(TRACER)): RequestHandler {
  return (req, res, next) => {
    const path = req.path;
    if (UNTRACED_PATHS.has(path)) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    const recording = span.isRecording();
    if (recording) {
      const attributes: Attributes = {
        'http.request.method': req.method,
        'url.path': path,
        'url.scheme': req.protocol,
        'network.protocol.version': req.httpVersion,
      };
      const host = req.headers.host;
      if (host !== undefined) attributes['server.address'] = host.replace(/:\d+$/, '');
      if (req.socket.remoteAddress !== undefined) attributes['client.address'] = req.socket.remoteAddress;
      const userAgent = req.headers['user-agent'];
      if (userAgent !== undefined) attributes['user_agent.original'] = userAgent;
      span.setAttributes(attributes);
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (recording) {
        const route = routeLabel(req);
        if (route !== UNMATCHED_ROUTE) {
          span.updateName(`${req.method} ${route}`);
          span.setAttribute('http.route', route);
        }
        span.setAttribute('http.response.status_code', res.statusCode);
        // A client that went away before the answer was sent: the span says so rather than claiming a status.
        if (!res.writableFinished) span.setAttribute('http.request.aborted', true);
      }
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    const active = trace.setSpan(parent, span);
    // Listeners run in the context of whoever emits: without these, a listener on a body chunk that arrives after
    // the headers, or on the `finish` of a response ended from a callback that lost the context, would run outside
    // the request's trace (request-span.test.ts). A request without a body has no stream events anyone waits for.
    // Only listeners added from here on are bound; Node's own (its keep-alive bookkeeping on `finish`) and the two
    // above are not. Wrapping each emitter's `emit` once instead saves about 2 µs per response but would
    // also run Node's listeners, and the timers they start on the connection, in the finished request's context.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)
      context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}
