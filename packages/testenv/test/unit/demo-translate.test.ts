import { describe, it, expect } from '@jest/globals';
import { localEnv, scrapeEndpoint, type TranslationContext } from '../../src/demo/translate.js';

function context(overrides: Partial<TranslationContext> = {}): TranslationContext {
  return {
    workload: 'Deployment/shop-catalog',
    namespace: 'demo',
    podName: 'shop-catalog-abc',
    services: new Map([
      ['shop-postgres', new Map([[5432, { host: '127.0.0.1', port: 41000 }]])],
      ['shop-nats', new Map([[4222, { host: '127.0.0.1', port: 41001 }]])],
      ['shop-tempo', new Map([[4318, { host: '127.0.0.1', port: 41002 }]])],
      ['shop-catalog', new Map([[8000, { host: '127.0.0.1', port: 41003 }]])],
    ]),
    ownPorts: new Map([[8000, 41003]]),
    secret: (name, key) =>
      name === 'shop-postgres-credentials' && key === 'catalog-password' ? 's3cret' : undefined,
    configMap: () => undefined,
    ...overrides,
  };
}

describe('embedded demo: container env → local process env', () => {
  it('binds loopback on the local port, points clients at local endpoints and resolves secrets', () => {
    const env = localEnv(context(), {
      name: 'catalog',
      env: [
        { name: 'CATALOG_HOST', value: '0.0.0.0' },
        { name: 'CATALOG_PORT', value: '8000' },
        { name: 'DB_HOST', value: 'shop-postgres' },
        { name: 'DB_PORT', value: '5432' },
        {
          name: 'DB_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'shop-postgres-credentials', key: 'catalog-password' } },
        },
        { name: 'NATS_URL', value: 'nats://shop-nats:4222' },
        { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://shop-tempo.demo.svc.cluster.local:4318' },
        { name: 'OTEL_SERVICE_NAME', value: 'catalog' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
    });
    expect(env).toEqual({
      CATALOG_HOST: '127.0.0.1',
      CATALOG_PORT: '41003',
      DB_HOST: '127.0.0.1',
      DB_PORT: '41000',
      DB_PASSWORD: 's3cret',
      NATS_URL: 'nats://127.0.0.1:41001',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:41002',
      OTEL_SERVICE_NAME: 'catalog',
      POD_NAME: 'shop-catalog-abc',
    });
  });

  it('rewrites every address of a list', () => {
    const env = localEnv(context(), {
      name: 'catalog',
      env: [{ name: 'NATS_URL', value: 'nats://shop-nats:4222,nats://shop-nats.demo:4222' }],
    });
    expect(env.NATS_URL).toBe('nats://127.0.0.1:41001,nats://127.0.0.1:41001');
  });

  it('fails on a Service port that runs nowhere locally, naming the variable', () => {
    expect(() =>
      localEnv(context(), { name: 'catalog', env: [{ name: 'NATS_URL', value: 'nats://shop-nats:6222' }] }),
    ).toThrow(
      'Deployment/shop-catalog/catalog env NATS_URL: Service shop-nats has no port 6222 running locally',
    );
  });

  it('fails on a Service named in a form it does not translate, rather than running with it', () => {
    expect(() =>
      localEnv(context(), { name: 'catalog', env: [{ name: 'UPSTREAM', value: 'http://shop-catalog/x' }] }),
    ).toThrow('"http://shop-catalog/x" names Service shop-catalog in a form this demo does not translate');
  });

  it('fails on a missing Secret key and on sources it does not translate', () => {
    expect(() =>
      localEnv(context(), {
        name: 'catalog',
        env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'other', key: 'password' } } }],
      }),
    ).toThrow('env DB_PASSWORD: Secret other has no key password');
    expect(() =>
      localEnv(context(), { name: 'catalog', envFrom: [{ configMapRef: { name: 'x' } }] }),
    ).toThrow('envFrom is not translated');
    expect(() =>
      localEnv(context(), {
        name: 'catalog',
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      }),
    ).toThrow('fieldRef spec.nodeName is not translated');
  });

  it('leaves a listen port that is no container port as an error', () => {
    expect(() =>
      localEnv(context(), {
        name: 'catalog',
        env: [
          { name: 'CATALOG_HOST', value: '0.0.0.0' },
          { name: 'CATALOG_PORT', value: '9999' },
        ],
      }),
    ).toThrow('CATALOG_PORT: 9999 is not a declared container port');
  });

  it('takes the scrape endpoint from the prometheus.io annotations', () => {
    const ports = new Map([[8000, 41003]]);
    expect(scrapeEndpoint({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8000' }, ports)).toEqual({
      port: 41003,
      path: '/metrics',
    });
    expect(
      scrapeEndpoint({ 'prometheus.io/scrape': 'false', 'prometheus.io/port': '8000' }, ports),
    ).toBeUndefined();
    expect(scrapeEndpoint(undefined, ports)).toBeUndefined();
  });
});
