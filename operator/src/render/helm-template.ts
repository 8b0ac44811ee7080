import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { parse, parseAllDocuments } from 'yaml';
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

/** Several charts rendered together for one release: one helm process instead of one per chart. */
export interface RenderSetRequest {
  charts: { chart: string; values: unknown }[];
  release: string;
  namespace: string;
  signal?: AbortSignal;
}

export interface HelmRendererOptions {
  helmBinary: string;
  chartsDir: string;
  /** `.Capabilities.KubeVersion` for rendering; the cluster's version when known. */
  kubeVersion?: string;
  /**
   * How many renders to keep, least recently used first out: one per (chart, release, namespace) for `render`,
   * one per (release, namespace) for `renderSet`, each only its latest values' render. The reconciler renders a
   * demo as one set, so the default 1,024 keeps that many demos warm.
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
 * Renders are cached by chart digests + release + namespace + values hash: an unchanged CR costs no helm process.
 * One entry per chart (or set of charts), release and namespace (a demo's older values are of no use once they
 * changed), holding the render as deflated JSON: a demo's render is 170–380 KB of JSON (the dashboards are most of
 * it), which was most of the operator's heap per demo; deflated it is a few tens of KB, outside V8's heap. Each hit
 * inflates and parses a fresh copy (about a millisecond), and only a miss, which also runs helm, pays the deflate.
 */
export class HelmRenderer {
  private readonly digests = new Map<string, string>();
  private readonly cache = new Map<string, { key: string; deflated: Buffer; jsonBytes: number }>();
  /** Parent charts that render a set of our charts as dependencies, by the set (sorted names joined by ","). */
  private readonly umbrellas = new Map<string, string>();
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: HelmRendererOptions) {}

