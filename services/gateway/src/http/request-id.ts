import type { RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids from clients are kept only if they are short and plain, so they cannot inject into logs or headers. */
const ACCEPTABLE = /^[\w.:-]{1,128}$/;

export function acceptRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && ACCEPTABLE.test(value) ? value : undefined;
}

/** Takes the caller's `x-request-id` or makes one; it is returned, forwarded upstream and logged. */
export function requestId(generate: () => string = randomUUID): RequestHandler {
  return (req, res, next) => {
    const id = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? generate();
    res.locals['requestId'] = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  };
}

export function requestIdOf(res: Response): string {
  return String(res.locals['requestId'] ?? '');
}
