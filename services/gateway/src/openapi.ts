import { buildOpenApi, type RouteDoc } from '@obsdemo/service-kit';
import { z } from 'zod';
import { ROUTES } from './routing.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const WITH_BODY = new Set<string>(['post', 'put', 'patch']);
/** The rest of the path after the prefix, passed to the upstream as it is. */
const PATH_PARAMS = z.object({
  path: z.string().describe('Path below the prefix, forwarded to the upstream'),
});

/** Answers the gateway passes through from the upstreams, whose own documents describe them in detail. */
const UPSTREAM_ANSWERS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  400: 'Bad request',
  404: 'Not found',
  409: 'Conflict',
  422: 'Unprocessable entity',
  500: 'Upstream error',
};

/** The gateway's own surface: each prefix and where it goes; the upstreams document their payloads. */
export function gatewayOpenApi(version: string): Record<string, unknown> {
  const routes: RouteDoc[] = ROUTES.flatMap((rule) =>
    METHODS.map((method) => ({
      method,
      path: `${rule.prefix}/{path}`,
      summary: `Proxied to ${rule.upstream} as ${rule.upstreamPrefix || ''}/{path} (see its /openapi.json)`,
      params: PATH_PARAMS,
      ...(WITH_BODY.has(method)
        ? { body: z.unknown().describe(`Forwarded to ${rule.upstream} as it is`) }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(UPSTREAM_ANSWERS).map(([code, text]) => [
            code,
            { description: `${text} from ${rule.upstream}` },
          ]),
        ),
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
