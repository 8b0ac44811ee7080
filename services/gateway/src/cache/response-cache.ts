import { createCacheMetrics, LRU_EVICTION_REASON, type CacheMetrics } from '@obsdemo/telemetry';
import type { Span } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { cacheKey } from './cache-key.js';
import { requestPolicy, storableTtlMs } from './cache-control.js';
import type { RouteAllowList } from './routes.js';

export interface StoredResponse {
  /** Response headers as sent to the client the first time, without per-request fields. */
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** performance.now() when stored. */
  storedAt: number;
  /** Age the response already had when it arrived (seconds), from the upstream's Age header. */
  initialAgeSeconds: number;
}

export interface ResponseCacheOptions {
  /** The `cache` label on the shared cache metrics. */
  name: string;
  maxEntries: number;
  /** Bound on the bodies held in memory; a single body may use at most an eighth of it. */
  maxBytes: number;
  /** TTL for a response without freshness information; 0 stores only responses that state one. */
  defaultTtlSeconds: number;
  allowList: RouteAllowList;
  registry: Registry<OpenMetricsContentType>;
  /** A clock for unit tests; performance.now() otherwise. */
  now?: () => number;
  activeSpan?: () => Pick<Span, 'setAttribute'> | undefined;
}

export interface CacheableRequest {
  method: string;
  /** Path and query exactly as received (Express's originalUrl). */
  url: string;
  headers: IncomingHttpHeaders;
}

/** The outcome of a lookup for a cacheable request. */
export interface Lookup {
  key: string;
  stored: StoredResponse | undefined;
  /** The Age header (RFC 9111 §5.1) for the stored answer, served now. */
  ageSeconds: number;
  /** Whether the upstream's answer may be stored under `key` (the request did not say no-store). */
  mayStore: boolean;
  /** The invalidation sequence number when the lookup was made (see ResponseCache.store). */
  sequence: number;
}

export interface UpstreamAnswer {
  statusCode?: number | undefined;
  headers: IncomingHttpHeaders;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
/** Fields that belong to one exchange and are set afresh on every answer from the cache. */
const PER_EXCHANGE = ['x-request-id', 'age', 'x-cache', 'set-cookie'];
/** Paths whose last invalidation is remembered; older ones only raise `forgottenBefore`. */
const REMEMBERED_INVALIDATIONS = 10_000;

const pathOf = (url: string) => url.split('?', 1)[0] ?? '';

/**
 * The gateway's shared response cache for safe requests on allow-listed routes, following RFC 9111 where it
 * matters for an API: only 200s, the upstream's Cache-Control decides whether and how long, the client's
 * no-cache skips the stored copy and no-store keeps the exchange out, and credentials are part of the key.
 */
export class ResponseCache {
  private readonly cache: LRUCache<string, StoredResponse>;
  private readonly metrics: CacheMetrics;
  private readonly now: () => number;
  /**
   * Invalidations are numbered; each path remembers the number of its last one. An answer fetched on a miss is
   * stored only if its path was not invalidated after the lookup, so a slow read that started before a write
   * cannot put the pre-write answer back after the write dropped it.
   */
  private sequence = 0;
  private readonly invalidatedAt = new Map<string, number>();
  /** The highest sequence number among invalidations no longer remembered per path. */
  private forgottenBefore = 0;
  readonly maxBodyBytes: number;

