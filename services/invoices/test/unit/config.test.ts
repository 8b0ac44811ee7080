import { describe, it, expect } from '@jest/globals';
import { ConfigError, parseConfig } from '@obsdemo/service-kit';
import { InvoicesConfigSchema, configSummary } from '../../src/config.js';
import { invoicesOpenApi } from '../../src/openapi.js';

describe('invoices config', () => {
  it('has defaults for everything but the password, which /info never shows', () => {
    const config = parseConfig(InvoicesConfigSchema, { DB_PASSWORD: 's3cret' });
    expect(config).toMatchObject({
      INVOICES_PORT: 8002,
      CONSUMER_NAME: 'invoices',
      CONSUMER_MAX_ATTEMPTS: 5,
    });
    expect(JSON.stringify(configSummary(config))).not.toContain('s3cret');
  });

  it.each([
    [{}, /^config error: DB_PASSWORD must be valid/],
    [
      { DB_PASSWORD: 'x', CONSUMER_NAME: 'a b' },
      /^config error: CONSUMER_NAME must be valid: .*\(got "a b"\)$/,
    ],
    [{ DB_PASSWORD: 'x', INVOICE_TAX_RATE: '1.5' }, /^config error: INVOICE_TAX_RATE must be valid/],
    [
      { DB_PASSWORD: 'x', NATS_STREAM_REPLICAS: '2' },
      /^config error: NATS_STREAM_REPLICAS must be valid: one of 1, 3, 5 .*\(got "2"\)$/,
    ],
  ])('rejects bad values with one readable line (%p)', (env, line) => {
    expect(() => parseConfig(InvoicesConfigSchema, env)).toThrow(ConfigError);
    expect(() => parseConfig(InvoicesConfigSchema, env)).toThrow(line);
  });

  it('keeps the ORDERS stream on one server unless told a cluster of 3 or 5 does', () => {
    expect(parseConfig(InvoicesConfigSchema, { DB_PASSWORD: 'x' }).NATS_STREAM_REPLICAS).toBe(1);
    expect(parseConfig(InvoicesConfigSchema, { DB_PASSWORD: 'x', NATS_STREAM_REPLICAS: '5' })).toMatchObject({
      NATS_STREAM_REPLICAS: 5,
    });
  });

  it('documents every route in OpenAPI', () => {
    const doc = invoicesOpenApi('test') as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/invoices',
      '/invoices/by-order/{orderId}',
      '/invoices/parked',
      '/invoices/{id}',
    ]);
  });
});
