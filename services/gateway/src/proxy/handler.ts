import { HttpError, type Logger } from '@obsdemo/telemetry';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import type { Histogram, Counter } from 'prom-client';
import { requestIdOf } from '../http/request-id.js';
import { upstreamPath, type RouteRule } from '../routing.js';
import type { Breaker } from './breakers.js';
import { UpstreamError, UpstreamStatusError, circuitOpen, payloadTooLarge } from './errors.js';
import { sendUpstream, type Upstream } from './forward.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

export interface UpstreamMetrics {
  requests: Counter<'upstream' | 'route' | 'method' | 'status'>;
  duration: Histogram<'upstream' | 'route'>;
}

export interface ProxyDeps {
  rule: RouteRule;
  route: string;
  upstream: Upstream;
  breaker: Breaker;
  bodyLimitBytes: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  metrics: UpstreamMetrics;
  logger: Logger;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Forwards the matched request through the upstream's breaker and streams the answer back. */
export function proxyHandler(deps: ProxyDeps): RequestHandler {
  const { rule, upstream, breaker, metrics, route } = deps;
  return async (req, res) => {
    const path = upstreamPath(rule, req.originalUrl);
    if (path === undefined) throw new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > deps.bodyLimitBytes) throw payloadTooLarge(deps.bodyLimitBytes);
    res.locals['upstream'] = upstream.name;

    const clientGone = new AbortController();
    let response: IncomingMessage | undefined;
    res.once('close', () => {
      clientGone.abort();
      // The client left mid-body: stop reading from the upstream too.
      if (response && !response.complete) response.destroy();
    });
    const start = process.hrtime.bigint();
    const record = (status: number) => {
      metrics.requests.inc({ upstream: upstream.name, route, method: req.method, status: String(status) });
      metrics.duration.observe(
        { upstream: upstream.name, route },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    };

    try {
      response = await breaker.fire(() =>
        sendUpstream({
          upstream,
          method: req.method,
          path,
          headers: upstreamRequestHeaders(req.headers, {
            requestId: requestIdOf(res),
            clientIp: req.socket.remoteAddress ?? 'unknown',
            protocol: req.protocol,
            host: req.headers.host,
          }),
          body: hasBody(req) ? req : undefined,
          bodyLimitBytes: deps.bodyLimitBytes,
          connectTimeoutMs: deps.connectTimeoutMs,
          responseTimeoutMs: deps.responseTimeoutMs,
          clientGone: clientGone.signal,
        }),
      );
    } catch (error) {
      if (error instanceof UpstreamStatusError) {
        response = error.response;
      } else {
        const failure =
          (error as { code?: unknown }).code === 'EOPENBREAKER' ? circuitOpen(upstream.name) : error;
        if (failure instanceof UpstreamError) record(failure.status);
        throw failure;
      }
    }
    record(response.statusCode ?? 502);
    res.writeHead(response.statusCode ?? 502, clientResponseHeaders(response.headers));
    // pipe() with two explicit handlers rather than pipeline(): the same teardown with far fewer listeners
    // on a response that telemetry and Express already listen to.
    response.once('error', (error) => {
      deps.logger.warn('response stream cut', {
        requestId: requestIdOf(res),
        upstream: upstream.name,
        err: error.message,
      });
      res.destroy(error);
    });
    response.pipe(res);
  };
}

/** Upstream failures are expected during outages: answer them without the error-level log of a real bug. */
export const upstreamErrorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof UpstreamError) || res.headersSent) {
    next(err);
    return;
  }
  res.status(err.status).json({ error: err.code, message: err.message, details: err.details });
};
