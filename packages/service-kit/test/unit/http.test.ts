import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import { z } from 'zod';
import { PassThrough } from 'node:stream';
import { ConflictError, errorMiddleware, notFoundHandler } from '../../src/errors.js';
import { createLogger, createHttpMetrics, createRegistry } from '@obsdemo/telemetry';
import { redMiddleware, routeLabel, UNMATCHED_ROUTE } from '../../src/red-middleware.js';
import { opsRouter } from '../../src/ops.js';
import { parseRequest } from '../../src/validation.js';
import { listen } from './http-fixture.js';
import { installInMemoryTracing } from '../../../telemetry/test/unit/tracing-fixture.js';
import { trace } from '@opentelemetry/api';

const tracing = installInMemoryTracing();
const logger = createLogger({ service: 'test', stream: new PassThrough() });
const registry = createRegistry('test', { defaultMetrics: false });
const metrics = createHttpMetrics(registry);
let dbUp = true;

const Body = z.object({ name: z.string().min(1), quantity: z.number().int().positive() });

const app = express();
app.use((req, _res, next) => {
  // Simulates the server span that the http instrumentation would open around the request.
  trace.getTracer('test').startActiveSpan('server', (span) => {
    next();
    span.end();
  });
});
app.use(redMiddleware(metrics));
app.use(express.json({ limit: '1kb' }));
app.use(
  opsRouter({
    registry,
    checks: [
      {
        name: 'postgres',
        check: async () => {
          if (!dbUp) throw new Error('connection refused');
        },
      },
    ],
    info: () => ({ name: 'test', version: '1.0.0' }),
  }),
);
const items = express.Router();
items.get('/:id', (req, res) => {
  res.json({ id: req.params.id });
});
app.use('/items', items);
app.post('/things', (req, res) => {
  res.status(201).json(parseRequest(Body, req.body, 'body'));
});
app.get('/conflict', () => {
  throw new ConflictError('already there', { id: 1 });
});
app.get('/boom', () => {
  throw new Error('database password is hunter2');
});
app.use(notFoundHandler);
app.use(errorMiddleware(logger));

let server: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  server = await listen(app);
});
afterAll(async () => {
  await server.close();
  tracing.uninstall();
});

const post = (path: string, body: string, type = 'application/json') =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

describe('error middleware and validation', () => {
  it('accepts a valid body', async () => {
    const res = await post('/things', JSON.stringify({ name: 'a', quantity: 2 }));
    expect(res.status).toBe(201);
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await post('/things', '{"name": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'malformed_json', message: 'request body is not valid JSON' });
  });

  it('answers an oversized body with 413', async () => {
    const res = await post('/things', JSON.stringify({ name: 'x'.repeat(5000), quantity: 1 }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('payload_too_large');
  });

  it('lists every validation issue with its path', async () => {
    const res = await post('/things', JSON.stringify({ name: '', quantity: -1 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; details: { path: string }[] };
    expect(body.error).toBe('validation_error');
    expect(body.details.map((d) => d.path).sort()).toEqual(['name', 'quantity']);
  });

  it('treats a missing body as a validation error', async () => {
    const res = await post('/things', 'name=a', 'text/plain');
    expect(res.status).toBe(400);
  });

  it('passes HttpError status, code and details through', async () => {
    const res = await fetch(`${server.url}/conflict`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: 'conflict', message: 'already there', details: { id: 1 } });
  });

  it('hides the message of unexpected errors behind a 500', async () => {
    const res = await fetch(`${server.url}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toEqual({ error: 'internal_error', message: 'internal server error' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${server.url}/nope/%3Cscript%3E`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
  });
});

describe('ops router', () => {
  it('reports health and info', async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/info`)).json()).toEqual({ name: 'test', version: '1.0.0' });
  });

  it('is ready while checks pass and answers 503 with details when one fails', async () => {
    dbUp = true;
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    dbUp = false;
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: 'not_ready',
      message: 'dependencies not ready: postgres',
      details: { checks: { postgres: { status: 'failed', error: 'connection refused' } } },
    });
  });
});

describe('RED metrics', () => {
  it('labels by route template, never the raw path, and carries a trace_id exemplar', async () => {
    await fetch(`${server.url}/items/123`);
    await fetch(`${server.url}/items/456`);
    await fetch(`${server.url}/no/such/path/789`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('application/openmetrics-text');
    const text = await res.text();
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/items\/:id",status="200",service="test"\} 2/,
    );
    expect(text).toContain(`route="${UNMATCHED_ROUTE}",status="404"`);
    expect(text).not.toContain('/items/123');
    expect(text).not.toContain('/no/such/path');
    expect(text).toMatch(
      /http_requests_total\{[^}]*route="\/items\/:id"[^}]*\} 2 # \{trace_id="[0-9a-f]{32}"\}/,
    );
    expect(text).toContain('http_request_duration_seconds_bucket');
  });

  it('builds labels from baseUrl and route path', () => {
    expect(routeLabel({ baseUrl: '/api', route: { path: '/orders/:id' } } as never)).toBe('/api/orders/:id');
    expect(routeLabel({ baseUrl: '', route: undefined } as never)).toBe(UNMATCHED_ROUTE);
  });
});
