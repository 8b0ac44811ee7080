import { describe, it, expect } from '@jest/globals';
import { parseConfig } from '@obsdemo/service-kit';
import { SignJWT, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { GatewayConfigSchema, configSummary } from '../../src/config.js';
import { createVerifier } from '../../src/http/auth.js';

async function publicJwks(): Promise<{ jwks: JSONWebKeySet; sign: (sub: string) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
  const sign = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(sub).sign(privateKey);
  return { jwks, sign };
}

describe('JWT_JWKS (inline key set)', () => {
  it('parses a JWKS document as the key source and verifies tokens signed by its key', async () => {
    const { jwks, sign } = await publicJwks();
    const cfg = parseConfig(GatewayConfigSchema, { AUTH_MODE: 'jwt', JWT_JWKS: JSON.stringify(jwks) });
    expect(cfg.JWT_JWKS).toEqual(jwks);
    const verify = await createVerifier({ jwks: cfg.JWT_JWKS, algorithm: 'RS256', clockToleranceSeconds: 0 });
    expect((await verify(await sign('dave'))).subject).toBe('dave');
    const stranger = await publicJwks();
    await expect(verify(await stranger.sign('mallory'))).rejects.toThrow(/signature verification failed/);
  });

  it('never shows the key set in the /info summary', async () => {
    const { jwks } = await publicJwks();
    const summary = configSummary(
      parseConfig(GatewayConfigSchema, { AUTH_MODE: 'jwt', JWT_JWKS: JSON.stringify(jwks) }),
    );
    expect(summary['JWT_JWKS']).toBe('set');
    expect(JSON.stringify(summary)).not.toContain(String(jwks.keys[0]?.x));
    expect(configSummary(parseConfig(GatewayConfigSchema, {}))['JWT_JWKS']).toBeUndefined();
  });

  it.each([
    [
      'not JSON',
      '{"keys": [',
      /^config error: JWT_JWKS must be valid: a JSON Web Key Set document .*, but it is not JSON/,
    ],
    [
      'no keys',
      '{"issuer":"x"}',
      /^config error: JWT_JWKS must be valid: .*"keys" must be a non-empty array/,
    ],
    [
      'an empty key list',
      '{"keys":[]}',
      /^config error: JWT_JWKS must be valid: .*"keys" must be a non-empty array/,
    ],
    ['a key without kty', '{"keys":[{"n":"x"}]}', /"keys" must be a non-empty array of keys with "kty"/],
    ['a JSON array', '[]', /"keys" must be a non-empty array/],
    [
      'a private key',
      '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}',
      /^config error: JWT_JWKS must be valid: .* holding public keys only/,
    ],
    ['a symmetric key', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', /holding public keys only/],
  ])('rejects %s in one config line', (_name, value, message) => {
    expect(() => parseConfig(GatewayConfigSchema, { AUTH_MODE: 'jwt', JWT_JWKS: value })).toThrow(message);
  });

  it('counts JWT_JWKS as a key source, so it cannot be combined with another', async () => {
    const { jwks } = await publicJwks();
    expect(() =>
      parseConfig(GatewayConfigSchema, {
        AUTH_MODE: 'jwt',
        JWT_JWKS: JSON.stringify(jwks),
        JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json',
      }),
    ).toThrow(
      /^config error: JWT_SECRET must be valid: AUTH_MODE=jwt needs exactly one key source: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL or JWT_JWKS \(2 set\)/,
    );
  });
});
