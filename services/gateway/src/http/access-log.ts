import type { Logger } from '@obsdemo/telemetry';
import { routeLabel } from '@obsdemo/service-kit';
import type { RequestHandler } from 'express';
import { requestIdOf } from './request-id.js';

/** One line per API request: the gateway is where a person looks first for "what happened to my call". */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const fields = {
        requestId: requestIdOf(res),
        method: req.method,
        route: routeLabel(req),
        status: res.statusCode,
        upstream: res.locals['upstream'],
        durationMs: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10,
      };
      if (res.statusCode >= 500) logger.warn('request', fields);
      else logger.info('request', fields);
    });
    next();
  };
}
