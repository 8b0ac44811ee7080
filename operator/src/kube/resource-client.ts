import type { KubeConfig } from '@kubernetes/client-node';
import { KubeHttpClient, isKubeApiError, type Query } from '../runtime/kube-http-client.js';

export { KubeApiError, isKubeApiError } from '../runtime/kube-http-client.js';

/**
 * One complete object as plain JSON, never a typed client model: what `helm template` renders and what the reconciler
 * reads back (client-go's `unstructured.Unstructured`). The runtime's `KubeObject`, where every field is optional,
 * is the shape informers and generated types share.
 */
export interface Unstructured {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A reference to one object; `namespace` is ignored for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface RequestOpts {
  body?: unknown;
  contentType?: string;
  query?: Query;
  signal?: AbortSignal;
}

/** Called before every write; throws to refuse it (e.g. leadership ended). */
export type WriteGuard = (method: string, path: string) => void;

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The reconciler's view of the API: objects addressed by apiVersion/kind/name (resolved through discovery),
 * server-side apply, reads that treat 404 as absent. HTTP, credentials and watches are the runtime's
 * KubeHttpClient; this layer adds what reconciling plain rendered JSON needs, and counts requests so tests can
 * prove that an unchanged demo causes no writes.
 */
export class ResourceClient {
  private readonly resources: Map<string, Promise<Map<string, ResourceInfo>>> = new Map();
  /** Requests sent, by HTTP method. */
  readonly requests: Map<string, number> = new Map();

  constructor(
    readonly http: KubeHttpClient,
    private readonly scope: { signal?: AbortSignal; writeGuard?: WriteGuard } = {},
    shared?: ResourceClient,
  ) {
    if (shared) {
      this.resources = shared.resources;
      this.requests = shared.requests;
    }
  }

  /**
   * The same client (discovery cache and request counts shared) whose every request carries `signal`, so aborting
   * it cancels what is in flight and refuses what comes next, and whose writes first pass `writeGuard`.
   */
  scoped(scope: { signal?: AbortSignal; writeGuard?: WriteGuard }): ResourceClient {
    const signal =
      scope.signal && this.scope.signal
        ? AbortSignal.any([this.scope.signal, scope.signal])
        : (scope.signal ?? this.scope.signal);
    const writeGuard = scope.writeGuard ?? this.scope.writeGuard;
    return new ResourceClient(
      this.http,
      { ...(signal ? { signal } : {}), ...(writeGuard ? { writeGuard } : {}) },
      this,
    );
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<ResourceClient> {
    return new ResourceClient(new KubeHttpClient(kc));
  }

  get writes(): number {
    let n = 0;
    for (const [method, count] of this.requests) if (WRITE_METHODS.has(method)) n += count;
    return n;
  }

  async request<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    const signal =
      opts.signal && this.scope.signal
        ? AbortSignal.any([this.scope.signal, opts.signal])
        : (opts.signal ?? this.scope.signal);
    signal?.throwIfAborted();
    if (WRITE_METHODS.has(method)) this.scope.writeGuard?.(method, path);
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    return this.http.request<T>(method, path, { ...opts, ...(signal ? { signal } : {}) });
  }

  /** The resource (plural) and scope of a kind, from API discovery; cached per group version. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let pending = this.resources.get(apiVersion);
    if (pending === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      // Shared by every reconcile, so not bound to the signal of the one that happened to ask first.
      this.requests.set('GET', (this.requests.get('GET') ?? 0) + 1);
      pending = this.http
        .request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', path)
        .then(
          (list) =>
            new Map(
              list.resources
                .filter((r) => !r.name.includes('/'))
                .map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }]),
            ),
        );
      // A failed discovery (e.g. a CRD not established yet) is retried on the next call.
      pending.catch(() => this.resources.delete(apiVersion));
      this.resources.set(apiVersion, pending);
    }
    const info = (await pending).get(kind);
    if (info === undefined) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return info;
  }

  /** The URL path of a collection (no name) or of one object. */
  async path(ref: Omit<ObjectRef, 'name'> & { name?: string | undefined }): Promise<string> {
    const { plural, namespaced } = await this.resource(ref.apiVersion, ref.kind);
    const group = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    if (namespaced && !ref.namespace) {
      throw new Error(`${ref.kind} ${ref.name ?? ''} is namespaced: a namespace is required`);
    }
    const ns = namespaced ? `/namespaces/${encodeURIComponent(ref.namespace ?? '')}` : '';
    return `${group}${ns}/${plural}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  async get<T>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', await this.path(ref));
    } catch (error) {
      if (isKubeApiError(error, 404)) return undefined;
      throw error;
    }
  }

  async list<T>(ref: Omit<ObjectRef, 'name'>, labelSelector?: string): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.request<{ items: T[]; metadata?: { continue?: string } }>(
        'GET',
        await this.path(ref),
        {
          query: { labelSelector, limit: 500, continue: cont },
        },
      );
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  /** Server-side apply: the object's fields become owned by `fieldManager`; `force` takes over conflicting fields. */
  async apply<T>(
    obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string | undefined } },
    fieldManager: string,
    opts: { force?: boolean; subresource?: 'status' } = {},
  ): Promise<T> {
    const path = await this.path({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace });
    return this.request<T>('PATCH', opts.subresource ? `${path}/${opts.subresource}` : path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: opts.force ?? true },
    });
  }

  /** Deletes an object; an already missing object is not an error. Dependents go in the background. */
  async delete(
    ref: ObjectRef,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    try {
      await this.request('DELETE', await this.path(ref), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy },
      });
      return true;
    } catch (error) {
      if (isKubeApiError(error, 404)) return false;
      throw error;
    }
  }
}
