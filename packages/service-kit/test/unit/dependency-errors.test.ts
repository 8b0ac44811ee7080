import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import { PassThrough } from 'node:stream';
import {
  DEPENDENCY_RETRY_AFTER_SECONDS,
  NotFoundError,
  errorMiddleware,
  toErrorResponse,
  type DependencyFailure,
} from '../../src/errors.js';
import { createLogger } from '@obsdemo/telemetry';
import { listen } from './http-fixture.js';

class StoreDown extends Error {}
const store: DependencyFailure = { dependency: 'postgres', matches: (err) => err instanceof StoreDown };

const logs = new PassThrough();
let logged = '';
logs.on('data', (chunk: Buffer) => (logged += chunk.toString()));

const app = express();
app.get('/down', () => {
  throw new StoreDown('connect ECONNREFUSED 127.0.0.1:5432');
});
app.get('/broken', () => {
  throw new Error('something else');
});
app.use(errorMiddleware(createLogger({ service: 'test', stream: logs }), [store]));

let server: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  server = await listen(app);
});
afterAll(async () => {
  await server.close();
});

describe('dependency failures', () => {
  it('answers 503 JSON with Retry-After when a dependency is down, and logs one line without the stack', async () => {
    const res = await fetch(`${server.url}/down`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(DEPENDENCY_RETRY_AFTER_SECONDS));
    expect(await res.json()).toEqual({
      error: 'service_unavailable',
      message: 'postgres is unavailable; retry later',
      details: { dependency: 'postgres' },
    });
    const line = JSON.parse(logged.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'error',
      dependency: 'postgres',
      error: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
    expect(JSON.stringify(line)).not.toContain('    at ');
  });

  it('leaves other errors alone: 500 without Retry-After', async () => {
    const res = await fetch(`${server.url}/broken`);
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect((await res.json()) as unknown).toEqual({
      error: 'internal_error',
      message: 'internal server error',
    });
  });

  it('keeps HttpErrors as they are even when a classifier would match them', () => {
    const everything: DependencyFailure = { dependency: 'postgres', matches: () => true };
    expect(toErrorResponse(new NotFoundError('no such thing'), [everything]).status).toBe(404);
    expect(toErrorResponse(new Error('x')).status).toBe(500);
  });
});
