import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '@obsdemo/telemetry';

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/** An error whose status and body are safe to show to the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export class ValidationError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(400, 'validation_error', message, details);
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(404, 'not_found', message, details);
  }
}

export class ConflictError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(409, 'conflict', message, details);
  }
}

/**
 * A failure the demo's fault injection (FAULT_ERROR_PERCENT) made on purpose. Its stack only ever points at the
 * fault middleware, so it is logged as one line.
 */
export class InjectedFaultError extends HttpError {
  readonly fault = 'error';
  constructor() {
    super(503, 'injected_fault', 'injected failure (FAULT_ERROR_PERCENT)');
    this.name = 'InjectedFaultError';
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(503, 'service_unavailable', message, details);
  }
}

/**
 * Recognises errors that mean a dependency cannot be reached right now (its connection refused, dropped or timed
 * out). Those are the client's cue to retry, so they answer 503 with Retry-After rather than 500.
 */
export interface DependencyFailure {
  dependency: string;
  matches: (err: unknown) => boolean;
}

/** Long enough for a restarting database to come back, short enough that clients do not give up on it. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** A failure of ours or of a dependency, worth a log line; not the client's fault. */
  internal: boolean;
  retryAfterSeconds?: number;
}

/** Errors raised by body-parser (express.json) carry a `type`; map each to a client error. */
const BODY_PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'malformed_json', message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  'encoding.unsupported': {
    status: 415,
    code: 'unsupported_encoding',
    message: 'unsupported content encoding',
  },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'unsupported charset' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request aborted by the client' },
  'request.size.invalid': {
    status: 400,
    code: 'bad_request',
    message: 'request size did not match content length',
  },
  'parameters.too.many': { status: 413, code: 'too_many_parameters', message: 'too many parameters' },
};

interface ClientErrorShape {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
}

export function toErrorResponse(
  err: unknown,
  dependencyFailures: readonly DependencyFailure[] = [],
): ErrorResponse {
  if (err instanceof HttpError) {
    const body: ErrorBody = { error: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return { status: err.status, body, internal: err.status >= 500 };
  }
  const failure = dependencyFailures.find((f) => f.matches(err));
  if (failure) {
    return {
      status: 503,
      body: {
        error: 'service_unavailable',
        message: `${failure.dependency} is unavailable; retry later`,
        details: { dependency: failure.dependency },
      },
      internal: true,
      retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
    };
  }
  const shape = (typeof err === 'object' && err !== null ? err : {}) as ClientErrorShape;
  const known = typeof shape.type === 'string' ? BODY_PARSER_ERRORS[shape.type] : undefined;
  if (known)
    return { status: known.status, body: { error: known.code, message: known.message }, internal: false };
  const status = typeof shape.status === 'number' ? shape.status : shape.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && shape.expose === true) {
    return {
      status,
      body: {
        error: 'bad_request',
        message: typeof shape.message === 'string' ? shape.message : 'bad request',
      },
      internal: false,
    };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal server error' }, internal: true };
}

/** The single place that turns errors into `{error, message, details?}`; 5xx only for real failures. */
export function errorMiddleware(
  logger: Logger,
  dependencyFailures: readonly DependencyFailure[] = [],
): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, body, internal, retryAfterSeconds } = toErrorResponse(err, dependencyFailures);
    if (err instanceof InjectedFaultError) {
      // Fault injection runs before routing, so the request's path stands in for a route template.
      logger.error('request failed: injected fault', {
        method: req.method,
        path: req.path.slice(0, 200),
        fault: err.fault,
        error: err.message,
      });
    } else if (retryAfterSeconds !== undefined) {
      // Without the stack: an outage would otherwise bury the log in identical traces.
      logger.error('request failed: dependency unavailable', {
        method: req.method,
        route: req.route?.path,
        dependency: (body.details as { dependency: string }).dependency,
        error: err instanceof Error ? err.message : String(err),
      });
      res.setHeader('Retry-After', String(retryAfterSeconds));
    } else if (internal) logger.error('request failed', { method: req.method, route: req.route?.path, err });
    res.status(status).json(body);
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`no route for ${req.method} ${req.path.slice(0, 200)}`));
};
