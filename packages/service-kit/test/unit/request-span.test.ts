import { describe, it, expect, afterAll, beforeEach } from '@jest/globals';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import express from 'express';
import { requestSpan } from '../../src/request-span.js';
import { installInMemoryTracing } from '../../../telemetry/test/unit/tracing-fixture.js';
import { listen } from './http-fixture.js';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());
beforeEach(() => tracing.exporter.reset());

/** The app a service builds: the span first, a body parser, a router, handlers that look at the active span. */
function app() {
  const a = express();
  a.use(requestSpan());
  a.use(express.json());
  const seen: Record<string, string | undefined> = {};
  a.get('/health', (_req, res) => {
    seen['health'] = trace.getActiveSpan()?.spanContext().traceId;
    res.send('ok');
  });
  const items = express.Router();
  items.get('/:id', (req, res) => {
    res.json({ id: req.params['id'] });
  });
  a.use('/items', items);
  a.post('/orders', async (req, res) => {
    // After the body parser (a stream's `end`) and an await: still the request's span.
    await new Promise((resolve) => setTimeout(resolve, 1));
    seen['orders'] = trace.getActiveSpan()?.spanContext().spanId;
    res.once('finish', () => (seen['finish'] = trace.getActiveSpan()?.spanContext().spanId));
    res.status(201).json(req.body);
  });
  a.get('/boom', () => {
    throw new Error('boom');
  });
  return { a, seen };
}

const finished = async (count: number) => {
  for (let i = 0; i < 100 && tracing.exporter.getFinishedSpans().length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  return tracing.exporter.getFinishedSpans();
};

describe('requestSpan', () => {
  it('names the SERVER span after the route template, with the stable HTTP attributes', async () => {
    const { a } = app();
    const server = await listen(a);
    try {
      const res = await fetch(`${server.url}/items/42?x=1`, { headers: { 'user-agent': 'unit' } });
      expect(res.status).toBe(200);
      const [span] = await finished(1);
      expect(span?.name).toBe('GET /items/:id');
      expect(span?.kind).toBe(SpanKind.SERVER);
      expect(span?.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.route': '/items/:id',
        'url.path': '/items/42',
        'url.scheme': 'http',
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'user_agent.original': 'unit',
      });
      expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      await server.close();
    }
  });

  it('continues the caller’s trace and keeps its context through body parsing, awaits and `finish`', async () => {
    const { a, seen } = app();
    const server = await listen(a);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    try {
      const res = await fetch(`${server.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-b7ad6b7169203331-01` },
        body: JSON.stringify({ a: 1 }),
      });
      expect(res.status).toBe(201);
      const [span] = await finished(1);
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(span?.name).toBe('POST /orders');
      expect(seen['orders']).toBe(span?.spanContext().spanId);
      expect(seen['finish']).toBe(span?.spanContext().spanId);
    } finally {
      await server.close();
    }
  });

  it('marks a 5xx as an error, leaves probes untraced and unmatched paths unnamed', async () => {
    const { a, seen } = app();
    const server = await listen(a);
    try {
      expect((await fetch(`${server.url}/boom`)).status).toBe(500);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
      const spans = await finished(2);
      expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET /boom']);
      expect(spans.find((s) => s.name === 'GET /boom')?.status.code).toBe(SpanStatusCode.ERROR);
      const unmatched = spans.find((s) => s.name === 'GET');
      expect(unmatched?.attributes['http.route']).toBeUndefined();
      expect(unmatched?.attributes['http.response.status_code']).toBe(404);
      expect(seen['health']).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
