import { serviceApp, type ServiceAppOptions } from '@obsdemo/service-kit';
import express, { type Express } from 'express';
import { analyticsRoutes } from './routes/analytics.js';
import { processorRoutes } from './routes/processor.js';
import type { AnalyticsService } from './services/analytics.js';
import type { JobService } from './services/jobs.js';
import type { WorkflowService } from './services/workflow.js';

export interface AppDeps extends ServiceAppOptions {
  analytics: AnalyticsService;
  workflow: WorkflowService;
  jobs: JobService;
  bodyLimitBytes: number;
}

export function createApp(deps: AppDeps): Express {
  return serviceApp(deps, (app) => {
    const jsonBody = express.json({ limit: deps.bodyLimitBytes });
    app.use(analyticsRoutes(deps.analytics, deps.jobs, jsonBody));
    app.use(processorRoutes(deps.workflow, deps.jobs, jsonBody));
  });
}
