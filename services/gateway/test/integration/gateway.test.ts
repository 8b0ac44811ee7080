import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  buildServices,
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ServiceProcess,
} from '@obsdemo/testenv';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  call,
  counter,
  eventually,
  startBackend,
  startGateway,
  type Answer,
  type Backend,
} from './harness.js';

let backend: Backend;
let receiver: OtlpReceiver;
const gateways: ServiceProcess[] = [];
const OTLP = () => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_TRACES_SAMPLER_ARG: '1',
});

async function gateway(env: Record<string, string>): Promise<ServiceProcess> {
  const gw = await startGateway({ CATALOG_URL: backend.catalog.url, ...OTLP(), ...env });
  gateways.push(gw);
  return gw;
}

beforeAll(async () => {
  buildServices('catalog', 'gateway', 'loadgen');
  receiver = await startOtlpReceiver();
  backend = await startBackend('gateway_it', OTLP());
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  await backend?.stop();
  await receiver?.close();
});

describe('gateway in front of a real catalog', () => {
  let gw: ServiceProcess;
  beforeAll(async () => {
    gw = await gateway({
      BODY_LIMIT_BYTES: '2048',
      UPSTREAM_RESPONSE_TIMEOUT_MS: '1000',
      RATE_LIMIT_RPS: '1000',
      CORS_ALLOWED_ORIGINS: 'https://shop.example',
    });
  });

  it('maps /api/v1/catalog/* onto catalog, returning and forwarding the request id', async () => {
    const res = await call(`${gw.url}/api/v1/catalog/products?pageSize=3`, {
      headers: { 'x-request-id': 'it-req-1' },
    });
    expect(res.status).toBe(200);
    expect((res.body['items'] as unknown[]).length).toBe(3);
    expect(res.headers.get('x-request-id')).toBe('it-req-1');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('ratelimit-limit')).toBe('1000');
    // The access log line reaches the log file asynchronously (stdout pipe), hence the wait.
    const logged = await eventually(
      'access log line written',
      async () =>
        gw
          .logs()
          .split('\n')
          .filter((l) => l.includes('"it-req-1"')),
      (lines) => lines.length > 0,
    );
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      status: 200,
      upstream: 'catalog',
      route: '/api/v1/catalog{/*path}',
    });

    const generated = await call(`${gw.url}/api/v1/catalog/products/1`);
    expect(generated.status).toBe(200);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes upstream 4xx through, answers unknown prefixes itself, and limits bodies while streaming', async () => {
    const missing = await call(`${gw.url}/api/v1/catalog/products/999999`);
    expect(missing.status).toBe(404);
    expect(missing.body['error']).toBe('not_found');
    const unknown = await call(`${gw.url}/api/v2/whatever`);
    expect(unknown).toMatchObject({ status: 404, body: { error: 'not_found' } });

    const big = JSON.stringify({ customer: 'x'.repeat(3000), items: [] });
    const declared = await call(`${gw.url}/api/v1/catalog/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    // A streamed body has no Content-Length: the limit is enforced by counting bytes on the way through.
    const streamed = await call(`${gw.url}/api/v1/catalog/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });

    const order = await call(`${gw.url}/api/v1/catalog/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([
        JSON.stringify({ customer: 'gw@example.com', items: [{ productId: 1, quantity: 1 }] }),
      ]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(order.status).toBe(201);
  });

  it('answers CORS only for allowed origins', async () => {
    // node:http rather than fetch, which treats Origin as a header it manages itself.
    const acao = (origin: string) =>
      new Promise<string | undefined>((resolve, reject) => {
        get(`${gw.url}/api/v1/catalog/products/1`, { headers: { origin } }, (res) => {
          res.resume();
          resolve(res.headers['access-control-allow-origin'] as string | undefined);
        }).on('error', reject);
      });
    expect(await acao('https://shop.example')).toBe('https://shop.example');
    expect(await acao('https://evil.example')).toBeUndefined();
  });

  it('answers 504 JSON when the upstream takes longer than the response timeout', async () => {
    const res = await call(`${gw.url}/api/v1/catalog/slow?delayMs=3000`);
    expect(res).toMatchObject({
      status: 504,
      body: { error: 'upstream_timeout', details: { upstream: 'catalog' } },
    });
  });

  it('traces gateway SERVER → gateway CLIENT → catalog SERVER in one trace', async () => {
    const res = await call(`${gw.url}/api/v1/catalog/products/2`, {
      headers: { 'x-request-id': 'trace-me' },
    });
    expect(res.status).toBe(200);
    // Each process exports on its own schedule, and one process's spans may come in separate batches: wait until
    // catalog's SERVER span and every ancestor up to a root or a SERVER span of another service have arrived (what
    // they are is checked below).
    const complete = (all: typeof receiver.spans, span: (typeof receiver.spans)[number]): boolean => {
      const parent = all.find((p) => p.spanId === span.parentSpanId);
      if (parent === undefined) return false;
      return parent.kind === SPAN_KIND.SERVER || !parent.parentSpanId || complete(all, parent);
    };
    const catalogServer = (all: typeof receiver.spans) =>
      all.find(
        (s) =>
          s.service === 'catalog' &&
          s.kind === SPAN_KIND.SERVER &&
          s.attributes['url.path'] === '/products/2' &&
          complete(all, s),
      );
    const spans = await eventually(
      'the catalog SERVER span and its ancestors exported',
      async () => receiver.spans,
      (all) => catalogServer(all) !== undefined,
    );
    const upstreamServer = catalogServer(spans)!;
    const client = spans.find((s) => s.spanId === upstreamServer.parentSpanId)!;
    expect(client).toMatchObject({
      service: 'gateway',
      kind: SPAN_KIND.CLIENT,
      traceId: upstreamServer.traceId,
    });
    // Express middleware spans may sit between the SERVER span and the CLIENT span; walk up to the SERVER.
    let server = spans.find((s) => s.spanId === client.parentSpanId);
    while (server && server.kind !== SPAN_KIND.SERVER) {
      expect(server.service).toBe('gateway');
      const parentId = server.parentSpanId;
      server = spans.find((s) => s.spanId === parentId);
    }
    expect(server).toMatchObject({
      service: 'gateway',
      kind: SPAN_KIND.SERVER,
      traceId: upstreamServer.traceId,
    });
    expect(server!.attributes['http.route']).toBe('/api/v1/catalog{/*path}');
  });
});

describe('rate limiting', () => {
  it('answers over-budget traffic 429 with Retry-After and RateLimit headers, and recovers after the window', async () => {
    const gw = await gateway({ RATE_LIMIT_RPS: '5', RATE_LIMIT_BURST: '0' });
    // Sequential, so the answer does not depend on how a loaded machine spreads parallel requests over windows:
    // a one-second window opens with the first request, so at least the 5 budgeted requests pass before a 429.
    const answers: Answer[] = [];
    for (let i = 0; i < 200 && !answers.some((a) => a.status === 429); i++) {
      answers.push(await call(`${gw.url}/api/v1/catalog/products?pageSize=1`));
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(5);
    const first = limited[0]!;
    expect(first.body['error']).toBe('rate_limited');
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(first.headers.get('ratelimit-limit')).toBe('5');
    expect(first.headers.get('ratelimit-remaining')).toBe('0');
    expect(first.headers.get('ratelimit-policy')).toBe('5;w=1');
    expect(await counter(gw.url, 'gateway_rate_limited_total', {})).toBe(limited.length);

    await new Promise((resolve) => setTimeout(resolve, Number(first.headers.get('retry-after')) * 1000));
    const after = await call(`${gw.url}/api/v1/catalog/products?pageSize=1`);
    expect(after.status).toBe(200);
  });
});

describe('circuit breaker', () => {
  it('opens while catalog is down (fast 503 naming it) and closes after catalog returns', async () => {
    const gw = await gateway({
      BREAKER_VOLUME_THRESHOLD: '4',
      BREAKER_ERROR_THRESHOLD_PERCENT: '50',
      BREAKER_RESET_TIMEOUT_MS: '1000',
      RATE_LIMIT_RPS: '1000',
    });
    const state = () => counter(gw.url, 'gateway_circuit_state', { upstream: 'catalog' });
    expect((await call(`${gw.url}/api/v1/catalog/products/1`)).status).toBe(200);
    expect(await state()).toBe(0);

    await backend.catalog.stop();
    const failures: number[] = [];
    for (let i = 0; i < 10; i++) failures.push((await call(`${gw.url}/api/v1/catalog/products/1`)).status);
    expect(failures).toContain(502);
    expect(failures.at(-1)).toBe(503);
    const open = await call(`${gw.url}/api/v1/catalog/products/1`);
    expect(open).toMatchObject({
      status: 503,
      body: { error: 'circuit_open', details: { upstream: 'catalog' } },
    });
    expect(await state()).toBe(2);
    // Other upstreams have their own breakers.
    expect(await counter(gw.url, 'gateway_circuit_state', { upstream: 'processor' })).toBe(0);
    expect(
      ((await call(`${gw.url}/info`)).body['upstreams'] as Record<string, unknown>)['catalog'],
    ).toMatchObject({
      circuit: 'open',
    });
    // Readiness stays green: the breaker, not the load balancer, handles one failing upstream.
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);

    await backend.catalog.start();
    await eventually(
      'breaker closes after a successful half-open probe',
      async () => (await call(`${gw.url}/api/v1/catalog/products/1`)).status,
      (status) => status === 200,
    );
    expect(await state()).toBe(0);
    expect(
      await counter(gw.url, 'gateway_circuit_transitions_total', { upstream: 'catalog', to: 'open' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counter(gw.url, 'gateway_circuit_transitions_total', { upstream: 'catalog', to: 'half_open' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counter(gw.url, 'gateway_circuit_transitions_total', { upstream: 'catalog', to: 'closed' }),
    ).toBe(1);
  });
});

describe('JWT mode', () => {
  const SECRET = 'integration-test-secret-of-sufficient-length';
  const key = new TextEncoder().encode(SECRET);
  let gw: ServiceProcess;
  const token = (claims: Record<string, unknown>, expires: string | number = '5m') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('obsdemo-test')
      .setAudience('shop')
      .setIssuedAt()
      .setExpirationTime(expires)
      .sign(key);
  const get = (path: string, bearer?: string) =>
    call(`${gw.url}${path}`, bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } });

  beforeAll(async () => {
    gw = await gateway({
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'obsdemo-test',
      JWT_AUDIENCE: 'shop',
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
      JWT_REQUIRED_SCOPES: 'invoices=invoices:read',
      RATE_LIMIT_RPS: '1000',
    });
  });

  it('rejects missing, malformed, badly signed, expired and wrongly addressed tokens with 401 JSON', async () => {
    const missing = await get('/api/v1/catalog/products');
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await get('/api/v1/catalog/products', 'not-a-jwt')).status).toBe(401);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('obsdemo-test')
      .setAudience('shop')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    const bad = await get('/api/v1/catalog/products', forged);
    expect(bad).toMatchObject({ status: 401, body: { message: 'invalid token' } });
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    const expired = await get(
      '/api/v1/catalog/products',
      await token({}, Math.floor(Date.now() / 1000) - 30),
    );
    expect(expired).toMatchObject({ status: 401, body: { message: 'token expired' } });
    const otherAudience = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('obsdemo-test')
      .setAudience('elsewhere')
      .sign(key);
    expect((await get('/api/v1/catalog/products', otherAudience)).status).toBe(401);
  });

  it('accepts a good token, and answers 403 when the upstream needs a scope the token lacks', async () => {
    const good = await get('/api/v1/catalog/products?pageSize=1', await token({}));
    expect(good.status).toBe(200);
    const forbidden = await get('/api/v1/invoices', await token({ scope: 'catalog:read' }));
    expect(forbidden).toMatchObject({
      status: 403,
      body: { error: 'forbidden', details: { scope: 'invoices:read' } },
    });
    // Ops endpoints stay open for probes and scrapes.
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
  });

  it('keys the rate limit by token subject, so one busy client cannot spend the budget of another', async () => {
    const limited = await gateway({
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      RATE_LIMIT_RPS: '2',
      RATE_LIMIT_BURST: '0',
    });
    const as = async (sub: string) =>
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).sign(key)}`;
    const alice = await as('alice');
    let status = 0;
    for (let i = 0; i < 200 && status !== 429; i++) {
      status = (
        await fetch(`${limited.url}/api/v1/catalog/products/1`, { headers: { authorization: alice } })
      ).status;
    }
    expect(status).toBe(429);
    const bob = await fetch(`${limited.url}/api/v1/catalog/products/1`, {
      headers: { authorization: await as('bob') },
    });
    expect(bob.status).toBe(200);
  });
});

