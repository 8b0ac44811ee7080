import { parseRequest } from '@obsdemo/service-kit';
import { Router, type RequestHandler } from 'express';
import { BatchRequest, NoQuery, OrderAnalyticsQuery } from '../schemas.js';
import type { AnalyticsService } from '../services/analytics.js';
import type { JobService } from '../services/jobs.js';
import { JOB_TYPES } from '../jobs/handlers.js';

const BASE = '/api/v1/analytics';

export function analyticsRoutes(
  analytics: AnalyticsService,
  jobs: JobService,
  jsonBody: RequestHandler,
): Router {
  const router = Router();
  router.get(`${BASE}/products`, async (req, res) => {
    parseRequest(NoQuery, req.query, 'query');
    res.json(await analytics.products());
  });
  router.get(`${BASE}/orders`, async (req, res) => {
    res.json(await analytics.orders(parseRequest(OrderAnalyticsQuery, req.query, 'query')));
  });
  router.get(`${BASE}/report`, async (req, res) => {
    parseRequest(NoQuery, req.query, 'query');
    res.json(await analytics.report());
  });
  router.post(`${BASE}/process-batch`, jsonBody, async (req, res) => {
    const job = await jobs.enqueue(JOB_TYPES.batch, parseRequest(BatchRequest, req.body, 'body'));
    const statusUrl = `/api/v1/processor/jobs/${job.id}`;
    res.status(202).location(statusUrl).json({ jobId: job.id, status: job.status, statusUrl });
  });
  return router;
}
