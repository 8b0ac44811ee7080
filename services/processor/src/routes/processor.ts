import { parseRequest } from '@obsdemo/service-kit';
import { Router, type RequestHandler } from 'express';
import { EnrichRequest, JobIdParams, JobListQuery, ProcessOrderRequest } from '../schemas.js';
import type { JobService } from '../services/jobs.js';
import type { WorkflowService } from '../services/workflow.js';

const BASE = '/api/v1/processor';

export function processorRoutes(
  workflow: WorkflowService,
  jobs: JobService,
  jsonBody: RequestHandler,
): Router {
  const router = Router();
  router.post(`${BASE}/orders/process`, jsonBody, async (req, res) => {
    const result = await workflow.processOrder(parseRequest(ProcessOrderRequest, req.body, 'body'));
    res.status(201).json(result);
  });
  router.post(`${BASE}/products/enrich`, jsonBody, async (req, res) => {
    res.json(await workflow.enrichProducts(parseRequest(EnrichRequest, req.body, 'body').productIds));
  });
  router.get(`${BASE}/jobs`, async (req, res) => {
    res.json(await jobs.list(parseRequest(JobListQuery, req.query, 'query')));
  });
  router.get(`${BASE}/jobs/:id`, async (req, res) => {
    res.json(await jobs.get(parseRequest(JobIdParams, req.params, 'params').id));
  });
  return router;
}