  get stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.hits, misses: this.misses, entries: this.cache.size };
  }

  /** What the cache holds: its entries' deflated bytes, and the JSON they inflate to. */
  get cacheBytes(): { deflated: number; json: number } {
    let deflated = 0;
    let json = 0;
    for (const entry of this.cache.values()) {
      deflated += entry.deflated.length;
      json += entry.jsonBytes;
    }
    return { deflated, json };
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
    return this.cached(
      `${req.chart}\0${req.release}\0${req.namespace}`,
      `${this.digest(req.chart)}\0${values}`,
      req.signal,
      () => this.run(req, values),
    );
  }

  /**
   * Renders several charts for one release with one helm process: a parent chart (written once per set of charts,
   * in the temp dir) lists them as dependencies, linked to the charts directory, and each gets its values under its
   * name, as `helm install` of a parent chart would. Each chart's objects come back in the order of `req.charts`,
   * told apart by the `# Source:` line helm writes above each document. One cache entry per release and namespace.
   */
  async renderSet(req: RenderSetRequest): Promise<Unstructured[][]> {
    const names = req.charts.map((c) => c.chart);
    if (new Set(names).size !== names.length) throw new Error(`a chart is listed twice: ${names.join(', ')}`);
    const values = canonicalJson(Object.fromEntries(req.charts.map((c) => [c.chart, c.values ?? {}])));
    const digests = names.map((n) => `${n}:${this.digest(n)}`).join(',');
    const all = await this.cached(
      `*\0${req.release}\0${req.namespace}`,
      `${digests}\0${values}`,
      req.signal,
      async () => {
        const umbrella = this.umbrella(names);
        const text = await this.helmTemplate(
          umbrella,
          req.release,
          req.namespace,
          values,
          names.join('+'),
          req.signal,
        );
        let split: { chart: string; object: Unstructured }[];
        try {
          split = splitBySubchart(text, req.namespace);
        } catch (parseError) {
          throw new HelmRenderError(names.join('+'), String(parseError));
        }
        return split.map(({ chart, object }) => ({ ...object, [SUBCHART]: chart }));
      },
    );
    const byChart = new Map(names.map((n) => [n, [] as Unstructured[]]));
    for (const o of all) {
      const { [SUBCHART]: chart, ...object } = o;
      const list = byChart.get(chart as string);
      if (list === undefined)
        throw new HelmRenderError(
          names.join('+'),
          `an object came from a chart not asked for: ${String(chart)}`,
        );
      list.push(object as Unstructured);
    }
    return names.map((n) => byChart.get(n) ?? []);
  }

  /**
   * The parent chart for a set of charts. Its contents follow from the user, the charts directory and the charts'
   * versions, so it lives at a temp path named by their hash: renderers and processes with the same charts share
   * one, and nothing piles up. It is used only while it is a directory of this user's that no one else may write
   * (mode 0700, as mkdtemp creates it), written in a fresh dir and renamed into place (no reader sees it half
   * written), and written again should anything have removed it. Should the path be taken by anything else, this
   * renderer keeps its own fresh copy.
   */
  private umbrella(names: string[]): string {
    const setKey = [...names].sort().join(',');
    const known = this.umbrellas.get(setKey);
    if (known !== undefined && isPrivateChartDir(known)) return known;
    const chartsDir = resolve(this.options.chartsDir);
    const dependencies = [...names].sort().map((name) => {
      const meta = parse(readFileSync(join(chartsDir, name, 'Chart.yaml'), 'utf8')) as { version?: string };
      return { name, version: meta.version };
    });
    const chartYaml = JSON.stringify({ apiVersion: 'v2', name: UMBRELLA, version: '0.0.0', dependencies });
    const uid = process.getuid?.() ?? 0;
    const hash = createHash('sha256').update(`${uid}\0${chartsDir}\0${chartYaml}`).digest('hex');
    let dir = join(tmpdir(), `${UMBRELLA}-${uid}-${hash.slice(0, 16)}`);
    if (!isPrivateChartDir(dir)) {
      const staging = mkdtempSync(join(tmpdir(), `${UMBRELLA}-new-`));
      mkdirSync(join(staging, 'charts'));
      for (const { name } of dependencies) symlinkSync(join(chartsDir, name), join(staging, 'charts', name));
      writeFileSync(join(staging, 'Chart.yaml'), chartYaml);
      try {
        renameSync(staging, dir);
      } catch {
        // Another process of ours got there first (its copy is as good), or the path is someone else's.
        if (isPrivateChartDir(dir)) rmSync(staging, { recursive: true, force: true });
        else dir = staging;
      }
    }
    this.umbrellas.set(setKey, dir);
    return dir;
  }

  /** The render for `slot` if its key is unchanged, else `produce`'s, kept as the slot's only entry (LRU). */
  private async cached(
    slot: string,
    content: string,
    signal: AbortSignal | undefined,
    produce: () => Promise<Unstructured[]>,
  ): Promise<Unstructured[]> {
    const key = createHash('sha256').update(`${slot}\0${content}`).digest('hex');
    const cached = this.cache.get(slot);
    // Most recently used last: Map keeps insertion order, so re-inserting makes eviction LRU.
    this.cache.delete(slot);
    if (cached?.key === key) {
      this.hits++;
      this.cache.set(slot, cached);
      return JSON.parse(inflateRawSync(cached.deflated).toString('utf8')) as Unstructured[];
    }
    this.misses++;
    signal?.throwIfAborted();
    const objects = await produce();
    const json = JSON.stringify(objects);
    this.cache.delete(slot);
    this.cache.set(slot, {
      key,
      deflated: deflateRawSync(json, { level: DEFLATE_LEVEL }),
      jsonBytes: Buffer.byteLength(json),
    });
    const max = this.options.cacheEntries ?? 1024;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
    return JSON.parse(json) as Unstructured[];
  }

  private async run(req: RenderRequest, values: string): Promise<Unstructured[]> {
    const text = await this.helmTemplate(
      join(this.options.chartsDir, req.chart),
      req.release,
      req.namespace,
      values,
      req.chart,
      req.signal,
    );
    try {
      return parseManifests(text, req.namespace);
    } catch (parseError) {
      throw new HelmRenderError(req.chart, String(parseError));
    }
  }

  /** `helm template` of the chart at `chartPath` with `values` (JSON) on stdin; its output. */
  private helmTemplate(
    chartPath: string,
    release: string,
    namespace: string,
    values: string,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const args = ['template', release, chartPath, '--namespace', namespace, '--skip-tests', '--values', '-'];
    if (this.options.kubeVersion) args.push('--kube-version', this.options.kubeVersion);
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.options.helmBinary,
        args,
        {
          timeout: this.options.timeoutMs ?? 30_000,
          maxBuffer: 64 * 1024 * 1024,
          ...(signal ? { signal } : {}),
        },
        (error, stdout, stderr) => {
          if (signal?.aborted) {
            reject(signal.reason);
            return;
          }
          if (error) {
            reject(new HelmRenderError(what, stderr || error.message));
            return;
          }
          resolve(stdout);
        },
      );
      child.stdin?.end(values);
    });
  }
}

/** A directory of this user's with a Chart.yaml, which no other user may write into (not a symlink). */
function isPrivateChartDir(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return (
      st.isDirectory() &&
      st.uid === (process.getuid?.() ?? st.uid) &&
      (st.mode & 0o022) === 0 &&
      existsSync(join(dir, 'Chart.yaml'))
    );
  } catch {
    return false;
  }
}

/** zlib's default: renders are highly repetitive and deflated once per change, inflated once per hit. */
const DEFLATE_LEVEL = 6;

/** The parent chart renderSet writes; its name starts every `# Source:` path helm prints. */
const UMBRELLA = 'obsdemo-render';
/** Where renderSet keeps, in its cache, which chart an object came from. */
const SUBCHART = '__obsdemoChart';

/**
 * The documents of a parent chart's render, each with the dependency it came from (the first `charts/<name>/` of
 * the `# Source:` line helm writes above it).
 */
export function splitBySubchart(text: string, namespace: string): { chart: string; object: Unstructured }[] {
  const out: { chart: string; object: Unstructured }[] = [];
  for (const doc of text.split(/^---[ \t]*$/m)) {
    const source = /^# Source: ([^/\n]+)\/charts\/([^/\n]+)\//m.exec(doc);
    const objects = parseManifests(doc, namespace);
    if (objects.length === 0) continue;
    if (source?.[1] !== UMBRELLA || source[2] === undefined)
      throw new Error(
        `a rendered document has no dependency chart in its # Source: line: ${doc.slice(0, 200)}`,
      );
    for (const object of objects) out.push({ chart: source[2], object });
  }
  return out;
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
