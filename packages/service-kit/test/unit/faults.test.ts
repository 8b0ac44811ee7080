import { describe, it, expect, afterEach } from '@jest/globals';
import express from 'express';
import { PassThrough } from 'node:stream';
import { parseConfig } from '@obsdemo/base';
import { errorMiddleware } from '../../src/errors.js';
import { FAULT_ENV, decideFault, faultConfig, faultInjection, type FaultConfig } from '../../src/faults.js';
import { createLogger, createHttpMetrics, createRegistry } from '@obsdemo/telemetry';
import { serviceApp } from '../../src/service-app.js';
import { z } from 'zod';
import { listen } from './http-fixture.js';

const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

const quietLogger = () => createLogger({ service: 'faults', stream: new PassThrough() });

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((close) => close()));
  closers = [];
});

async function serve(app: express.Express): Promise<string> {
  const server = await listen(app);
  closers.push(server.close);
  return server.url;
}

describe('decideFault', () => {
  it('adds latency and failures only within their percentages', () => {
    const config = { latencyMs: 250, latencyPercent: 30, errorPercent: 10 };
    expect(decideFault(config, sequence(0.29, 0.09))).toEqual({ delayMs: 250, fail: true });
    expect(decideFault(config, sequence(0.3, 0.1))).toEqual({ delayMs: 0, fail: false });
  });

  it('never injects anything at 0 percent', () => {
    const config = { latencyMs: 250, latencyPercent: 0, errorPercent: 0 };
    expect(decideFault(config, () => 0)).toEqual({ delayMs: 0, fail: false });
  });

  it('always injects at 100 percent', () => {
    const config = { latencyMs: 5, latencyPercent: 100, errorPercent: 100 };
    expect(decideFault(config, () => 0.999)).toEqual({ delayMs: 5, fail: true });
  });
});

describe('FAULT_ENV', () => {
  const schema = z.object(FAULT_ENV);

  it('defaults to no faults and maps to a FaultConfig', () => {
    expect(faultConfig(parseConfig(schema, {}))).toEqual({
      latencyMs: 0,
      latencyPercent: 0,
      errorPercent: 0,
    });
    expect(
      faultConfig(
        parseConfig(schema, {
          FAULT_LATENCY_MS: '300',
          FAULT_LATENCY_PERCENT: '20',
          FAULT_ERROR_PERCENT: '5',
        }),
      ),
    ).toEqual({ latencyMs: 300, latencyPercent: 20, errorPercent: 5 });
  });

  it.each([
    ['FAULT_LATENCY_MS', '60001'],
    ['FAULT_LATENCY_PERCENT', '101'],
    ['FAULT_ERROR_PERCENT', '-1'],
    ['FAULT_ERROR_PERCENT', 'half'],
  ])('refuses %s=%s with one line naming the variable', (key, value) => {
    expect(() => parseConfig(schema, { [key]: value })).toThrow(
      new RegExp(`^config error: ${key} must be valid`),
    );
  });
});

describe('faultInjection', () => {
  function appWith(config: FaultConfig, random: () => number, sleeps: number[]) {
    const app = express();
    app.use(
      faultInjection(config, random, async (ms) => {
        sleeps.push(ms);
      }),
    );
    app.get('/thing', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.use(errorMiddleware(quietLogger()));
    return app;
  }

  it('delays the request by latencyMs when the dice fall within latencyPercent, then serves it', async () => {
    const sleeps: number[] = [];
    const url = await serve(
      appWith({ latencyMs: 250, latencyPercent: 50, errorPercent: 0 }, sequence(0.2, 0.9), sleeps),
    );
    const res = await fetch(`${url}/thing`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(sleeps).toEqual([250]);
  });

  it('does not delay when the dice fall outside latencyPercent', async () => {
    const sleeps: number[] = [];
    const url = await serve(
      appWith({ latencyMs: 250, latencyPercent: 50, errorPercent: 0 }, () => 0.5, sleeps),
    );
    expect((await fetch(`${url}/thing`)).status).toBe(200);
    expect(sleeps).toEqual([]);
  });

  it('answers 503 injected_fault JSON through the error middleware within errorPercent', async () => {
    const sleeps: number[] = [];
    const url = await serve(
      appWith({ latencyMs: 0, latencyPercent: 0, errorPercent: 10 }, () => 0.05, sleeps),
    );
    const res = await fetch(`${url}/thing`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: 'injected_fault',
      message: 'injected failure (FAULT_ERROR_PERCENT)',
    });
  });

  it('applies the latency before the failure', async () => {
    const sleeps: number[] = [];
    const url = await serve(
      appWith({ latencyMs: 40, latencyPercent: 100, errorPercent: 100 }, () => 0, sleeps),
    );
    expect((await fetch(`${url}/thing`)).status).toBe(503);
    expect(sleeps).toEqual([40]);
  });
});

describe('serviceApp with faults', () => {
  function frame(faults: FaultConfig | undefined) {
    return serviceApp(
      {
        logger: quietLogger(),
        metrics: createHttpMetrics(createRegistry('faults', { defaultMetrics: false })),
        checks: [],
        info: () => ({ name: 'faults' }),
        openapi: { openapi: '3.1.0' },
        isShuttingDown: () => false,
        ...(faults ? { faults } : {}),
        random: () => 0,
      },
      (routes) => {
        routes.get('/api/thing', (_req, res) => {
          res.json({ status: 'ok' });
        });
      },
    );
  }

  it('fails the API routes at 100 percent while the ops endpoints answer as usual', async () => {
    const url = await serve(frame({ latencyMs: 0, latencyPercent: 0, errorPercent: 100 }));
    const api = await fetch(`${url}/api/thing`);
    expect(api.status).toBe(503);
    expect(((await api.json()) as { error: string }).error).toBe('injected_fault');
    for (const path of ['/health', '/ready', '/info', '/metrics', '/openapi.json']) {
      expect({ path, status: (await fetch(`${url}${path}`)).status }).toEqual({ path, status: 200 });
    }
  });

  it('changes nothing at 0 percent or without a fault config', async () => {
    for (const faults of [{ latencyMs: 100, latencyPercent: 0, errorPercent: 0 }, undefined]) {
      const url = await serve(frame(faults));
      const res = await fetch(`${url}/api/thing`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });
});
