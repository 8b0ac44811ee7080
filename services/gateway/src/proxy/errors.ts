import { HttpError } from '@obsdemo/service-kit';
import type { IncomingMessage } from 'node:http';
import type { UpstreamName } from '../routing.js';

/** A failure of an upstream (not of the client's request): 502, 503 or 504 with the upstream named. */
export class UpstreamError extends HttpError {
  constructor(
    status: number,
    code: string,
    readonly upstream: UpstreamName,
    message: string,
  ) {
    super(status, code, message, { upstream });
  }
}

export const upstreamTimeout = (upstream: UpstreamName, what: string) =>
  new UpstreamError(504, 'upstream_timeout', upstream, `${upstream} did not answer in time (${what})`);

export const upstreamUnreachable = (upstream: UpstreamName, cause: string) =>
  new UpstreamError(502, 'upstream_unreachable', upstream, `${upstream} could not be reached (${cause})`);

export const circuitOpen = (upstream: UpstreamName) =>
  new UpstreamError(
    503,
    'circuit_open',
    upstream,
    `${upstream} is failing; the gateway stops sending it requests for a while (circuit breaker open)`,
  );

/** The upstream answered 5xx: a failure for the breaker, but its response still goes back to the client. */
export class UpstreamStatusError extends Error {
  constructor(readonly response: IncomingMessage) {
    super(`upstream answered ${response.statusCode}`);
    this.name = 'UpstreamStatusError';
  }
}

/** Something the client did (too large a body, went away): never counted against the upstream. */
export class ClientSideError extends HttpError {}

export const payloadTooLarge = (limit: number) =>
  new ClientSideError(413, 'payload_too_large', `request body is larger than ${limit} bytes`);

export const clientAborted = () =>
  new ClientSideError(400, 'request_aborted', 'request aborted by the client');
