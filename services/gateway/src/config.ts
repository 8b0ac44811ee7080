import { FAULT_ENV, env } from '@obsdemo/service-kit';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { compileRouteAllowList } from './cache/routes.js';
import { ROUTES, UPSTREAMS, type UpstreamName } from './routing.js';

const httpUrl = (fallback: string) =>
  z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default(fallback);

const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** `a.example,b.example` → list; empty means "none". */
const commaList = z.string().default('').transform(splitList);

/** `processor=orders:write,invoices=invoices:read`: the scope a token needs to reach an upstream. */
const requiredScopes = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const scopes: Partial<Record<UpstreamName, string>> = {};
    for (const entry of value.split(',').map((s) => s.trim())) {
      if (entry === '') continue;
      const [name, scope, ...rest] = entry.split('=').map((s) => s.trim());
      if (!UPSTREAMS.includes(name as UpstreamName) || !scope || rest.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `comma-separated upstream=scope pairs with upstream one of ${UPSTREAMS.join(', ')}`,
        });
        return z.NEVER;
      }
      scopes[name as UpstreamName] = scope;
    }
    return scopes;
  });

/** The product reads loadgen and browsers make most; list and detail pages. */
export const DEFAULT_CACHE_ROUTES = '/api/v1/catalog/products,/api/v1/catalog/products/:id';

/** Gateway paths in Express syntax; each must compile and lie under a gateway prefix. */
const cacheRoutes = z
  .string()
  .default(DEFAULT_CACHE_ROUTES)
  .transform(splitList)
  .superRefine((patterns, ctx) => {
    try {
      compileRouteAllowList(
        patterns,
        ROUTES.map((r) => r.prefix),
      );
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `comma-separated gateway paths: ${(error as Error).message}` });
    }
  });

const JWKS_DOCUMENT = 'a JSON Web Key Set document like {"keys":[{"kty":"RSA",...}]}';

const JwkSetShape = z.object({ keys: z.array(z.looseObject({ kty: z.string() })).min(1) });

/**
 * An inline JWKS (what the operator mounts from the CR's `auth.jwt.secretRef`). Checked here so a bad document stops
 * start-up instead of turning every request into a 401; keys holding private material are refused so the gateway
 * never carries signing keys.
 */
