import type { HttpMetrics, Logger } from '@obsdemo/telemetry';
import {
  errorMiddleware,
  faultInjection,
  notFoundHandler,
  opsRouter,
  redMiddleware,
  requestSpan,
  type FaultConfig,
} from '@obsdemo/service-kit';
import compression from 'compression';
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { accessLog } from './http/access-log.js';
import { requestId } from './http/request-id.js';
import { upstreamErrorHandler } from './proxy/handler.js';

export interface ProxyRoute {
  /** Express path, also the `route` label. */
  template: string;
  /** auth → scope → rate limit → proxy, in that order. */
  handlers: RequestHandler[];
}

export interface AppDeps {
  logger: Logger;
  metrics: HttpMetrics;
  routes: ProxyRoute[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
  corsAllowedOrigins: string[];
  trustProxyHops: number;
  /** gzip/br negotiation; undefined sends every body as it is. */
  compression?: { thresholdBytes: number } | undefined;
  /** Demo fault injection on the proxied routes, answered by the gateway itself before any upstream is called. */
  faults: FaultConfig;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // req.ip (the rate-limit key for anonymous clients) honours X-Forwarded-For only from this many proxies.
  app.set('trust proxy', deps.trustProxyHops);
  app.use(requestSpan());
  app.use(redMiddleware(deps.metrics));
  app.use(helmet());
  app.use(requestId());
  if (deps.compression) {
    // compression skips bodies below the threshold, types that are compressed already (images, archives), bodies
    // that carry a Content-Encoding, HEAD and `Cache-Control: no-transform`; it streams, so proxied bodies are
    // compressed chunk by chunk as they arrive, and it adds `Vary: Accept-Encoding`.
    app.use(compression({ threshold: deps.compression.thresholdBytes }));
  }
  app.use(
    opsRouter({
      registry: deps.metrics.registry,
      // Upstreams are deliberately not readiness checks: one failing upstream must not take the whole entry
      // point out of the load balancer; its circuit breaker answers fast 503s instead (state in /info).
      checks: [],
      info: deps.info,
      isShuttingDown: deps.isShuttingDown,
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi);
  });
  if (deps.corsAllowedOrigins.length > 0) {
    app.use(cors({ origin: deps.corsAllowedOrigins, exposedHeaders: ['x-request-id', 'Retry-After'] }));
  }
  app.use(accessLog(deps.logger));
  // After CORS and the access log so a browser can read an injected failure and the log shows it; before auth, rate
  // limiting, the cache and the proxy so it behaves like the gateway itself being slow or failing.
  app.use(faultInjection(deps.faults));
  for (const route of deps.routes) app.all(route.template, ...route.handlers);
  app.use(notFoundHandler);
  app.use(upstreamErrorHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
