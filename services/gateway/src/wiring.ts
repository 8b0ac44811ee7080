import {
  createHttpMetrics,
  createLogger,
  createRegistry,
  type HttpMetrics,
  type Logger,
} from '@obsdemo/telemetry';
import { faultConfig } from '@obsdemo/service-kit';
import type { Express, RequestHandler } from 'express';
import { Counter, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import { createApp } from './app.js';
import { ResponseCache } from './cache/response-cache.js';
import { compileRouteAllowList } from './cache/routes.js';
import { configSummary, upstreamUrls, type GatewayConfig } from './config.js';
import { authenticate, createVerifier, principalOf, requireScope } from './http/auth.js';
import { createLimiter, rateLimit, type RateLimitPolicy } from './http/rate-limit.js';
import { gatewayOpenApi } from './openapi.js';
import { breakerState, createBreakers, type Breaker } from './proxy/breakers.js';
import { createUpstream, type Upstream } from './proxy/forward.js';
import { proxyHandler, type UpstreamMetrics } from './proxy/handler.js';
import { ROUTES, UPSTREAMS, routeTemplate, type UpstreamName } from './routing.js';

export interface Gateway {
  app: Express;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  metrics: HttpMetrics;
  breakers: Record<UpstreamName, Breaker>;
  /** The response cache; undefined when GATEWAY_CACHE_ENABLED is false. */
  cache: ResponseCache | undefined;
  /** Stops breaker timers and closes pooled upstream connections. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  version: string;
  isShuttingDown?: () => boolean;
  logger?: Logger;
}

/** The `cache` label of the gateway's response cache, next to catalog's `catalog_products`. */
export const RESPONSE_CACHE_NAME = 'gateway_responses';

function upstreamMetrics(registry: Registry<OpenMetricsContentType>): UpstreamMetrics {
  return {
    requests: new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Proxied requests by upstream, route template, method and status (502/503/504 from the gateway).',
      labelNames: ['upstream', 'route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'gateway_upstream_request_duration_seconds',
      help: 'Time until the upstream response headers arrived (or the request failed), by upstream and route.',
      labelNames: ['upstream', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** Builds the whole service from validated config; shared by main.ts and the tests. */
export async function buildGateway(config: GatewayConfig, options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const registry = createRegistry('gateway');
  const metrics = createHttpMetrics(registry);
  const perUpstream = upstreamMetrics(registry);
  const rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests answered 429 by route template.',
    labelNames: ['route'],
    registers: [registry],
  });
  const urls = upstreamUrls(config);
  const upstreams = Object.fromEntries(
    UPSTREAMS.map((name) => [name, createUpstream(name, urls[name], config.UPSTREAM_MAX_SOCKETS)]),
  ) as Record<UpstreamName, Upstream>;
  const breakers = createBreakers(
    UPSTREAMS,
    {
      errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
      rollingCountTimeout: config.BREAKER_ROLLING_WINDOW_MS,
      resetTimeout: config.BREAKER_RESET_TIMEOUT_MS,
    },
    registry,
    logger,
  );
  const verify =
    config.AUTH_MODE === 'jwt'
      ? await createVerifier({
          secret: config.JWT_SECRET,
          publicKeyPem: config.JWT_PUBLIC_KEY,
          jwksUrl: config.JWT_JWKS_URL,
          jwks: config.JWT_JWKS,
          algorithm: config.JWT_ALGORITHM,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
        })
      : undefined;
  const policy: RateLimitPolicy = {
    rps: config.RATE_LIMIT_RPS,
    burst: config.RATE_LIMIT_BURST,
    burstWindowSeconds: config.RATE_LIMIT_BURST_WINDOW_SECONDS,
  };
  // One limiter for all routes: the budget is per client, not per client and route.
  const limiter = createLimiter(policy);
  const clientKey = (res: Parameters<typeof principalOf>[0], ip: string) => {
    const principal = principalOf(res);
    return principal ? `sub:${principal.subject}` : `ip:${ip}`;
  };

  const cache = config.GATEWAY_CACHE_ENABLED
    ? new ResponseCache({
        name: RESPONSE_CACHE_NAME,
        maxEntries: config.GATEWAY_CACHE_MAX_ENTRIES,
        maxBytes: config.GATEWAY_CACHE_MAX_BYTES,
        defaultTtlSeconds: config.GATEWAY_CACHE_DEFAULT_TTL_SECONDS,
        allowList: compileRouteAllowList(
          config.GATEWAY_CACHE_ROUTES,
          ROUTES.map((r) => r.prefix),
        ),
        registry,
      })
    : undefined;

  const routes = ROUTES.map((rule) => {
    const template = routeTemplate(rule);
    const upstream = upstreams[rule.upstream];
    const breaker = breakers[rule.upstream];
    const handlers: RequestHandler[] = [];
    if (verify) {
      handlers.push(authenticate(verify), requireScope(config.JWT_REQUIRED_SCOPES[rule.upstream]));
    }
    handlers.push(
      rateLimit(policy, limiter, clientKey, () => rateLimited.inc({ route: template })),
      proxyHandler({
        rule,
        route: template,
        upstream,
        breaker,
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        responseTimeoutMs: config.UPSTREAM_RESPONSE_TIMEOUT_MS,
        metrics: perUpstream,
        logger,
        cache,
      }),
    );
    return { template, handlers };
  });

  const app = createApp({
    logger,
    metrics,
    routes,
    info: () => ({
      name: 'gateway',
      version: options.version,
      upstreams: Object.fromEntries(
        UPSTREAMS.map((name) => [name, { url: urls[name], circuit: breakerState(breakers[name]) }]),
      ),
      routes: ROUTES.map((r) => ({
        prefix: r.prefix,
        upstream: r.upstream,
        upstreamPrefix: r.upstreamPrefix || '/',
      })),
      config: configSummary(config),
      ...(cache ? { cache: { entries: cache.size } } : {}),
    }),
    openapi: gatewayOpenApi(options.version),
    isShuttingDown: options.isShuttingDown ?? (() => false),
    corsAllowedOrigins: config.CORS_ALLOWED_ORIGINS,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    compression: config.GATEWAY_COMPRESSION_ENABLED
      ? { thresholdBytes: config.GATEWAY_COMPRESSION_THRESHOLD_BYTES }
      : undefined,
    faults: faultConfig(config),
  });
  return {
    app,
    logger,
    registry,
    metrics,
    breakers,
    cache,
    async close() {
      for (const breaker of Object.values(breakers)) breaker.shutdown();
      for (const upstream of Object.values(upstreams)) upstream.agent.destroy();
    },
  };
}
