import { describe, it, expect } from '@jest/globals';
import { ConfigError, parseConfig } from '@obsdemo/service-kit';
import { SignJWT, errors, exportSPKI, generateKeyPair } from 'jose';
import { GatewayConfigSchema } from '../../src/config.js';
import { createVerifier, scopesOf } from '../../src/http/auth.js';

const SECRET = 'a-test-secret-that-is-long-enough-123';

function sign(claims: Record<string, unknown>) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
}

describe('JWT verification', () => {
  const settings = {
    secret: SECRET,
    algorithm: 'RS256',
    issuer: 'demo',
    audience: 'shop',
    clockToleranceSeconds: 0,
  };

  it('accepts a good HS256 token and reads subject and scopes', async () => {
    const verify = await createVerifier(settings);
    const token = await sign({ scope: 'orders:write invoices:read' })
      .setSubject('alice')
      .setIssuer('demo')
      .setAudience('shop')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const principal = await verify(token);
    expect(principal.subject).toBe('alice');
    expect([...principal.scopes]).toEqual(['orders:write', 'invoices:read']);
  });

  it.each([
    [
      'expired',
      (t: SignJWT) =>
        t
          .setSubject('a')
          .setIssuer('demo')
          .setAudience('shop')
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60),
      errors.JWTExpired,
    ],
    [
      'wrong issuer',
      (t: SignJWT) => t.setSubject('a').setIssuer('other').setAudience('shop'),
      errors.JWTClaimValidationFailed,
    ],
    [
      'wrong audience',
      (t: SignJWT) => t.setSubject('a').setIssuer('demo').setAudience('x'),
      errors.JWTClaimValidationFailed,
    ],
    ['no subject', (t: SignJWT) => t.setIssuer('demo').setAudience('shop'), errors.JWTClaimValidationFailed],
  ])('rejects a token with %s', async (_name, shape, errorClass) => {
    const verify = await createVerifier(settings);
    const token = await shape(sign({})).sign(new TextEncoder().encode(SECRET));
    await expect(verify(token)).rejects.toBeInstanceOf(errorClass);
  });

  it('rejects a token signed with another secret', async () => {
    const verify = await createVerifier(settings);
    const token = await sign({})
      .setSubject('a')
      .setIssuer('demo')
      .setAudience('shop')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    await expect(verify(token)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('verifies with a PEM public key and refuses HS256 tokens then (no algorithm confusion)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const verify = await createVerifier({
      publicKeyPem: await exportSPKI(publicKey),
      algorithm: 'ES256',
      clockToleranceSeconds: 0,
    });
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('bob')
      .sign(privateKey);
    expect((await verify(good)).subject).toBe('bob');
    const hs = await sign({}).setSubject('bob').sign(new TextEncoder().encode(SECRET));
    await expect(verify(hs)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
  });

  it('reads scopes from scope strings and scp arrays', () => {
    expect([...scopesOf({ scope: 'a  b' })]).toEqual(['a', 'b']);
    expect([...scopesOf({ scp: ['c', 1, ''] })]).toEqual(['c']);
    expect([...scopesOf({})]).toEqual([]);
  });
});

describe('gateway config', () => {
  it('needs exactly one key source in jwt mode, named in one line without echoing secrets', () => {
    expect(() => parseConfig(GatewayConfigSchema, { AUTH_MODE: 'jwt' })).toThrow(
      new ConfigError(
        'config error: JWT_SECRET must be valid: AUTH_MODE=jwt needs exactly one key source: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL or JWT_JWKS (0 set) (it is not set)',
      ),
    );
    expect(() =>
      parseConfig(GatewayConfigSchema, {
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        JWT_JWKS_URL: 'http://k/jwks',
      }),
    ).toThrow(/\(2 set\) \(value hidden\)$/);
  });

  it('parses per-upstream required scopes and rejects unknown upstreams', () => {
    const cfg = parseConfig(GatewayConfigSchema, {
      JWT_REQUIRED_SCOPES: 'processor=orders:write, invoices=inv:read',
    });
    expect(cfg.JWT_REQUIRED_SCOPES).toEqual({ processor: 'orders:write', invoices: 'inv:read' });
    expect(() => parseConfig(GatewayConfigSchema, { JWT_REQUIRED_SCOPES: 'billing=x' })).toThrow(
      /^config error: JWT_REQUIRED_SCOPES must be valid: comma-separated upstream=scope pairs/,
    );
  });

  it('rejects a short HS256 secret', () => {
    expect(() => parseConfig(GatewayConfigSchema, { AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).toThrow(
      /^config error: JWT_SECRET must be valid: at least 32 characters \(value hidden\)$/,
    );
  });
});
