import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Informer, stripManagedFields } from '../../../src/runtime/informer.js';
import type { ListWatchClient } from '../../../src/runtime/informer.js';
import { KubeApiError } from '../../../src/runtime/kube-http-client.js';
import type { KubeList, KubeObject, Query, WatchEvent } from '../../../src/runtime/kube-http-client.js';

function obj(name: string, rv: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

/** A scripted API: lists return the current objects; each watch is a stream the test pushes events into. */
class FakeApi implements ListWatchClient {
  objects = new Map<string, KubeObject>();
  rv = 10;
  lists: Query[] = [];
  watches: { query: Query; push: (e: WatchEvent | Error | 'end') => void; signal: AbortSignal }[] = [];
  failWatch: Error | undefined;

  async list<T extends KubeObject>(_path: string, query: Query = {}): Promise<KubeList<T>> {
    this.lists.push(query);
    const items = [...this.objects.values()] as T[];
    const limit = Number(query['limit'] ?? items.length);
    const start = Number(query['continue'] ?? 0);
    const page = items.slice(start, start + limit);
    const next = start + limit < items.length ? String(start + limit) : undefined;
    return {
      metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
      items: page,
    };
  }

  async *watch<T extends KubeObject>(
    _path: string,
    query: Query,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    if (this.failWatch) throw this.failWatch;
    const buffer: (WatchEvent | Error | 'end')[] = [];
    let wake: (() => void) | undefined;
    this.watches.push({
      query,
      signal,
      push: (e) => {
        buffer.push(e);
        wake?.();
      },
    });
    signal.addEventListener('abort', () => wake?.());
    for (;;) {
      if (signal.aborted) return;
      const next = buffer.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (next === 'end') return;
      if (next instanceof Error) throw next;
      yield next as WatchEvent<T>;
    }
  }

  lastWatch(): FakeApi['watches'][number] {
    const w = this.watches.at(-1);
    if (!w) throw new Error('no watch');
    return w;
  }
}

function recorder(informer: Informer): string[] {
  const seen: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => seen.push(`add:${o.metadata?.name}`),
    onUpdate: (old, o) =>
      seen.push(
        `update:${o.metadata?.name}:${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`,
      ),
    onDelete: (o, info) => seen.push(`delete:${o.metadata?.name}${info.finalStateUnknown ? ':unknown' : ''}`),
  });
  return seen;
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

const path = '/api/v1/namespaces/ns/configmaps';