  constructor(private readonly options: ResponseCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.maxBodyBytes = Math.max(1, Math.floor(options.maxBytes / 8));
    const cache = new LRUCache<string, StoredResponse>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      maxEntrySize: this.maxBodyBytes,
      sizeCalculation: (entry, key) => Math.max(1, entry.body.length + key.length),
      perf: { now: this.now },
      dispose: (_value, _key, reason) => this.metrics.evicted(LRU_EVICTION_REASON[reason]),
    });
    this.cache = cache;
    this.metrics = createCacheMetrics({
      name: options.name,
      registry: options.registry,
      size: () => {
        cache.purgeStale();
        return cache.size;
      },
      ...(options.activeSpan ? { activeSpan: options.activeSpan } : {}),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * Undefined when the request is not the cache's business (unsafe method, route not allow-listed, or a body);
   * otherwise counts a hit or a miss and returns the key and any stored answer.
   */
  lookup(req: CacheableRequest, hasBody: boolean): Lookup | undefined {
    if (!SAFE_METHODS.has(req.method) || hasBody) return undefined;
    if (!this.options.allowList(pathOf(req.url))) return undefined;
    const key = cacheKey(req.method, req.url, req.headers);
    const policy = requestPolicy(req.headers['cache-control']);
    const stored = policy.mayServeStored ? this.cache.get(key) : undefined;
    this.metrics.lookup(stored !== undefined);
    const ageSeconds = stored
      ? stored.initialAgeSeconds + Math.max(0, Math.floor((this.now() - stored.storedAt) / 1000))
      : 0;
    return { key, stored, ageSeconds, mayStore: policy.mayStore, sequence: this.sequence };
  }

  /** How long the answer may be kept (ms), or undefined when it must not be stored. */
  ttlFor(answer: UpstreamAnswer): number | undefined {
    if (answer.statusCode !== 200) return undefined;
    const { headers } = answer;
    // A Set-Cookie belongs to one client; an encoded body would be served to clients that did not ask for it.
    if (headers['set-cookie'] !== undefined) return undefined;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return undefined;
    // The key holds only method, URL and credentials: an answer that varies on anything else is not stored.
    const vary = (headers.vary ?? '')
      .split(',')
      .map((v) => v.trim().toLowerCase())
      .filter((v) => v !== '' && v !== 'accept-encoding');
    if (vary.length > 0) return undefined;
    return storableTtlMs(headers['cache-control'], headers.age, this.options.defaultTtlSeconds);
  }

  /**
   * After an unsafe request on `url` succeeded (RFC 9111 §4.4): drops every stored answer for that path, whatever
   * its query string and credentials, so the gateway never serves its own writes stale. Changes that do not pass
   * through the gateway still last until the TTL.
   */
  invalidate(method: string, url: string, statusCode: number): void {
    if (SAFE_METHODS.has(method) || statusCode < 200 || statusCode >= 400) return;
    const path = pathOf(url);
    this.sequence += 1;
    this.invalidatedAt.delete(path);
    this.invalidatedAt.set(path, this.sequence);
    if (this.invalidatedAt.size > REMEMBERED_INVALIDATIONS) {
      // Maps iterate in insertion order: the first entry is the oldest invalidation.
      const [oldestPath, oldestSequence] = this.invalidatedAt.entries().next().value as [string, number];
      this.invalidatedAt.delete(oldestPath);
      this.forgottenBefore = oldestSequence;
    }
    for (const key of [...this.cache.keys()]) {
      // Keys are `<method> <url> <credential hash>`; URLs carry no spaces.
      if (pathOf(key.split(' ', 2)[1] ?? '') === path) this.cache.delete(key);
    }
  }

  /** Keeps the upstream's answer to the request `lookup` missed, unless its path was invalidated meanwhile. */
  store(
    lookup: Lookup,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    ttlMs: number,
    upstreamAge: unknown,
  ): void {
    const path = pathOf(lookup.key.split(' ', 2)[1] ?? '');
    const lastInvalidation = this.invalidatedAt.get(path) ?? this.forgottenBefore;
    if (lastInvalidation > lookup.sequence) return;
    const kept: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && !PER_EXCHANGE.includes(name.toLowerCase())) kept[name.toLowerCase()] = value;
    }
    const initialAgeSeconds = /^\d+$/.test(String(upstreamAge)) ? Number(upstreamAge) : 0;
    this.cache.set(
      lookup.key,
      { headers: kept, body, storedAt: this.now(), initialAgeSeconds },
      { ttl: ttlMs },
    );
  }
}
