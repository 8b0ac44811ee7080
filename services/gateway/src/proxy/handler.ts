import type { Logger } from '@obsdemo/telemetry';
import { HttpError } from '@obsdemo/service-kit';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Histogram, Counter } from 'prom-client';
import type { Lookup, ResponseCache } from '../cache/response-cache.js';
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
  /** The response cache, when enabled; it decides itself which requests it handles. */
  cache?: ResponseCache | undefined;
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
    const lookup = deps.cache?.lookup(
      { method: req.method, url: req.originalUrl, headers: req.headers },
      hasBody(req),
    );
    if (lookup?.stored) {
      const { stored } = lookup;
      res.writeHead(200, {
        ...stored.headers,
        // A stored HEAD answer has no body; its Content-Length is the upstream's, describing the GET.
        ...(req.method === 'HEAD' ? {} : { 'content-length': stored.body.length }),
        age: String(lookup.ageSeconds),
        'x-cache': 'hit',
      });
      res.end(req.method === 'HEAD' ? undefined : stored.body);
      return;
    }

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
    deps.cache?.invalidate(req.method, req.originalUrl, response.statusCode ?? 502);
    const headers = clientResponseHeaders(response.headers);
    if (lookup) {
      headers['x-cache'] = 'miss';
      if (deps.cache) keepForCache(deps.cache, lookup, response, headers);
    }
    res.writeHead(response.statusCode ?? 502, headers);
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
    // With compression on, zlib would hold small chunks back until it has a block's worth; flushing after each
    // upstream chunk keeps a streamed body (progress output, long polls) flowing at the upstream's pace.
    const { flush } = res as { flush?: () => void };
    if (flush) response.on('data', () => flush.call(res));
  };
}

/**
 * Collects the body while it streams to the client and stores it once complete, if the answer may be cached and
 * fits; the client never waits for the cache. A body cut short or grown too large is simply not stored.
 */
function keepForCache(
  cache: ResponseCache,
  lookup: Lookup,
  response: IncomingMessage,
  headers: OutgoingHttpHeaders,
): void {
  if (!lookup.mayStore) return;
  const ttlMs = cache.ttlFor(response);
  if (ttlMs === undefined) return;
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (!chunks) return;
    size += chunk.length;
    if (size > cache.maxBodyBytes) chunks = undefined;
    else chunks.push(chunk);
  });
  response.once('end', () => {
    if (chunks && response.complete) {
      cache.store(lookup, headers, Buffer.concat(chunks, size), ttlMs, response.headers.age);
    }
  });
}

/** Upstream failures are expected during outages: answer them without the error-level log of a real bug. */
export const upstreamErrorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof UpstreamError) || res.headersSent) {
    next(err);
    return;
  }
  res.status(err.status).json({ error: err.code, message: err.message, details: err.details });
};