describe('Informer (scripted API)', () => {
  it('pages the list, then watches from its resourceVersion with bookmarks and a randomized timeout', async () => {
    const api = new FakeApi();
    for (const n of ['a', 'b', 'c']) api.objects.set(n, obj(n, '5'));
    const informer = new Informer(api, { path, pageSize: 2, minWatchTimeoutSeconds: 300, random: () => 0.5 });
    const seen = recorder(informer);
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(api.lists.map((q) => q['continue'])).toEqual([undefined, '2']);
    expect(informer.hasSynced()).toBe(true);
    expect(seen).toEqual(['add:a', 'add:b', 'add:c']);
    expect(api.lastWatch().query).toMatchObject({
      resourceVersion: '10',
      allowWatchBookmarks: true,
      timeoutSeconds: 450,
    });
    await informer.stop();
  });

  it('applies events, tracks bookmarks, and re-watches from the last resourceVersion when the server ends the watch', async () => {
    const api = new FakeApi();
    const informer = new Informer(api, { path });
    const seen = recorder(informer);
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    const w = api.lastWatch();
    w.push({ type: 'ADDED', object: obj('a', '11') });
    w.push({ type: 'MODIFIED', object: obj('a', '12') });
    w.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });
    w.push({ type: 'DELETED', object: obj('a', '21') });
    w.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '25' } } });
    await jest.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['add:a', 'update:a:11->12', 'delete:a']);
    expect(informer.lastSyncResourceVersion()).toBe('25');
    w.push('end');
    await jest.advanceTimersByTimeAsync(0);
    expect(api.watches).toHaveLength(2);
    expect(api.lastWatch().query['resourceVersion']).toBe('25');
    expect(api.lists).toHaveLength(1);
    await informer.stop();
  });

  it('caches and hands out transformed objects, from the list and from the watch', async () => {
    const api = new FakeApi();
    const withFields = (name: string, rv: string) =>
      ({
        ...obj(name, rv),
        metadata: { ...obj(name, rv).metadata, managedFields: [{ manager: 'x' }] },
      }) as KubeObject;
    api.objects.set('a', withFields('a', '5'));
    const informer = new Informer(api, { path, transform: stripManagedFields });
    const handed: KubeObject[] = [];
    informer.addEventHandler({ onAdd: (o) => handed.push(o), onUpdate: (_old, o) => handed.push(o) });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    api.lastWatch().push({ type: 'MODIFIED', object: withFields('a', '11') });
    await jest.advanceTimersByTimeAsync(0);
    expect(handed.map((o) => o.metadata)).toEqual([
      { name: 'a', namespace: 'ns', resourceVersion: '5' },
      { name: 'a', namespace: 'ns', resourceVersion: '11' },
    ]);
    expect(informer.store.get('ns/a')?.metadata).toEqual({
      name: 'a',
      namespace: 'ns',
      resourceVersion: '11',
    });
    expect(informer.lastSyncResourceVersion()).toBe('11');
    await informer.stop();
  });

  it('relists on an ERROR 410 event and reports objects gone meanwhile as deletes with unknown final state', async () => {
    const api = new FakeApi();
    api.objects.set('keep', obj('keep', '5'));
    api.objects.set('gone', obj('gone', '6'));
    const informer = new Informer(api, { path });
    const seen = recorder(informer);
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    api.objects.delete('gone');
    api.objects.set('keep', obj('keep', '30'));
    api.objects.set('new', obj('new', '31'));
    api.rv = 31;
    await jest.advanceTimersByTimeAsync(5_000);
    api
      .lastWatch()
      .push({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } as KubeObject });
    await jest.advanceTimersByTimeAsync(0);
    expect(api.lists).toHaveLength(2);
    expect(seen.slice(2)).toEqual(['update:keep:5->30', 'add:new', 'delete:gone:unknown']);
    expect(informer.store.keys().sort()).toEqual(['ns/keep', 'ns/new']);
    expect(api.lastWatch().query['resourceVersion']).toBe('31');
    await informer.stop();
  });

  it('relists on an HTTP 410 answer to the watch request, backing off when it repeats right after a list', async () => {
    const api = new FakeApi();
    const informer = new Informer(api, { path, backoff: { baseMs: 1000, maxMs: 1000 }, random: () => 1 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    api.lastWatch().push({ type: 'ADDED', object: obj('a', '11') });
    await jest.advanceTimersByTimeAsync(0);
    api.failWatch = new KubeApiError(410, 'Gone', 'too old');
    api.lastWatch().push(new Error('connection reset'));
    // reset → 1 s backoff → watch: 410 → immediate relist → watch: 410 again → 1 s backoff → relist …
    await jest.advanceTimersByTimeAsync(999);
    expect(api.lists).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(api.lists).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(999);
    expect(api.lists).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(api.lists).toHaveLength(3);
    api.failWatch = undefined;
    // The relist owed by the last 410 happens after its backoff, then the watch holds.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(api.lists).toHaveLength(4);
    expect(api.watches.length).toBeGreaterThanOrEqual(2);
    await informer.stop();
  });

  it('backs off when the server ends watches at once without events', async () => {
    const api = new FakeApi();
    const informer = new Informer(api, { path, backoff: { baseMs: 1000, maxMs: 1000 }, random: () => 1 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    api.lastWatch().push('end');
    await jest.advanceTimersByTimeAsync(0);
    expect(api.watches).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(api.watches).toHaveLength(2);
    await informer.stop();
  });

  it('reconnects with growing, jittered backoff on other errors, without relisting', async () => {
    const api = new FakeApi();
    const informer = new Informer(api, {
      path,
      backoff: { baseMs: 1000, maxMs: 8000 },
      random: () => 0.5,
    });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    api.failWatch = new Error('ECONNREFUSED');
    api.lastWatch().push(new Error('socket hang up'));
    const attemptsAt: number[] = [];
    const t0 = Date.now();
    const seenWatches = (): number => api.watches.length;
    let calls = 0;
    const original = api.watch.bind(api);
    api.watch = ((...args: Parameters<FakeApi['watch']>) => {
      calls += 1;
      attemptsAt.push(Date.now() - t0);
      return original(...args);
    }) as FakeApi['watch'];
    await jest.advanceTimersByTimeAsync(750 + 1500 + 3000 + 6000 + 6000 - 1);
    // 1000 × 2^n capped at 8000, each × 0.75 for the jitter (uniform in [ceiling/2, ceiling], random 0.5).
    expect(attemptsAt).toEqual([750, 2250, 5250, 11250]);
    expect(calls).toBe(4);
    expect(seenWatches()).toBe(1);
    expect(api.lists).toHaveLength(1);
    api.failWatch = undefined;
    await jest.advanceTimersByTimeAsync(1);
    expect(api.watches).toHaveLength(2);
    expect(api.lists).toHaveLength(1);
    await informer.stop();
  });

  it('aborts a watch that stays silent longer than the inactivity timeout and watches again', async () => {
    const api = new FakeApi();
    const informer = new Informer(api, { path, inactivityTimeoutMs: 30_000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    const first = api.lastWatch();
    await jest.advanceTimersByTimeAsync(20_000);
    first.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
    await jest.advanceTimersByTimeAsync(29_999);
    expect(first.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(first.signal.aborted).toBe(true);
    expect(api.watches).toHaveLength(2);
    expect(api.lastWatch().query['resourceVersion']).toBe('15');
    await informer.stop();
  });

  it('re-delivers the cache as updates every resync period, and keeps going when a handler throws', async () => {
    const api = new FakeApi();
    api.objects.set('a', obj('a', '1'));
    const informer = new Informer(api, { path, resyncPeriodMs: 60_000 });
    informer.addEventHandler({
      onUpdate: () => {
        throw new Error('handler bug');
      },
    });
    const seen = recorder(informer);
    informer.start();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(seen).toEqual(['add:a', 'update:a:1->1', 'update:a:1->1']);
    await informer.stop();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(seen).toHaveLength(3);
  });

  it('replays the cache to handlers added after sync', async () => {
    const api = new FakeApi();
    api.objects.set('a', obj('a', '1'));
    const informer = new Informer(api, { path });
    informer.start();
    await informer.waitForSync();
    const seen = recorder(informer);
    expect(seen).toEqual(['add:a']);
    await informer.stop();
  });
});
