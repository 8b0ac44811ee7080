import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/** A reference to one object; `namespace` is ignored for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Status {
  kind?: string;
  status?: string;
  reason?: string;
  message?: string;
  code?: number;
}

/** An error answer of the apiserver, with its HTTP status and the Status object's reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.name = 'KubeApiError';
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
}

export interface RequestOpts {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

function parseStatus(text: string): Status {
  try {
    return JSON.parse(text) as Status;
  } catch {
    return { message: text.slice(0, 500) };
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A small JSON client for the Kubernetes API. The operator works with plain JSON objects rendered by helm; the
 * typed models of @kubernetes/client-node serialize by TypeScript attribute names and drop fields they do not
 * know, so apply, list and delete go through here. Credentials come from the KubeConfig (client-node).
 */
export class KubeClient {
  private readonly resources = new Map<string, Promise<Map<string, ResourceInfo>>>();
  /** Requests sent, by HTTP method: lets tests prove that an unchanged resource causes no writes. */
  readonly requests = new Map<string, number>();

  private constructor(
    private readonly server: URL,
    private readonly base: RequestOptions,
  ) {}

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return new KubeClient(new URL(cluster.server), opts);
  }

  get writes(): number {
    let n = 0;
    for (const [method, count] of this.requests) if (WRITE_METHODS.has(method)) n += count;
    return n;
  }

  request<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { accept: 'application/json', ...(this.base.headers as object) };
    if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { ...this.base, method, headers, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve((text ? JSON.parse(text) : undefined) as T);
            return;
          }
          const s = parseStatus(text);
          reject(new KubeApiError(status, s.reason ?? 'Unknown', s.message ?? '', method, url.pathname));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The resource (plural) and scope of a kind, from API discovery; cached per group version. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let pending = this.resources.get(apiVersion);
    if (pending === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      pending = this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        'GET',
        path,
      ).then(
        (list) =>
          new Map(
            list.resources
              .filter((r) => !r.name.includes('/'))
              .map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }]),
          ),
      );
      pending.catch(() => this.resources.delete(apiVersion));
      this.resources.set(apiVersion, pending);
    }
    const info = (await pending).get(kind);
    if (info === undefined) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return info;
  }

  /** The URL path of a collection (no name) or of one object. */
  async path(ref: Omit<ObjectRef, 'name'> & { name?: string }): Promise<string> {
    const { plural, namespaced } = await this.resource(ref.apiVersion, ref.kind);
    const group = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    if (namespaced && !ref.namespace)
      throw new Error(`${ref.kind} ${ref.name ?? ''} is namespaced: a namespace is required`);
    const ns = namespaced ? `/namespaces/${ref.namespace}` : '';
    return `${group}${ns}/${plural}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  async get<T>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', await this.path(ref));
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return undefined;
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
  async apply<T extends ObjectRef & { metadata?: unknown }>(
    obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
    fieldManager: string,
    opts: { force?: boolean; subresource?: 'status'; dryRun?: boolean } = {},
  ): Promise<T> {
    const path = await this.path({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace });
    return this.request<T>('PATCH', opts.subresource ? `${path}/${opts.subresource}` : path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: opts.force ?? true, dryRun: opts.dryRun ? 'All' : undefined },
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
      if (error instanceof KubeApiError && error.notFound) return false;
      throw error;
    }
  }
}
