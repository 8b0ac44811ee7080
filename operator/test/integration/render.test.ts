import { describe, expect, it, beforeAll } from '@jest/globals';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBinDir } from '@obsdemo/testenv';
import { fileURLToPath } from 'node:url';
import type { Unstructured } from '../../src/kube/resource-client.js';
import { COMPONENT_CHARTS } from '../../src/reconcile/plan.js';
import { HelmRenderError, HelmRenderer, canonicalJson } from '../../src/render/helm-template.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// The real helm binary from `make tools`, on a small chart written here.
let chartsDir: string;

beforeAll(() => {
  chartsDir = mkdtempSync(join(tmpdir(), 'obsdemo-charts-'));
  const chart = join(chartsDir, 'demo');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
  writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\nfail: false\n');
  writeFileSync(
    join(chart, 'templates', 'cm.yaml'),
    [
      '{{- if .Values.fail }}{{ fail "greeting refused" }}{{ end }}',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-demo',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
      '---',
      '# an empty document, as templates behind a false condition render',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata:',
      '  name: {{ .Release.Name }}-reader',
      'rules: []',
    ].join('\n'),
  );
  const other = join(chartsDir, 'other');
  mkdirSync(join(other, 'templates'), { recursive: true });
  writeFileSync(join(other, 'Chart.yaml'), 'apiVersion: v2\nname: other\nversion: 0.2.0\n');
  writeFileSync(join(other, 'values.yaml'), 'size: 1\n');
  writeFileSync(
    join(other, 'templates', 'svc.yaml'),
    [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: {{ .Release.Name }}-other',
      '  annotations:',
      '    size: {{ .Values.size | quote }}',
      'spec:',
      '  ports: [{port: 80}]',
    ].join('\n'),
  );
});

function renderer() {
  return new HelmRenderer({ helmBinary: join(defaultBinDir(), 'helm'), chartsDir, kubeVersion: 'v1.36.3' });
}