describe('JWT mode with a JWKS endpoint', () => {
  it('verifies RS256 tokens against the key set, and answers 503 while the key set cannot be fetched', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    const gw = await gateway({ AUTH_MODE: 'jwt', JWT_JWKS_URL: jwksUrl, RATE_LIMIT_RPS: '1000' });
    const sign = (key: CryptoKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('carol')
        .setExpirationTime('5m')
        .sign(key);
    const get = async (token: string) =>
      (await fetch(`${gw.url}/api/v1/catalog/products/1`, { headers: { authorization: `Bearer ${token}` } }))
        .status;

    expect(await get(await sign(privateKey))).toBe(200);
    const other = await generateKeyPair('RS256');
    expect(await get(await sign(other.privateKey))).toBe(401);
    await new Promise((resolve) => jwks.close(resolve));

    const unreachable = await gateway({ AUTH_MODE: 'jwt', JWT_JWKS_URL: jwksUrl, RATE_LIMIT_RPS: '1000' });
    const res = await call(`${unreachable.url}/api/v1/catalog/products/1`, {
      headers: { authorization: `Bearer ${await sign(privateKey)}` },
    });
    expect(res).toMatchObject({ status: 503, body: { error: 'auth_unavailable' } });
  });
});

describe('JWT mode with an inline key set (JWT_JWKS, as the operator mounts it from the CR)', () => {
  it('proxies a token signed by a key in the set, and answers 401 JSON for another key or an expired token', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'inline-1', alg: 'RS256', use: 'sig' };
    const gw = await gateway({
      AUTH_MODE: 'jwt',
      // Pretty-printed like a JWKS file put into a Secret, newlines included.
      JWT_JWKS: JSON.stringify({ keys: [jwk] }, null, 2),
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
      RATE_LIMIT_RPS: '1000',
    });
    const sign = (key: CryptoKey, expires: string | number = '5m') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'inline-1' })
        .setSubject('erin')
        .setIssuedAt()
        .setExpirationTime(expires)
        .sign(key);
    const get = async (token: string) =>
      call(`${gw.url}/api/v1/catalog/products/1`, { headers: { authorization: `Bearer ${token}` } });

    const good = await get(await sign(privateKey));
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ id: 1 });

    const wrongKey = await get(await sign((await generateKeyPair('RS256')).privateKey));
    expect(wrongKey).toMatchObject({
      status: 401,
      body: { error: 'unauthorized', message: 'invalid token' },
    });
    expect(wrongKey.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);

    const expired = await get(await sign(privateKey, Math.floor(Date.now() / 1000) - 30));
    expect(expired).toMatchObject({ status: 401, body: { error: 'unauthorized', message: 'token expired' } });

    const info = JSON.stringify((await call(`${gw.url}/info`)).body);
    expect(info).toContain('"JWT_JWKS":"set"');
    expect(info).not.toContain(String(jwk.n));
  });
});

describe('routing to processor and invoices, and streaming', () => {
  // A recording upstream in addition to the real catalog: it shows the exact path each prefix maps to, and lets
  // the test hold a response half-sent to prove the gateway streams instead of buffering.
  let upstream: ReturnType<typeof createServer>;
  let release: () => void = () => undefined;
  let gw: ServiceProcess;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        release = () => res.end('second');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await gateway({ PROCESSOR_URL: url, INVOICES_URL: url, CATALOG_URL: url, RATE_LIMIT_RPS: '1000' });
  });

  afterAll(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it.each([
    ['/api/v1/processor/jobs?page=2', '/api/v1/processor/jobs?page=2'],
    ['/api/v1/analytics/report', '/api/v1/analytics/report'],
    ['/api/v1/invoices', '/invoices'],
    ['/api/v1/invoices/by-order/12', '/invoices/by-order/12'],
  ])('%s reaches the upstream as %s', async (path, expected) => {
    expect(await call(`${gw.url}${path}`)).toMatchObject({ status: 200, body: { path: expected } });
  });

  it('passes the first bytes on before the upstream has finished its body', async () => {
    const res = await fetch(`${gw.url}/api/v1/catalog/stream`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('first;');
    release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe('second');
  });
});
