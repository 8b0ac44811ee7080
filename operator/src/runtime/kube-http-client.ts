import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';

/**
 * A small JSON client for the Kubernetes API that keeps objects as plain JSON.
 *
 * Why not client-node's generated APIs: its typed models (de)serialize by attribute name and drop fields they do
 * not know, which breaks generic objects and custom resources; and every call builds a new undici dispatcher,
 * so reconnecting watches open new connections. This client reuses one keep-alive dispatcher, takes credentials
 * from the KubeConfig (client certificates, tokens, exec/auth providers, impersonation) and streams watches.
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: unknown;
}

/**
 * Any Kubernetes object as JSON. No index signature, so generated interfaces (the CRD types, client-node's
 * models used as plain shapes) are assignable without casts.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** metav1.Status, as the apiserver returns it on errors and inside ERROR watch events. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** An HTTP error from the apiserver, with its Status when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
    message: string,
    readonly status?: KubeStatus,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }

  static fromStatus(statusCode: number, status: KubeStatus | undefined, what: string): KubeApiError {
    const reason = status?.reason;
    const detail = status?.message ?? reason ?? 'no details';
    return new KubeApiError(statusCode, reason, `${what}: HTTP ${statusCode}: ${detail}`, status);
  }
}

export function isKubeApiError(error: unknown, statusCode?: number): error is KubeApiError {
  return error instanceof KubeApiError && (statusCode === undefined || error.statusCode === statusCode);
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content type of `body`; JSON by default (`application/merge-patch+json`, `application/apply-patch+yaml`, …). */
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeHttpClientOptions {
  /** Non-watch requests fail after this long; 30 s by default. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

type ConnectOptions = NonNullable<Agent.Options['connect']>;

interface Credentials {
  connect: ConnectOptions;
  headers: Record<string, string>;
}

export class KubeHttpClient {
  readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;
  private agent: Agent | undefined;
  private connect: ConnectOptions | undefined;

  constructor(
    private readonly kc: KubeConfig,
    options: KubeHttpClientOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'obsdemo-operator';
  }

  async get<T extends KubeObject>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  async list<T extends KubeObject>(
    path: string,
    query: Query = {},
    signal?: AbortSignal,
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, { query, ...(signal ? { signal } : {}) });
  }

  async create<T extends KubeObject>(path: string, body: T, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  async replace<T extends KubeObject>(path: string, body: T, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  async patch<T extends KubeObject>(
    path: string,
    body: unknown,
    contentType: string,
    options: RequestOptions = {},
  ): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body, contentType });
  }

  async delete(path: string, options: RequestOptions = {}): Promise<KubeObject | KubeStatus> {
    return this.request<KubeObject | KubeStatus>('DELETE', path, options);
  }

  /** One request; a non-2xx answer throws KubeApiError. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { connect, headers } = await this.credentials();
    this.agent ??= new Agent({ connect });
    const dispatcher = this.agent;
    const hasBody = options.body !== undefined;
    const contentType = options.contentType ?? 'application/json';
    try {
      return await this.send<T>(dispatcher, method, path, options, headers, hasBody, contentType);
    } catch (error) {
      // undici keeps a connection whose request was aborted before its answer and sends the next requests on
      // it; if the connection is dead (a half-open socket) they all hang. Retire the whole pool instead.
      if (options.signal?.aborted) this.retire(dispatcher);
      throw error;
    }
  }

  private async send<T>(
    dispatcher: Agent,
    method: string,
    path: string,
    options: RequestOptions,
    headers: Record<string, string>,
    hasBody: boolean,
    contentType: string,
  ): Promise<T> {
    const res = await request(this.url(path, options.query), {
      method: method as 'GET',
      dispatcher,
      ...(options.signal ? { signal: options.signal } : {}),
      // undici's own timeouts (unlike an AbortSignal) destroy the connection they fire on.
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
      headers: {
        ...headers,
        accept: 'application/json',
        ...(hasBody ? { 'content-type': contentType } : {}),
      },
      ...(hasBody
        ? {
            body:
              typeof options.body === 'string' && !contentType.includes('json')
                ? options.body
                : JSON.stringify(options.body),
          }
        : {}),
    });
    const text = await res.body.text();
    const parsed = text.length > 0 ? parseJson(text) : undefined;
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw KubeApiError.fromStatus(res.statusCode, asStatus(parsed, text), `${method} ${path}`);
    }
    return parsed as T;
  }

  /**
   * Opens a watch and yields its events until the server ends the stream, `signal` aborts it (the iteration then
   * ends quietly), or the connection fails (throws). A non-200 answer throws KubeApiError.
   */
  async *watch<T extends KubeObject>(
    path: string,
    query: Query,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const { connect, headers } = await this.credentials();
    // A watch holds its connection for minutes; a dedicated one is destroyed with the watch, so an aborted
    // (inactive, possibly half-open) connection is never reused.
    const dispatcher = new Agent({ connect });
    try {
      yield* this.streamWatch<T>(dispatcher, path, query, signal, headers);
    } finally {
      await dispatcher.destroy().catch(() => undefined);
    }
  }

  private async *streamWatch<T extends KubeObject>(
    dispatcher: Agent,
    path: string,
    query: Query,
    signal: AbortSignal,
    headers: Record<string, string>,
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const res = await request(this.url(path, { ...query, watch: true }), {
      method: 'GET',
      dispatcher,
      signal,
      headers: { ...headers, accept: 'application/json' },
      // The informer runs its own inactivity timeout; undici's body timeout would cut long quiet watches.
      bodyTimeout: 0,
      headersTimeout: this.requestTimeoutMs,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw KubeApiError.fromStatus(res.statusCode, asStatus(parseJson(text), text), `watch ${path}`);
    }
    // Lines are split by hand: readline never ends its iteration when its input is destroyed with an error (an
    // aborted request), which would leave the watch hanging; the stream's own iterator rejects instead.
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Buffer, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line.length === 0) continue;
          const event = parseJson(line);
          if (isWatchEvent<T>(event)) yield event;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    } finally {
      res.body.destroy();
    }
  }

  // New requests get a fresh pool at once; requests still in flight on the old one may finish (each is bounded
  // by requestTimeoutMs), then whatever is left, the dead connection included, is destroyed.
  private retire(agent: Agent): void {
    if (this.agent === agent) this.agent = undefined;
    const timer = setTimeout(() => void agent.destroy().catch(() => undefined), this.requestTimeoutMs);
    timer.unref();
    agent.close().then(
      () => clearTimeout(timer),
      () => undefined,
    );
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  private url(path: string, query: Query = {}): string {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  // Headers are computed per request so refreshed tokens (exec plugins, projected service-account tokens) are
  // picked up; TLS material is read once.
  private async credentials(): Promise<Credentials> {
    const opts: HttpsRequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    for (const [key, value] of Object.entries(opts.headers ?? {})) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (typeof opts.auth === 'string') {
      headers['authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    }
    this.connect ??= {
      ...(opts.ca ? { ca: opts.ca as Buffer } : {}),
      ...(opts.cert ? { cert: opts.cert as Buffer } : {}),
      ...(opts.key ? { key: opts.key as Buffer } : {}),
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
    };
    return { connect: this.connect, headers };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function asStatus(value: unknown, text: string): KubeStatus {
  if (typeof value === 'object' && value !== null && (value as KubeStatus).kind === 'Status') {
    return value as KubeStatus;
  }
  return { message: text.slice(0, 200) };
}

function isWatchEvent<T extends KubeObject>(value: unknown): value is WatchEvent<T> {
  if (typeof value !== 'object' || value === null) return false;
  const { type, object } = value as { type?: unknown; object?: unknown };
  return typeof type === 'string' && typeof object === 'object' && object !== null;
}

/** The API path of a collection: `/api/v1/namespaces/ns/configmaps`, `/apis/group/v1/things`. */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
}

/** The API path of one object in a collection. */
export function objectPath(apiVersion: string, plural: string, name: string, namespace?: string): string {
  return `${collectionPath(apiVersion, plural, namespace)}/${encodeURIComponent(name)}`;
}

/** metav1.MicroTime: RFC 3339 with microseconds, as Lease and Event times must be written. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
