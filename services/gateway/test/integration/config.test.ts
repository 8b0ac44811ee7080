import { describe, it, expect, beforeAll } from '@jest/globals';
import { buildServices, runServiceToExit } from '@obsdemo/testenv';
import { createServer, type AddressInfo } from 'node:net';

beforeAll(() => {
  buildServices('catalog', 'gateway', 'loadgen');
});

describe('start-up with bad configuration', () => {
  it.each([
    [
      'gateway',
      { AUTH_MODE: 'jwt' },
      /^config error: JWT_SECRET must be valid: AUTH_MODE=jwt needs exactly one key source/,
    ],
    [
      'gateway',
      { AUTH_MODE: 'jwt', JWT_SECRET: 'hunter2' },
      /^config error: JWT_SECRET must be valid: at least 32 characters \(value hidden\)$/,
    ],
    [
      'gateway',
      { AUTH_MODE: 'jwt', JWT_JWKS: '{"keys": [' },
      /^config error: JWT_JWKS must be valid: a JSON Web Key Set document .*, but it is not JSON \(/,
    ],
    [
      'gateway',
      { CATALOG_URL: 'ftp://x' },
      /^config error: CATALOG_URL must be valid: an http\(s\) URL \(got "ftp:\/\/x"\)$/,
    ],
    [
      'gateway',
      { GATEWAY_CACHE_ROUTES: '/api/v1/catalog/products,/metrics' },
      /^config error: GATEWAY_CACHE_ROUTES must be valid: comma-separated gateway paths: "\/metrics" is not under a gateway route .*\(got "\/api\/v1\/catalog\/products,\/metrics"\)$/,
    ],
    [
      'gateway',
      { GATEWAY_CACHE_DEFAULT_TTL_SECONDS: '1h' },
      /^config error: GATEWAY_CACHE_DEFAULT_TTL_SECONDS must be valid: an integer between 0 and 86400 \(got "1h"\)$/,
    ],
    [
      'loadgen',
      { LOADGEN_MIX: 'browse=50,order=40' },
      /^config error: LOADGEN_MIX must be valid: .*weights must sum to 100 \(got 90\)/,
    ],
    ['loadgen', { LOADGEN_RPS: 'fast' }, /^config error: LOADGEN_RPS must be valid: /],
  ])('%s stops with exit code 1 and exactly one line on stderr (%p)', (service, env, line) => {
    const result = runServiceToExit(service, env);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderrLines).toHaveLength(1);
    expect(result.stderrLines[0]).toMatch(line);
  });
});

describe('start-up on a port that is taken', () => {
  it('stops with exit code 1 and one line on stderr naming the address, after closing what it started', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const result = runServiceToExit('gateway', { GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port) });
      expect(result.status).toBe(1);
      expect(result.stderrLines).toEqual([
        `listen error: gateway cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`,
      ]);
      expect(result.stdout).toMatch(/"message":"shutdown complete"/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
