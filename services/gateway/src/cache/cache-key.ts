import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The cache key of a request: method, path and query exactly as sent, and a hash of the credentials it carries
 * (Authorization and Cookie). Responses to authenticated requests are kept per credential, never shared: two
 * callers share an entry only if they sent the same credentials byte for byte (or none). The hash keeps tokens
 * out of memory dumps of the key space; SHA-256 makes a collision between two credentials impractical.
 */
export function cacheKey(method: string, url: string, headers: IncomingHttpHeaders): string {
  return `${method.toUpperCase()} ${url} ${credentialHash(headers)}`;
}

/** `-` for an anonymous request, otherwise a digest of every credential-bearing header. */
export function credentialHash(headers: IncomingHttpHeaders): string {
  const { authorization, cookie } = headers;
  if (authorization === undefined && cookie === undefined) return '-';
  return createHash('sha256')
    .update(JSON.stringify([authorization ?? null, cookie ?? null]))
    .digest('base64url');
}