describe('HelmRenderer', () => {
  it('renders with the given values, fills in the namespace of namespaced objects only', async () => {
    const objects = await renderer().render({
      chart: 'demo',
      release: 'shop',
      namespace: 'ns1',
      values: { greeting: 'hi' },
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.namespace ?? ''}`)).toEqual([
      'ConfigMap/shop-demo@ns1',
      'ClusterRole/shop-reader@',
    ]);
    expect(objects[0]!.data).toEqual({ greeting: 'hi', kube: 'v1.36.3' });
  });

  it('serves an unchanged request from its cache and renders again when the values change', async () => {
    const r = renderer();
    const first = await r.render({
      chart: 'demo',
      release: 'shop',
      namespace: 'ns',
      values: { greeting: 'a', fail: false },
    });
    const again = await r.render({
      chart: 'demo',
      release: 'shop',
      namespace: 'ns',
      values: { fail: false, greeting: 'a' },
    });
    expect(again).toEqual(first);
    expect(r.stats).toEqual({ hits: 1, misses: 1, entries: 1 });
    // Callers may mutate what they get (owner references, labels) without touching the cache.
    again[0]!.metadata.name = 'changed';
    const third = await r.render({
      chart: 'demo',
      release: 'shop',
      namespace: 'ns',
      values: { greeting: 'a', fail: false },
    });
    expect(third[0]!.metadata.name).toBe('shop-demo');
    await r.render({ chart: 'demo', release: 'shop', namespace: 'ns', values: { greeting: 'b' } });
    expect(r.stats.misses).toBe(2);
    // New values replace the release's entry: a demo holds one entry per chart, whatever its history.
    expect(r.stats.entries).toBe(1);
  });

  it('keeps one entry per release, evicting the least recently used beyond cacheEntries', async () => {
    const r = new HelmRenderer({ helmBinary: join(defaultBinDir(), 'helm'), chartsDir, cacheEntries: 2 });
    const render = (release: string) => r.render({ chart: 'demo', release, namespace: 'ns', values: {} });
    await render('a');
    await render('b');
    await render('a');
    await render('c'); // evicts b, the least recently used
    expect(r.stats).toEqual({ hits: 1, misses: 3, entries: 2 });
    await render('a');
    await render('b');
    expect(r.stats).toEqual({ hits: 2, misses: 4, entries: 2 });
  });

  it("reports helm's own error", async () => {
    const error = await renderer()
      .render({ chart: 'demo', release: 'shop', namespace: 'ns', values: { fail: true } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HelmRenderError);
    expect((error as Error).message).toContain('greeting refused');
  });
});

describe('HelmRenderer.renderSet', () => {
  it('renders several charts in one helm process, each with its own values, as separate renders would', async () => {
    const r = renderer();
    const set = await r.renderSet({
      charts: [
        { chart: 'other', values: { size: 3 } },
        { chart: 'demo', values: { greeting: 'hi' } },
      ],
      release: 'shop',
      namespace: 'ns1',
    });
    expect(set).toEqual([
      await r.render({ chart: 'other', release: 'shop', namespace: 'ns1', values: { size: 3 } }),
      await r.render({ chart: 'demo', release: 'shop', namespace: 'ns1', values: { greeting: 'hi' } }),
    ]);
    expect(set[0]!.map((o) => o.metadata.annotations)).toEqual([{ size: '3' }]);
  });

  it('serves an unchanged set from its cache and renders again when one chart changes', async () => {
    const r = renderer();
    const req = (greeting: string) => ({
      charts: [
        { chart: 'demo', values: { greeting } },
        { chart: 'other', values: {} },
      ],
      release: 'shop',
      namespace: 'ns',
    });
    const first = await r.renderSet(req('a'));
    expect(await r.renderSet(req('a'))).toEqual(first);
    expect(r.stats).toEqual({ hits: 1, misses: 1, entries: 1 });
    const changed = await r.renderSet(req('b'));
    expect(changed[0]![0]!.data).toMatchObject({ greeting: 'b' });
    expect(r.stats).toEqual({ hits: 1, misses: 2, entries: 1 });
  });

  it("reports helm's own error, naming the set", async () => {
    const error = await renderer()
      .renderSet({
        charts: [
          { chart: 'demo', values: { fail: true } },
          { chart: 'other', values: {} },
        ],
        release: 'shop',
        namespace: 'ns',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HelmRenderError);
    expect((error as Error).message).toContain('greeting refused');
    expect((error as Error).message).toContain('demo+other');
  });

  it('renders every chart a demo may use exactly as separately (generated passwords aside)', async () => {
    const charts = COMPONENT_CHARTS;
    const r = new HelmRenderer({
      helmBinary: join(defaultBinDir(), 'helm'),
      chartsDir: join(root, 'charts'),
    });
    const set = await r.renderSet({
      charts: charts.map((chart) => ({ chart, values: {} })),
      release: 'shop',
      namespace: 'ns',
    });
    const withoutSecretData = (objects: Unstructured[]) =>
      objects.map((o) => (o.kind === 'Secret' ? { ...o, data: undefined } : o));
    for (const [i, chart] of charts.entries()) {
      const alone = await r.render({ chart, release: 'shop', namespace: 'ns', values: {} });
      expect(alone.length).toBeGreaterThan(0);
      expect(withoutSecretData(set[i]!)).toEqual(withoutSecretData(alone));
    }
  });
});

describe('the render cache', () => {
  it("holds a whole demo's render deflated, a small fraction of its JSON, and serves it back unchanged", async () => {
    const r = new HelmRenderer({
      helmBinary: join(defaultBinDir(), 'helm'),
      chartsDir: join(root, 'charts'),
    });
    const req = {
      charts: COMPONENT_CHARTS.map((chart) => ({ chart, values: {} })),
      release: 'shop',
      namespace: 'ns',
    };
    const first = await r.renderSet(req);
    const { deflated, json } = r.cacheBytes;
    // The JSON the entry inflates to holds every object (and which chart it came from).
    expect(json).toBeGreaterThan(Buffer.byteLength(JSON.stringify(first.flat())));
    expect(deflated).toBeGreaterThan(0);
    expect(deflated).toBeLessThan(json / 5);
    expect(await r.renderSet(req)).toEqual(first);
    expect(r.stats).toEqual({ hits: 1, misses: 1, entries: 1 });
  });
});

describe('canonicalJson', () => {
  it('is independent of key order at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: 2 } })).toBe(
      canonicalJson({ a: { c: 2, d: [1, { x: 2, y: 1 }] }, b: 1 }),
    );
  });
});

describe('parseManifests', () => {
  it('reads YAML 1.1 as the API server does: a leading-zero file mode is octal', async () => {
    const { parseManifests } = await import('../../src/render/helm-template.js');
    const [obj] = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}\nmode: 0555\n',
      'ns',
    );
    expect(obj!.mode).toBe(0o555);
  });
});
