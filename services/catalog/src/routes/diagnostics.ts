import { HttpError, parseRequest } from '@obsdemo/service-kit';
import { Router } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import { shouldFail } from '../domain/faults.js';
import { NoQuery, SlowQuery } from '../schemas.js';

export interface DiagnosticsConfig {
  slowDelayMs: number;
  errorRate: number;
  random?: () => number;
}

/** /slow and /error exist to make latency and errors visible on dashboards on purpose. */
export function diagnosticRoutes(config: DiagnosticsConfig): Router {
  const router = Router();
  router.get('/slow', async (req, res) => {
    const delayMs = parseRequest(SlowQuery, req.query, 'query').delayMs ?? config.slowDelayMs;
    await delay(delayMs);
    res.json({ status: 'ok', delayMs });
  });
  router.get('/error', (req, res) => {
    parseRequest(NoQuery, req.query, 'query');
    if (shouldFail(config.errorRate, config.random)) {
      throw new HttpError(500, 'simulated_error', `simulated failure (ERROR_RATE=${config.errorRate})`);
    }
    res.json({ status: 'ok', errorRate: config.errorRate });
  });
  return router;
}
