import { buildOpenApi, type RouteDoc } from '@obsdemo/telemetry';
import { ROUTES } from './routing.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** The gateway's own surface: each prefix and where it goes; the upstreams document their payloads. */
export function gatewayOpenApi(version: string): Record<string, unknown> {
  const routes: RouteDoc[] = ROUTES.flatMap((rule) =>
    METHODS.map((method) => ({
      method,
      path: `${rule.prefix}/{path}`,
      summary: `Proxied to ${rule.upstream} as ${rule.upstreamPrefix || ''}/{path} (see its /openapi.json)`,
      responses: {
        200: { description: `Whatever ${rule.upstream} answers` },
        401: { description: 'Missing, invalid or expired token (AUTH_MODE=jwt)' },
        403: { description: 'Token lacks the scope this upstream requires' },
        413: { description: 'Request body larger than BODY_LIMIT_BYTES' },
        429: { description: 'Rate limit exceeded; see Retry-After and RateLimit-* headers' },
        502: { description: 'Upstream unreachable' },
        503: { description: 'Circuit breaker open for this upstream' },
        504: { description: 'Upstream timed out' },
      },
    })),
  );
  return buildOpenApi({
    title: 'gateway',
    version,
    description: 'Single entry: routing, rate limiting, circuit breaking and optional JWT auth',
    routes,
  });
}