const inlineJwks = z.string().transform((value, ctx): JSONWebKeySet => {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JWKS_DOCUMENT}, but it is not JSON` });
    return z.NEVER;
  }
  const shape = JwkSetShape.safeParse(document);
  if (!shape.success) {
    ctx.addIssue({
      code: 'custom',
      message: `${JWKS_DOCUMENT}: "keys" must be a non-empty array of keys with "kty"`,
    });
    return z.NEVER;
  }
  // `d` is the private part of RSA/EC/OKP keys, `k` the secret of an oct key.
  if (shape.data.keys.some((k) => 'd' in k || 'k' in k)) {
    ctx.addIssue({ code: 'custom', message: `${JWKS_DOCUMENT} holding public keys only` });
    return z.NEVER;
  }
  return shape.data;
});

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export const GatewayConfigSchema = z
  .object({
    GATEWAY_PORT: env.port(8080),
    /** All interfaces in a container; tests and local runs pass 127.0.0.1. */
    GATEWAY_HOST: env.string('0.0.0.0'),
    CATALOG_URL: httpUrl('http://127.0.0.1:8000'),
    PROCESSOR_URL: httpUrl('http://127.0.0.1:8001'),
    INVOICES_URL: httpUrl('http://127.0.0.1:8002'),
    UPSTREAM_CONNECT_TIMEOUT_MS: env.int(2000, 10, 60_000),
    /** From sending the request until the response headers arrive; also the idle limit while streaming. */
    UPSTREAM_RESPONSE_TIMEOUT_MS: env.int(15_000, 10, 300_000),
    UPSTREAM_MAX_SOCKETS: env.int(256, 1, 10_000),
    RATE_LIMIT_RPS: env.int(50, 1, 1_000_000),
    /** Extra requests a client may make per burst window once a second's budget is spent; 0 disables. */
    RATE_LIMIT_BURST: env.int(100, 0, 1_000_000),
    RATE_LIMIT_BURST_WINDOW_SECONDS: env.int(10, 1, 3600),
    BREAKER_ERROR_THRESHOLD_PERCENT: env.int(50, 1, 100),
    /** Requests an upstream must see in the rolling window before its breaker may open. */
    BREAKER_VOLUME_THRESHOLD: env.int(10, 1, 100_000),
    BREAKER_ROLLING_WINDOW_MS: env.int(10_000, 1000, 600_000),
    /** How long an open breaker fails fast before it lets one probe request through (half-open). */
    BREAKER_RESET_TIMEOUT_MS: env.int(10_000, 100, 600_000),
    AUTH_MODE: z.enum(['none', 'jwt'], 'none or jwt').default('none'),
    /** HS256 shared secret; at least 32 characters so it cannot be brute-forced from a token. */
    JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    /** PEM (SPKI) public key for RS*, PS*, ES* or EdDSA tokens. */
    JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { error: 'a PEM public key' }).optional(),
    JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
    /** Inline JWKS document (public keys); for key sets that are mounted rather than served. */
    JWT_JWKS: inlineJwks.optional(),
    JWT_ALGORITHM: z.enum(ASYMMETRIC_ALGS, `one of ${ASYMMETRIC_ALGS.join(', ')}`).default('RS256'),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    JWT_CLOCK_TOLERANCE_SECONDS: env.int(5, 0, 600),
    JWT_REQUIRED_SCOPES: requiredScopes,
    /** Browser origins allowed to call the API; empty sends no CORS headers (same-origin only). */
    CORS_ALLOWED_ORIGINS: commaList,
    BODY_LIMIT_BYTES: env.int(1024 * 1024, 1024, 100 * 1024 * 1024),
    /** Proxies in front of the gateway whose X-Forwarded-For is trusted for the client IP. */
    TRUST_PROXY_HOPS: env.int(0, 0, 10),
    SHUTDOWN_DRAIN_MS: env.int(10_000, 0, 120_000),
    /** Shared response cache for GET/HEAD on the allow-listed routes (off unless asked for). */
    GATEWAY_CACHE_ENABLED: env.bool(false),
    /** Allow-list: gateway paths in Express syntax (`/api/v1/catalog/products/:id`), comma-separated. */
    GATEWAY_CACHE_ROUTES: cacheRoutes,
    GATEWAY_CACHE_MAX_ENTRIES: env.int(1000, 1, 1_000_000),
    /** Memory for cached bodies; one body may use at most an eighth of it. */
    GATEWAY_CACHE_MAX_BYTES: env.int(64 * 1024 * 1024, 64 * 1024, 4 * 1024 * 1024 * 1024),
    /** Lifetime of a 200 whose upstream sent no Cache-Control freshness; 0 = store only what says max-age. */
    GATEWAY_CACHE_DEFAULT_TTL_SECONDS: env.int(0, 0, 86_400),
    /** gzip/br for clients that accept it; bodies below the threshold and compressed types are sent as they are. */
    GATEWAY_COMPRESSION_ENABLED: env.bool(true),
    GATEWAY_COMPRESSION_THRESHOLD_BYTES: env.int(1024, 0, 100 * 1024 * 1024),
    ...FAULT_ENV,
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.GATEWAY_CACHE_ENABLED && cfg.GATEWAY_CACHE_ROUTES.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_CACHE_ROUTES'],
        message: 'GATEWAY_CACHE_ENABLED=true needs at least one route to cache',
      });
    }
    if (cfg.AUTH_MODE !== 'jwt') return;
    const sources = [cfg.JWT_SECRET, cfg.JWT_PUBLIC_KEY, cfg.JWT_JWKS_URL, cfg.JWT_JWKS].filter(
      (v) => v !== undefined,
    );
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message:
          'AUTH_MODE=jwt needs exactly one key source: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL or JWT_JWKS ' +
          `(${sources.length} set)`,
      });
    }
  });

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

export function upstreamUrls(config: GatewayConfig): Record<UpstreamName, string> {
  return { catalog: config.CATALOG_URL, processor: config.PROCESSOR_URL, invoices: config.INVOICES_URL };
}

/** What /info shows: the effective settings, never key material. */
export function configSummary(config: GatewayConfig): Record<string, unknown> {
  const { JWT_SECRET: _secret, JWT_PUBLIC_KEY: publicKey, JWT_JWKS: jwks, ...rest } = config;
  return {
    ...rest,
    JWT_PUBLIC_KEY: publicKey === undefined ? undefined : 'set',
    JWT_JWKS: jwks === undefined ? undefined : 'set',
  };
}
