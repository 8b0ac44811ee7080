import { describe, it, expect, afterEach } from '@jest/globals';
import { createLogger } from '@obsdemo/telemetry';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { BREAKER_STATE_VALUE, breakerState, createBreakers, type Breaker } from '../../src/proxy/breakers.js';
import { payloadTooLarge, upstreamUnreachable } from '../../src/proxy/errors.js';

const logger = createLogger({ service: 'gateway', stream: new PassThrough(), level: 'error' });
let breakers: Partial<Record<string, Breaker>> = {};

afterEach(() => {
  for (const b of Object.values(breakers)) b?.shutdown();
});

function setup(volumeThreshold = 2) {
  const registry = new Registry<OpenMetricsContentType>();
  breakers = createBreakers(
    ['catalog', 'invoices'],
    { errorThresholdPercentage: 50, volumeThreshold, rollingCountTimeout: 10_000, resetTimeout: 60_000 },
    registry,
    logger,
  );
  return { registry, catalog: breakers['catalog']!, invoices: breakers['invoices']! };
}

async function gauge(
  registry: Registry<OpenMetricsContentType>,
  upstream: string,
): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('gateway_circuit_state')!.get();
  return metric.values.find((v) => v.labels['upstream'] === upstream)?.value;
}

const ok = () => Promise.resolve({ statusCode: 200 } as IncomingMessage);

describe('breaker state mapping', () => {
  it('maps opossum flags to the documented gauge values', () => {
    expect(breakerState({ opened: false, halfOpen: false })).toBe('closed');
    expect(breakerState({ opened: false, halfOpen: true })).toBe('half_open');
    expect(breakerState({ opened: true, halfOpen: false })).toBe('open');
    expect(BREAKER_STATE_VALUE).toEqual({ closed: 0, half_open: 1, open: 2 });
  });

  it('exports each real breaker state as gateway_circuit_state and counts transitions', async () => {
    const { registry, catalog } = setup();
    expect(await gauge(registry, 'catalog')).toBe(0);
    catalog.open();
    expect(await gauge(registry, 'catalog')).toBe(2);
    expect(await gauge(registry, 'invoices')).toBe(0);
    catalog.close();
    expect(await gauge(registry, 'catalog')).toBe(0);
    const transitions = await registry.getSingleMetric('gateway_circuit_transitions_total')!.get();
    const count = (to: string) =>
      transitions.values.find((v) => v.labels['upstream'] === 'catalog' && v.labels['to'] === to)?.value;
    expect(count('open')).toBe(1);
    expect(count('closed')).toBe(1);
    expect(count('half_open')).toBe(0);
  });

  it('opens on upstream failures but never on client-side errors', async () => {
    const { catalog } = setup(4);
    for (let i = 0; i < 6; i++) {
      await expect(catalog.fire(() => Promise.reject(payloadTooLarge(10)))).rejects.toThrow(/larger/);
    }
    expect(breakerState(catalog)).toBe('closed');
    await catalog.fire(ok);
    for (let i = 0; i < 8; i++) {
      await catalog
        .fire(() => Promise.reject(upstreamUnreachable('catalog', 'ECONNREFUSED')))
        .catch(() => undefined);
    }
    expect(breakerState(catalog)).toBe('open');
    await expect(catalog.fire(ok)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
  });
});
