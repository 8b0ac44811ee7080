import { describe, expect, it, beforeAll } from '@jest/globals';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBinDir } from '@obsdemo/testenv';
import { HelmRenderError, HelmRenderer, canonicalJson } from '../../src/render/helm-template.js';

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
