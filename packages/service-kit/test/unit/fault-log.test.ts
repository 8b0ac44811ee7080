import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import express from 'express';
import { PassThrough } from 'node:stream';
import { createLogger, createHttpMetrics, createRegistry } from '@obsdemo/telemetry';
import { serviceApp } from '../../src/service-app.js';
import { listen } from './http-fixture.js';
import { installInMemoryTracing } from '../../../telemetry/test/unit/tracing-fixture.js';

const logs = new PassThrough();
let logged = '';
logs.on('data', (chunk: Buffer) => (logged += chunk.toString()));

/** The dice: the first request fails by injection, the rest pass, so /broken reaches its real error. */
let failNext = true;
const frame = serviceApp(
  {
    logger: createLogger({ service: 'faulty', stream: logs }),
    metrics: createHttpMetrics(createRegistry('faulty', { defaultMetrics: false })),
    checks: [],
    info: () => ({}),
    openapi: {},
    isShuttingDown: () => false,
    faults: { latencyMs: 0, latencyPercent: 0, errorPercent: 50 },
    random: () => (failNext ? 0 : 0.99),
  },
  (routes) => {
    routes.get('/api/things/:id', (_req, res) => {
      res.json({});
    });
    routes.get('/broken', () => {
      throw new Error('a real bug');
    });
  },
);

// A server span around every request, as the HTTP instrumentation makes one in the services.
const app = express();
app.use((_req, _res, next) => {
  trace.getTracer('test').startActiveSpan('request', (span) => {
    next();
    span.end();
  });
});
app.use(frame);

let tracing: ReturnType<typeof installInMemoryTracing>;
let server: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  tracing = installInMemoryTracing();
  server = await listen(app);
});
afterAll(async () => {
  await server.close();
  tracing.uninstall();
});

const lines = () =>
  logged
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the log line of a failed request', () => {
  it('is one line without a stack for an injected fault, with path, fault kind and trace id', async () => {
    logged = '';
    failNext = true;
    const res = await fetch(`${server.url}/api/things/42`);
    expect(res.status).toBe(503);
    expect(lines()).toHaveLength(1);
    const [line] = lines();
    expect(line).toMatchObject({
      level: 'error',
      service: 'faulty',
      message: 'request failed: injected fault',
      method: 'GET',
      path: '/api/things/42',
      fault: 'error',
      error: 'injected failure (FAULT_ERROR_PERCENT)',
    });
    expect(line?.['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(logged).not.toContain('stack');
    expect(logged).not.toContain('    at ');
  });

  it('keeps the stack of a real error', async () => {
    logged = '';
    failNext = false;
    const res = await fetch(`${server.url}/broken`);
    expect(res.status).toBe(500);
    const [line] = lines();
    expect(line).toMatchObject({ level: 'error', message: 'request failed' });
    expect(line?.['err']).toMatchObject({ message: 'a real bug', stack: expect.stringContaining('    at ') });
    expect(line).not.toHaveProperty('fault');
  });
});
