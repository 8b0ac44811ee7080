import { describe, it, expect, afterAll, beforeEach } from '@jest/globals';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import express from 'express';
import { request } from 'node:http';
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
  // A handler reading the body itself (no parser takes text/plain here), as a proxy or an upload does.
  const chunkSpans: (string | undefined)[] = [];
  let chunkArrived = () => {};
  const firstChunk = new Promise<void>((resolve) => (chunkArrived = resolve));
  a.post('/upload', (req, res) => {
    req.on('data', () => {
      chunkSpans.push(trace.getActiveSpan()?.spanContext().spanId);
      chunkArrived();
    });
    req.on('end', () => res.status(204).end());
  });
  // Ended from a callback that lost the request's context, as a library's pool or timer callback can be.
  a.get('/late', (_req, res) => {
    res.once('finish', () => (seen['late-finish'] = trace.getActiveSpan()?.spanContext().spanId));
    context.with(ROOT_CONTEXT, () => setTimeout(() => res.json({ late: true }), 1));
  });
  a.get('/boom', () => {
    throw new Error('boom');
  });
  return { a, seen, upload: { chunkSpans, firstChunk } };
}

const finished = async (count: number) => {
  for (let i = 0; i < 100 && tracing.exporter.getFinishedSpans().length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  return tracing.exporter.getFinishedSpans();
};

/** Serves the app for one test; `seen` is what its handlers and listeners recorded. */
async function withApp(
  test: (
    url: string,
    seen: ReturnType<typeof app>['seen'],
    upload: ReturnType<typeof app>['upload'],
  ) => Promise<void>,
) {
  const { a, seen, upload } = app();
  const server = await listen(a);
  try {
    await test(server.url, seen, upload);
  } finally {
    await server.close();
  }
}

describe('requestSpan', () => {
  it('names the SERVER span after the route template, with the stable HTTP attributes', async () => {
    await withApp(async (url) => {
      const res = await fetch(`${url}/items/42?x=1`, { headers: { 'user-agent': 'unit' } });
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
    });
  });

  it('continues the caller’s trace and keeps its context through body parsing, awaits and `finish`', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await withApp(async (url, seen) => {
      const res = await fetch(`${url}/orders`, {
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
    });
  });

  it('runs the request’s listeners in the span when its body arrives after the headers', async () => {
    await withApp(async (url, _seen, upload) => {
      // Half the body with the headers; the other half only once the handler has read the first, so that its
      // `data` is emitted from the socket's read, outside any request's context, unless the request's listeners
      // are bound to its span.
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = request(`${url}/upload`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'content-length': 20 },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', reject);
        req.write('0123456789');
        void upload.firstChunk.then(() => req.end('abcdefghij'));
      });
      expect(status).toBe(204);
      const [span] = await finished(1);
      expect(span?.name).toBe('POST /upload');
      const spanId = span?.spanContext().spanId;
      expect(upload.chunkSpans).toEqual([spanId, spanId]);
    });
  });

  it('runs the response’s `finish` listeners in the span when it is ended outside the request’s context', async () => {
    await withApp(async (url, seen) => {
      expect((await fetch(`${url}/late`)).status).toBe(200);
      const [span] = await finished(1);
      expect(span?.name).toBe('GET /late');
      expect(seen['late-finish']).toBe(span?.spanContext().spanId);
    });
  });

  it('marks a 5xx as an error, leaves probes untraced and unmatched paths unnamed', async () => {
    await withApp(async (url, seen) => {
      expect((await fetch(`${url}/boom`)).status).toBe(500);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/nowhere`)).status).toBe(404);
      const spans = await finished(2);
      expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET /boom']);
      expect(spans.find((s) => s.name === 'GET /boom')?.status.code).toBe(SpanStatusCode.ERROR);
      const unmatched = spans.find((s) => s.name === 'GET');
      expect(unmatched?.attributes['http.route']).toBeUndefined();
      expect(unmatched?.attributes['http.response.status_code']).toBe(404);
      expect(seen['health']).toBeUndefined();
    });
  });
});
