import { HttpError } from '@obsdemo/service-kit';

export interface CallSite {
  upstream: string;
  method: string;
  path: string;
}

/** The dependency failed or is unreachable (502). Retryable for idempotent calls. */
export class BadGatewayError extends HttpError {
  constructor(message: string, details: Record<string, unknown>) {
    super(502, 'bad_gateway', message, details);
  }
}

/** The dependency did not answer in time (504). Retryable for idempotent calls. */
export class GatewayTimeoutError extends HttpError {
  constructor(message: string, details: Record<string, unknown>) {
    super(504, 'gateway_timeout', message, details);
  }
}

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** fetch rejects with a TimeoutError when AbortSignal.timeout fires, and with a TypeError for network failures. */
export function fromFetchError(error: unknown, site: CallSite, timeoutMs: number): HttpError {
  const name = (error as { name?: unknown } | undefined)?.name;
  const where = `${site.upstream} ${site.method} ${site.path}`;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new GatewayTimeoutError(`${where} did not answer within ${timeoutMs} ms`, {
      upstream: site.upstream,
      timeoutMs,
    });
  }
  const code = causeCode(error);
  return new BadGatewayError(`${where} is unreachable${code ? ` (${code})` : ''}`, {
    upstream: site.upstream,
    ...(code ? { cause: code } : {}),
  });
}

interface UpstreamBody {
  error?: unknown;
  message?: unknown;
  details?: unknown;
}

/**
 * A 5xx from the dependency is its failure, not ours: 502. A 4xx means our caller's input was refused
 * (unknown product, not enough stock, not found) and is passed through with the dependency's own code.
 */
export function fromResponse(status: number, body: unknown, site: CallSite): HttpError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as UpstreamBody;
  const code = typeof b.error === 'string' ? b.error : undefined;
  const message = typeof b.message === 'string' ? b.message : undefined;
  if (status >= 400 && status < 500) {
    return new HttpError(
      status,
      code ?? 'upstream_rejected',
      message ?? `${site.upstream} answered ${status}`,
      {
        upstream: site.upstream,
        ...(b.details === undefined ? {} : { upstreamDetails: b.details }),
      },
    );
  }
  return new BadGatewayError(`${site.upstream} ${site.method} ${site.path} failed with status ${status}`, {
    upstream: site.upstream,
    status,
    ...(code ? { upstreamError: code } : {}),
  });
}

export function invalidResponse(site: CallSite, reason: string): HttpError {
  return new BadGatewayError(
    `${site.upstream} ${site.method} ${site.path} answered with an unexpected body`,
    {
      upstream: site.upstream,
      reason,
    },
  );
}

/** Only failures of the dependency itself are worth another try; a refused request would be refused again. */
export function isRetryable(error: unknown): boolean {
  return error instanceof BadGatewayError || error instanceof GatewayTimeoutError;
}
