import { HttpError } from '@obsdemo/service-kit';
import type { RequestHandler, Response } from 'express';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';

export interface Principal {
  subject: string;
  scopes: ReadonlySet<string>;
}

export type Verifier = (token: string) => Promise<Principal>;

export interface JwtSettings {
  secret?: string;
  publicKeyPem?: string;
  jwksUrl?: string;
  jwks?: JSONWebKeySet;
  /** Algorithm of the PEM public key. */
  algorithm: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
}

/** OAuth 2.0 `scope` (space-separated, RFC 8693/9068) or the common `scp` array. */
export function scopesOf(payload: JWTPayload): Set<string> {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    const list: unknown[] = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
    for (const s of list) if (typeof s === 'string' && s !== '') scopes.add(s);
  };
  add(payload['scope']);
  add(payload['scp']);
  return scopes;
}

/** 401 with an RFC 6750 challenge; the header is set here because HttpError carries no headers. */
function unauthorized(res: Response, message: string, invalidToken: boolean): HttpError {
  res.setHeader(
    'WWW-Authenticate',
    invalidToken ? `Bearer error="invalid_token", error_description="${message}"` : 'Bearer',
  );
  return new HttpError(401, 'unauthorized', message);
}

export async function createVerifier(settings: JwtSettings): Promise<Verifier> {
  let key: Uint8Array | CryptoKey | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (settings.secret !== undefined) {
    key = new TextEncoder().encode(settings.secret);
    algorithms = ['HS256'];
  } else if (settings.publicKeyPem !== undefined) {
    key = await importSPKI(settings.publicKeyPem, settings.algorithm);
    algorithms = [settings.algorithm];
  } else if (settings.jwksUrl !== undefined) {
    // jose caches the key set and refetches on an unknown `kid` (with a cooldown), so rotation just works.
    key = createRemoteJWKSet(new URL(settings.jwksUrl));
  } else if (settings.jwks !== undefined) {
    // Like the remote set, it picks the key by `kid`/`alg` and refuses HMAC algorithms, so no algorithm confusion.
    key = createLocalJWKSet(settings.jwks);
  } else {
    throw new Error('no JWT key source configured');
  }
  const options: JWTVerifyOptions = {
    algorithms,
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds,
  };
  return async (token) => {
    const { payload } =
      typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new errors.JWTClaimValidationFailed('missing "sub" claim', payload, 'sub', 'missing');
    }
    return { subject: payload.sub, scopes: scopesOf(payload) };
  };
}

/** `Authorization: Bearer <jwt>` → res.locals.principal, or 401 (missing/invalid/expired) / 503 (no key set). */
export function authenticate(verify: Verifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header);
    if (!match?.[1]) throw unauthorized(res, 'a bearer token is required', header !== undefined);
    try {
      res.locals['principal'] = await verify(match[1]);
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthorized(res, 'token expired', true);
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        throw new HttpError(503, 'auth_unavailable', 'the token signing keys could not be fetched');
      }
      throw unauthorized(res, 'invalid token', true);
    }
    next();
  };
}

/** 403 when the route's upstream needs a scope the token does not carry. */
export function requireScope(scope: string | undefined): RequestHandler {
  return (_req, res, next) => {
    const principal = res.locals['principal'] as Principal | undefined;
    if (scope !== undefined && !principal?.scopes.has(scope)) {
      res.setHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
      throw new HttpError(403, 'forbidden', `this route requires the scope "${scope}"`, { scope });
    }
    next();
  };
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals['principal'] as Principal | undefined;
}
