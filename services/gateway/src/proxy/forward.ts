// Default imports on purpose: the http instrumentation patches `request` on the module object, and a named
// ESM import would keep the unpatched function (no CLIENT span, no injected trace context).
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { UpstreamName } from '../routing.js';
import {
  ClientSideError,
  UpstreamError,
  UpstreamStatusError,
  clientAborted,
  payloadTooLarge,
  upstreamTimeout,
  upstreamUnreachable,
} from './errors.js';

export interface Upstream {
  name: UpstreamName;
  base: URL;
  agent: http.Agent;
}

export function createUpstream(name: UpstreamName, url: string, maxSockets: number): Upstream {
  const base = new URL(url);
  const Agent = base.protocol === 'https:' ? https.Agent : http.Agent;
  return { name, base, agent: new Agent({ keepAlive: true, maxSockets }) };
}

export interface UpstreamRequest {
  upstream: Upstream;
  method: string;
  /** Path and query for the upstream, already mapped by the routing table. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** The client's request body, streamed through; undefined when the request has none. */
  body: Readable | undefined;
  bodyLimitBytes: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Fires if the client goes away before the upstream answered. */
  clientGone: AbortSignal;
}

/** Counts bytes while streaming, because a chunked body has no Content-Length to check up front. */
export class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(payloadTooLarge(this.limit));
    else callback(null, chunk);
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

function classify(error: unknown, upstream: UpstreamName): Error {
  if (error instanceof UpstreamError || error instanceof ClientSideError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return upstreamUnreachable(upstream, code);
  return upstreamUnreachable(upstream, error instanceof Error ? error.message : String(error));
}

/**
 * Sends one request upstream with node:http (whose client spans and trace-context injection come from the
 * OpenTelemetry http instrumentation) and resolves with the response as soon as its headers arrive; the body
 * is the caller's to stream. Rejects with a 502/504 UpstreamError, a ClientSideError, or an
 * UpstreamStatusError for a 5xx (so a circuit breaker counts it while the response is still relayed).
 */
export async function sendUpstream(r: UpstreamRequest): Promise<IncomingMessage> {
  try {
    return await attempt(r, true);
  } catch (error) {
    if (!(error instanceof StaleSocket)) throw error;
    // The upstream closed an idle kept-alive socket just as we reused it; the request never reached it.
    return attempt(r, false);
  }
}

class StaleSocket extends Error {}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function attempt(r: UpstreamRequest, mayRetry: boolean): Promise<IncomingMessage> {
  const { upstream } = r;
  const basePath = upstream.base.pathname.replace(/\/$/, '');
  return new Promise((resolve, reject) => {
    const request = (upstream.base.protocol === 'https:' ? https.request : http.request)({
      protocol: upstream.base.protocol,
      hostname: upstream.base.hostname,
      port: upstream.base.port,
      method: r.method,
      // Passed as a path, never resolved as a URL: `//other-host/x` must stay a path on this upstream.
      path: `${basePath}${r.path}`,
      headers: r.headers,
      agent: upstream.agent,
    });
    const fail = (error: Error) => request.destroy(error);
    const connectTimer = setTimeout(
      () => fail(upstreamTimeout(upstream.name, `no connection within ${r.connectTimeoutMs} ms`)),
      r.connectTimeoutMs,
    );
    const responseTimer = setTimeout(
      () => fail(upstreamTimeout(upstream.name, `no response within ${r.responseTimeoutMs} ms`)),
      r.responseTimeoutMs,
    );
    const clearTimers = () => {
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
    };
    const onClientGone = () => fail(clientAborted());
    r.clientGone.addEventListener('abort', onClientGone, { once: true });

    request.on('socket', (socket) => {
      // A kept-alive socket is connected already; a new one reports when its TCP (and TLS) handshake is done.
      if (!socket.connecting) clearTimeout(connectTimer);
      else
        socket.once(upstream.base.protocol === 'https:' ? 'secureConnect' : 'connect', () =>
          clearTimeout(connectTimer),
        );
    });
    request.on('response', (response) => {
      clearTimers();
      r.clientGone.removeEventListener('abort', onClientGone);
      // While the body streams, a stalled upstream is cut after the same idle time.
      request.setTimeout(r.responseTimeoutMs, () =>
        request.destroy(upstreamTimeout(upstream.name, 'response body stalled')),
      );
      if ((response.statusCode ?? 502) >= 500) reject(new UpstreamStatusError(response));
      else resolve(response);
    });
    request.on('error', (error) => {
      clearTimers();
      r.clientGone.removeEventListener('abort', onClientGone);
      const stale =
        mayRetry &&
        request.reusedSocket &&
        (error as NodeJS.ErrnoException).code === 'ECONNRESET' &&
        r.body === undefined &&
        SAFE_METHODS.has(r.method);
      reject(stale ? new StaleSocket() : classify(error, upstream.name));
    });

    if (r.body === undefined) {
      request.end();
      return;
    }
    // pipe(), not pipeline(): an upstream failure must not destroy the client's request, whose socket still
    // has to carry our 502/504 answer.
    const limit = new BodyLimit(r.bodyLimitBytes);
    limit.on('error', fail);
    r.body.on('error', () => fail(clientAborted()));
    r.body.pipe(limit).pipe(request);
  });
}
