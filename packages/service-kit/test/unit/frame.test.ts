import { describe, it, expect } from '@jest/globals';
import { createLogger, createRegistry } from '@obsdemo/telemetry';
import express from 'express';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { buildOpenApi } from '../../src/openapi.js';
import { createShutdown } from '../../src/shutdown.js';
import { opsRouter } from '../../src/ops.js';
import { listen } from './http-fixture.js';

describe('buildOpenApi', () => {
  it('documents params, query and body from the validating schemas', () => {
    const doc = buildOpenApi({
      title: 'catalog',
      version: '1.0.0',
      routes: [
        {
          method: 'get',
          path: '/products/:id',
          summary: 'one product',
          params: z.object({ id: z.coerce.number().int().positive() }),
          query: z.object({ expand: z.enum(['stock']).optional() }),
          responses: { 200: { description: 'ok', schema: z.object({ id: z.number() }) } },
        },
        {
          method: 'post',
          path: '/products',
          summary: 'create',
          body: z.object({ name: z.string().min(1) }),
          responses: { 201: { description: 'created' } },
        },
      ],
    }) as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc.openapi).toBe('3.1.0');
    const get = doc.paths['/products/{id}']!['get']!;
    expect(get['parameters']).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', required: true }),
      expect.objectContaining({
        name: 'expand',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['stock'] },
      }),
    ]);
    const post = doc.paths['/products']!['post']!;
    expect(JSON.stringify(post['requestBody'])).toContain('"minLength":1');
    expect(Object.keys(post['responses'] as object)).toEqual(['201', '4XX']);
  });
});

describe('createShutdown', () => {
  it('lets an in-flight request finish, then runs closers in order and flushes telemetry', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const app = express();
    app.get('/slow', async (_req, res) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      res.json({ done: true });
    });
    const { url, server } = await listen(app);
    const shutdown = createShutdown({
      server,
      logger: createLogger({ service: 'test', stream: new PassThrough() }),
      drainTimeoutMs: 30_000,
      flushTelemetry: async () => {
        order.push('telemetry');
      },
    });
    shutdown.register({ name: 'consumer', close: async () => void order.push('consumer') });
    shutdown.register({ name: 'pool', close: async () => void order.push('pool') });

    const inflight = fetch(`${url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const done = shutdown.run('test');
    expect(shutdown.isShuttingDown()).toBe(true);
    await expect(fetch(`${url}/slow`)).rejects.toThrow();
    expect(order).toEqual([]);
    release();
    expect((await inflight).status).toBe(200);
    expect(await done).toBe(0);
    expect(order).toEqual(['consumer', 'pool', 'telemetry']);
  });

  it('keeps closing after a failing closer and reports exit code 1', async () => {
    const { server } = await listen(express());
    const order: string[] = [];
    const shutdown = createShutdown({
      server,
      logger: createLogger({ service: 'test', stream: new PassThrough() }),
      drainTimeoutMs: 1000,
    });
    shutdown.register({ name: 'broken', close: async () => Promise.reject(new Error('nope')) });
    shutdown.register({ name: 'pool', close: async () => void order.push('pool') });
    expect(await shutdown.run('test')).toBe(1);
    expect(order).toEqual(['pool']);
  });
});

describe('opsRouter during shutdown', () => {
  it('answers /ready with 503 once shutdown began, even though every check passes', async () => {
    let shuttingDown = false;
    const app = express();
    app.use(
      opsRouter({
        registry: createRegistry('test', { defaultMetrics: false }),
        checks: [{ name: 'db', check: async () => undefined }],
        info: () => ({}),
        isShuttingDown: () => shuttingDown,
      }),
    );
    const { url, close } = await listen(app);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    shuttingDown = true;
    const res = await fetch(`${url}/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'not_ready', message: 'shutting down' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await close();
  });
});
