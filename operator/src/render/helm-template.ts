import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Unstructured } from '../kube/resource-client.js';

export interface RenderRequest {
  /** Folder name under the charts directory, e.g. "nats". */
  chart: string;
  release: string;
  namespace: string;
  values: unknown;
  /** Aborting it kills the helm process; the render then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface HelmRendererOptions {
  helmBinary: string;
  chartsDir: string;
  /** `.Capabilities.KubeVersion` for rendering; the cluster's version when known. */
  kubeVersion?: string;
  /**
   * How many (chart, release, namespace) renders to keep, least recently used first out. Each keeps only its
   * latest values' render, so a demo needs one per chart (six): the default fits about 170 demos.
   */
  cacheEntries?: number;
  timeoutMs?: number;
}

/** A content digest of every file of a chart, so the cache key changes when the chart does. */
export function chartDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** JSON with object keys sorted, so equal values hash equally whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export class HelmRenderError extends Error {
  constructor(
    readonly chart: string,
    readonly stderr: string,
  ) {
    super(`helm template ${chart} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'HelmRenderError';
  }
}

/**
 * Renders our charts with the real `helm template`, so the operator deploys exactly what `helm install` would.
 * Renders are cached by chart digest + release + namespace + values hash: an unchanged CR costs no helm process.
 * One entry per chart, release and namespace (a demo's older values are of no use once they changed), holding the
 * render as a JSON string: a third of the memory of the parsed objects, and each hit parses a fresh copy.
 */
export class HelmRenderer {
  private readonly digests = new Map<string, string>();
  private readonly cache = new Map<string, { key: string; json: string }>();
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: HelmRendererOptions) {}

  get stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.hits, misses: this.misses, entries: this.cache.size };
  }

  private digest(chart: string): string {
    let digest = this.digests.get(chart);
    if (digest === undefined) {
      // Charts ship with the operator and do not change while it runs.
      digest = chartDigest(join(this.options.chartsDir, chart));
      this.digests.set(chart, digest);
    }
    return digest;
  }

  async render(req: RenderRequest): Promise<Unstructured[]> {
    const values = canonicalJson(req.values ?? {});
    const slot = `${req.chart}\0${req.release}\0${req.namespace}`;
    const key = createHash('sha256')
      .update(`${this.digest(req.chart)}\0${slot}\0${values}`)
      .digest('hex');
    const cached = this.cache.get(slot);
    // Most recently used last: Map keeps insertion order, so re-inserting makes eviction LRU.
    this.cache.delete(slot);
    if (cached?.key === key) {
      this.hits++;
      this.cache.set(slot, cached);
      return JSON.parse(cached.json) as Unstructured[];
    }
    this.misses++;
    req.signal?.throwIfAborted();
    const objects = await this.run(req, values);
    const json = JSON.stringify(objects);
    this.cache.delete(slot);
    this.cache.set(slot, { key, json });
    const max = this.options.cacheEntries ?? 1024;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
    return JSON.parse(json) as Unstructured[];
  }

  private run(req: RenderRequest, values: string): Promise<Unstructured[]> {
    const args = [
      'template',
      req.release,
      join(this.options.chartsDir, req.chart),
      '--namespace',
      req.namespace,
      '--skip-tests',
      '--values',
      '-',
    ];
    if (this.options.kubeVersion) args.push('--kube-version', this.options.kubeVersion);
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.options.helmBinary,
        args,
        {
          timeout: this.options.timeoutMs ?? 30_000,
          maxBuffer: 64 * 1024 * 1024,
          ...(req.signal ? { signal: req.signal } : {}),
        },
        (error, stdout, stderr) => {
          if (req.signal?.aborted) {
            reject(req.signal.reason);
            return;
          }
          if (error) {
            reject(new HelmRenderError(req.chart, stderr || error.message));
            return;
          }
          try {
            resolve(parseManifests(stdout, req.namespace));
          } catch (parseError) {
            reject(new HelmRenderError(req.chart, String(parseError)));
          }
        },
      );
      child.stdin?.end(values);
    });
  }
}

/**
 * Splits a multi-document manifest into objects, dropping empty documents and filling in the namespace. Parsed as
 * YAML 1.1, as the API server and kubectl do (sigs.k8s.io/yaml): `defaultMode: 0555` is octal, 365.
 */
export function parseManifests(text: string, namespace: string): Unstructured[] {
  const objects: Unstructured[] = [];
  for (const parsed of parseAllDocuments(text, { version: '1.1' })) {
    if (parsed.errors.length > 0)
      throw new Error(`invalid YAML from helm: ${parsed.errors[0]?.message ?? ''}`);
    const doc: unknown = parsed.toJS();
    if (doc === null || doc === undefined) continue;
    const obj = doc as Unstructured;
    if (
      typeof obj.apiVersion !== 'string' ||
      typeof obj.kind !== 'string' ||
      typeof obj.metadata?.name !== 'string'
    ) {
      throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(doc).slice(0, 200)}`);
    }
    objects.push(obj);
  }
  return objects.map((o) => (isClusterScoped(o.kind) ? o : { ...o, metadata: { namespace, ...o.metadata } }));
}

/** The cluster-scoped kinds our charts may render. Everything else is namespaced. */
const CLUSTER_SCOPED = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'Namespace',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}
