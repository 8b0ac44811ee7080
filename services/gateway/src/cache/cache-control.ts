/**
 * The parts of HTTP caching (RFC 9111) a shared response cache needs, as pure functions of header values.
 * Directive names are case-insensitive; a directive may carry a value (`max-age=60`, `no-cache="Set-Cookie"`).
 */

export type Directives = ReadonlyMap<string, string | undefined>;

type HeaderValue = string | string[] | number | undefined;

/** `max-age=60, Private` → { max-age: '60', private: undefined }; repeated header lines are joined. */
export function parseCacheControl(header: HeaderValue): Directives {
  const directives = new Map<string, string | undefined>();
  if (header === undefined) return directives;
  const text = Array.isArray(header) ? header.join(',') : String(header);
  // Commas inside a quoted value (`no-cache="a, b"`) do not separate directives.
  for (const part of text.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    if (!name) continue;
    const value =
      rest.length > 0
        ? rest
            .join('=')
            .trim()
            .replace(/^"(.*)"$/, '$1')
        : undefined;
    // RFC 9111 §4.2.1: with a duplicated freshness directive the first one counts.
    if (!directives.has(name)) directives.set(name, value);
  }
  return directives;
}

/** A delta-seconds value (RFC 9111 §1.2.2), or undefined when it is missing or not a non-negative integer. */
function deltaSeconds(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** What a request's own Cache-Control asks of a cache. */
export interface RequestPolicy {
  /** `no-cache` (or `max-age=0`): the client wants a fresh answer from the upstream, not a stored one. */
  mayServeStored: boolean;
  /** `no-store`: nothing about this exchange may be kept. */
  mayStore: boolean;
}

export function requestPolicy(cacheControl: HeaderValue): RequestPolicy {
  const d = parseCacheControl(cacheControl);
  return {
    mayServeStored: !d.has('no-cache') && !d.has('no-store') && deltaSeconds(d.get('max-age')) !== 0,
    mayStore: !d.has('no-store'),
  };
}

/**
 * How long (ms) a shared cache may keep a response, or undefined when it must not store it. no-store, private
 * and no-cache forbid it (no-cache would need revalidation on every use, which this cache does not do);
 * s-maxage wins over max-age for a shared cache; a response that says nothing gets `defaultTtlSeconds`, and is
 * not stored when that is 0. The response's Age (time it already spent in caches upstream) is subtracted.
 */
export function storableTtlMs(
  cacheControl: HeaderValue,
  age: HeaderValue,
  defaultTtlSeconds: number,
): number | undefined {
  const d = parseCacheControl(cacheControl);
  if (d.has('no-store') || d.has('private') || d.has('no-cache')) return undefined;
  let lifetime: number | undefined;
  if (d.has('s-maxage')) lifetime = deltaSeconds(d.get('s-maxage'));
  else if (d.has('max-age')) lifetime = deltaSeconds(d.get('max-age'));
  else lifetime = defaultTtlSeconds;
  // A malformed max-age makes the response stale (RFC 9111 §4.2.1), i.e. not worth storing.
  if (lifetime === undefined) return undefined;
  const remaining = lifetime - (deltaSeconds(age === undefined ? undefined : String(age)) ?? 0);
  return remaining > 0 ? remaining * 1000 : undefined;
}
