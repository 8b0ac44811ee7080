import { describe, it, expect } from '@jest/globals';
import { ConfigError, parseConfig } from '@obsdemo/service-kit';
import { ProcessorConfigSchema, configSummary } from '../../src/config.js';
import { processorOpenApi } from '../../src/openapi.js';

describe('processor config', () => {
  it('has defaults for everything but the password, which /info never shows', () => {
    const config = parseConfig(ProcessorConfigSchema, { DB_PASSWORD: 's3cret' });
    expect(config).toMatchObject({
      PROCESSOR_PORT: 8001,
      CATALOG_URL: 'http://127.0.0.1:8000',
      CATALOG_RETRIES: 2,
    });
    expect(JSON.stringify(configSummary(config))).not.toContain('s3cret');
  });

  it.each([
    [{}, /^config error: DB_PASSWORD must be valid/],
    [
      { DB_PASSWORD: 'x', CATALOG_URL: 'ftp://catalog' },
      /^config error: CATALOG_URL must be valid: .*\(got "ftp:\/\/catalog"\)$/,
    ],
    [{ DB_PASSWORD: 'x', ENRICH_CONCURRENCY: '0' }, /^config error: ENRICH_CONCURRENCY must be valid/],
  ])('rejects bad values with one readable line (%p)', (env, line) => {
    expect(() => parseConfig(ProcessorConfigSchema, env)).toThrow(ConfigError);
    expect(() => parseConfig(ProcessorConfigSchema, env)).toThrow(line);
  });

  it('documents every route in OpenAPI from the validating schemas', () => {
    const doc = processorOpenApi('test') as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/analytics/orders',
      '/api/v1/analytics/process-batch',
      '/api/v1/analytics/products',
      '/api/v1/analytics/report',
      '/api/v1/processor/jobs',
      '/api/v1/processor/jobs/{id}',
      '/api/v1/processor/orders/process',
      '/api/v1/processor/products/enrich',
    ]);
  });
});
