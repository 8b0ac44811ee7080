import { describe, it, expect, afterEach } from '@jest/globals';
import { createLogger } from '@obsdemo/telemetry';
import { ConfigError, errorMiddleware, faultInjection, parseConfig } from '@obsdemo/service-kit';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { CatalogConfigSchema, configSummary } from '../../src/config.js';
import { catalogOpenApi } from '../../src/openapi.js';
import { diagnosticRoutes } from '../../src/routes/diagnostics.js';
import { NewOrder, ProductListQuery } from '../../src/schemas.js';

let server: Server | undefined;
afterEach(() => {
  server?.close();
});

async function serve(app: express.Express): Promise<string> {
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function appWith(random: () => number, faults = { latencyMs: 0, latencyPercent: 0, errorPercent: 0 }) {
  const app = express();
  app.use(faultInjection(faults, random));
  app.use(diagnosticRoutes({ slowDelayMs: 1, errorRate: 0.5, random }));
  app.use(errorMiddleware(createLogger({ service: 'test', stream: new PassThrough() })));
  return app;
}

describe('diagnostic routes', () => {
  it('/error answers 500 simulated_error when the dice say so, 200 otherwise', async () => {
    let roll = 0.1;
    const url = await serve(appWith(() => roll));
    const failed = await fetch(`${url}/error`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      error: 'simulated_error',
      message: 'simulated failure (ERROR_RATE=0.5)',
    });
    roll = 0.9;
    expect((await fetch(`${url}/error`)).status).toBe(200);
  });

  it('/slow uses the configured delay by default', async () => {
    const url = await serve(appWith(() => 0.9));
    expect(await (await fetch(`${url}/slow`)).json()).toEqual({ status: 'ok', delayMs: 1 });
  });

  it('fault injection answers 503 injected_fault within FAULT_ERROR_PERCENT', async () => {
    const url = await serve(appWith(() => 0.05, { latencyMs: 0, latencyPercent: 0, errorPercent: 10 }));
    const res = await fetch(`${url}/slow`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('injected_fault');
  });
});

describe('config', () => {
  const valid = { DB_PASSWORD: 'generated' };

  it('has defaults for everything but the password', () => {
    const config = parseConfig(CatalogConfigSchema, valid);
    expect(config.CATALOG_PORT).toBe(8000);
    expect(config.DB_POOL_MAX).toBe(10);
    expect(configSummary(config)).not.toHaveProperty('DB_PASSWORD');
  });

  it('has no default password', () => {
    expect(() => parseConfig(CatalogConfigSchema, {})).toThrow(/^config error: DB_PASSWORD/);
  });

  it.each([
    ['CATALOG_PORT', '80a'],
    ['DB_POOL_MAX', '0'],
    ['ERROR_RATE', '2'],
    ['FAULT_ERROR_PERCENT', '101'],
    ['CURRENCY', 'euro'],
    ['LOG_LEVEL', 'verbose'],
  ])('rejects %s=%s with one line naming it', (key, value) => {
    expect(() => parseConfig(CatalogConfigSchema, { ...valid, [key]: value })).toThrow(ConfigError);
    expect(() => parseConfig(CatalogConfigSchema, { ...valid, [key]: value })).toThrow(
      new RegExp(`^config error: ${key} `),
    );
  });
});

describe('schemas and OpenAPI', () => {
  it('rejects hostile or malformed query values', () => {
    for (const query of [
      { page: ['1', '2'] },
      { page: '1e3' },
      { category: "' OR 1=1 --" },
      { extra: '1' },
    ]) {
      expect(ProductListQuery.safeParse(query).success).toBe(false);
    }
    expect(ProductListQuery.parse({ category: 'displays' })).toEqual({
      page: 1,
      pageSize: 20,
      category: 'displays',
    });
  });

  it('never accepts a client price or non-positive quantities', () => {
    expect(
      NewOrder.safeParse({ customer: 'a', items: [{ productId: 1, quantity: 1, unitPrice: 1 }] }).success,
    ).toBe(false);
    expect(NewOrder.safeParse({ customer: 'a', items: [{ productId: 1, quantity: 0 }] }).success).toBe(false);
    expect(NewOrder.safeParse({ customer: 'a', items: [{ productId: 1, quantity: 1 }] }).success).toBe(true);
  });

  it('documents the order body from the validating schema', () => {
    const doc = catalogOpenApi('1.2.3') as {
      info: { version: string };
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.info.version).toBe('1.2.3');
    const schema = JSON.stringify(
      doc.paths['/orders']?.['post']?.requestBody?.content['application/json']?.schema,
    );
    expect(schema).toContain('"quantity"');
    expect(schema).toContain('"minimum":1');
    expect(schema).toContain('"additionalProperties":false');
  });
});
