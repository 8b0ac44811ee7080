import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Controller, ReconcileAbortedError, TerminalError } from '../../../src/runtime/controller.js';
import type { AbortReason } from '../../../src/runtime/controller.js';
import type { ReconcileRequest, ReconcileResult } from '../../../src/runtime/controller.js';
import type { EventHandlers, Informer } from '../../../src/runtime/informer.js';
import type { KubeObject } from '../../../src/runtime/kube-http-client.js';
import { ItemExponentialFailureRateLimiter } from '../../../src/runtime/rate-limiter.js';
import { MapStore, objectKey } from '../../../src/runtime/store.js';

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

/** A reconcile that would hang, but honours its signal: rejects with the signal's reason once it aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}

function controller(
  reconcile: (r: ReconcileRequest) => Promise<ReconcileResult | undefined>,
  registry = new Registry(),
  workers = 1,
) {
  return new Controller({
    name: 'demo',
    reconcile,
    registry,
    maxConcurrentReconciles: workers,
    rateLimiter: new ItemExponentialFailureRateLimiter(100, 1000),
  });
}

describe('Controller (fake timers)', () => {
  it('splits keys, and retries failures with per-key backoff until success', async () => {
    const calls: { at: number; key: string; ns?: string; name: string }[] = [];
    let failures = 3;
    const registry = new Registry();
    const c = controller(async (r) => {
      calls.push({ at: Date.now(), key: r.key, name: r.name, ...(r.namespace ? { ns: r.namespace } : {}) });
      if (failures-- > 0) throw new Error('apiserver said no');
    }, registry);
    const t0 = Date.now();
    c.start();
    c.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.at - t0)).toEqual([0, 100, 300, 700]);
    expect(calls[0]).toMatchObject({ key: 'ns/a', ns: 'ns', name: 'a' });
    expect(c.queue.numRequeues('ns/a')).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="error"} 3');
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="success"} 1');
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="demo"} 3');
    expect(text).toContain('controller_runtime_reconcile_time_seconds_count{controller="demo"} 4');
    expect(text).toContain('controller_runtime_max_concurrent_reconciles{controller="demo"} 1');
    expect(text).toContain('workqueue_retries_total{name="demo",controller="demo"} 3');
    await c.stop();
  });

  it('does not retry a TerminalError', async () => {
    let calls = 0;
    const registry = new Registry();
    const c = controller(async () => {
      calls += 1;
      throw new TerminalError('spec is invalid');
    }, registry);
    c.start();
    c.enqueue('ns/bad');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_terminal_reconcile_errors_total{controller="demo"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="error"} 1');
    await c.stop();
  });

  it('requeueAfter revisits the key after the delay; requeue uses the backoff', async () => {
    const at: number[] = [];
    const registry = new Registry();
    const c = controller(async () => {
      at.push(Date.now());
      return at.length === 1 ? { requeueAfter: 5_000 } : at.length === 2 ? { requeue: true } : undefined;
    }, registry);
    const t0 = Date.now();
    c.start();
    c.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(at.map((t) => t - t0)).toEqual([0, 5_000, 5_100]);
    const text = await registry.metrics();
    expect(text).toContain('result="requeue_after"} 1');
    expect(text).toContain('result="requeue"} 1');
    expect(text).toContain('result="success"} 1');
    await c.stop();
  });

  it('runs different keys concurrently up to the bound, never one key twice', async () => {
    let active = 0;
    let peak = 0;
    const perKey = new Map<string, number>();
    let perKeyPeak = 0;
    const c = controller(
      async (r) => {
        active += 1;
        perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
        peak = Math.max(peak, active);
        perKeyPeak = Math.max(perKeyPeak, perKey.get(r.key) ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        perKey.set(r.key, (perKey.get(r.key) ?? 1) - 1);
        active -= 1;
      },
      new Registry(),
      3,
    );
    c.start();
    for (let i = 0; i < 10; i++) c.enqueue(`ns/k${i}`);
    await jest.advanceTimersByTimeAsync(500);
    c.enqueue('ns/k0'); // in flight: queued again once done, not run in parallel
    await jest.advanceTimersByTimeAsync(10_000);
    expect(peak).toBe(3);
    expect(perKeyPeak).toBe(1);
    await c.stop();
  });

  it('stop aborts the reconcilers signal, waits for them, and drops what is still queued', async () => {
    const seen: string[] = [];
    let signal: AbortSignal | undefined;
    const c = controller(async (r) => {
      seen.push(r.key);
      signal = r.signal;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    });
    c.start();
    c.enqueue('ns/a');
    c.enqueue('ns/b');
    await jest.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    expect(signal?.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(500);
    expect(stopped).toBe(false);
    await jest.advanceTimersByTimeAsync(500);
    await stopping;
    expect(seen).toEqual(['ns/a']);
  });

  it('aborts a reconcile that outlives reconcileTimeoutMs, says so, and retries it with backoff', async () => {
    const registry = new Registry();
    const aborted: string[] = [];
    const signals: AbortSignal[] = [];
    const c = new Controller({
      name: 'demo',
      registry,
      reconcileTimeoutMs: 5_000,
      rateLimiter: new ItemExponentialFailureRateLimiter(100, 1000),
      onAborted: ({ key }, reason) => aborted.push(`${key}:${reason}`),
      reconcile: async (r) => {
        signals.push(r.signal);
        if (signals.length > 1) return undefined;
        return untilAborted(r.signal);
      },
    });
    c.start();
    c.enqueue('ns/slow');
    await jest.advanceTimersByTimeAsync(4_999);
    expect(signals[0]?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(ReconcileAbortedError);
    expect((signals[0]?.reason as ReconcileAbortedError).reason).toBe('timeout');
    expect(aborted).toEqual(['ns/slow:timeout']);
    await jest.advanceTimersByTimeAsync(100);
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(false);
    const text = await registry.metrics();
    expect(text).toContain('obsdemo_operator_reconcile_aborted_total{controller="demo",reason="timeout"} 1');
    expect(text).toContain('obsdemo_operator_reconcile_aborted_total{controller="demo",reason="shutdown"} 0');
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="error"} 1');
    await c.stop();
  });

  it.each<['shutdown' | 'leadership_lost']>([['shutdown'], ['leadership_lost']])(
    'stop(%s) aborts in-flight reconciles with that reason, counted and reported',
    async (reason) => {
      const registry = new Registry();
      const aborted: AbortReason[] = [];
      let signal: AbortSignal | undefined;
      const c = new Controller({
        name: 'demo',
        registry,
        reconcileTimeoutMs: 60_000,
        onAborted: (_r, why) => aborted.push(why),
        reconcile: async (r) => {
          signal = r.signal;
          return untilAborted(r.signal);
        },
      });
      c.start();
      c.enqueue('ns/a');
      await jest.advanceTimersByTimeAsync(10);
      await c.stop(reason);
      expect((signal?.reason as ReconcileAbortedError).reason).toBe(reason);
      expect(aborted).toEqual([reason]);
      expect(await registry.metrics()).toContain(
        `obsdemo_operator_reconcile_aborted_total{controller="demo",reason="${reason}"} 1`,
      );
    },
  );

  it('opens one span per reconcile with the object attributes, recording failures', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const c = new Controller({
      name: 'demo',
      tracer: provider.getTracer('obsdemo-operator'),
      rateLimiter: new ItemExponentialFailureRateLimiter(60_000, 60_000),
      reconcile: async ({ name }) => {
        if (name === 'broken') throw new Error('cannot render');
      },
    });
    c.start();
    c.enqueue('ns/fine');
    c.enqueue('ns/broken');
    c.enqueue('cluster-scoped');
    await jest.advanceTimersByTimeAsync(10);
    await c.stop();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['reconcile demo', 'reconcile demo', 'reconcile demo']);
    const [fine, broken, clusterScoped] = spans;
    expect(fine?.attributes).toMatchObject({
      'k8s.namespace.name': 'ns',
      'obsdemo.resource.name': 'fine',
      'obsdemo.controller': 'demo',
    });
    expect(fine?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(broken?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cannot render' });
    expect(broken?.events.map((e) => e.name)).toEqual(['exception']);
    expect(clusterScoped?.attributes['k8s.namespace.name']).toBeUndefined();
    expect(clusterScoped?.attributes['obsdemo.resource.name']).toBe('cluster-scoped');
    await provider.shutdown();
  });
});

/** An informer's surface the controller uses: handlers and a cache, fed by the test. */
class FakeInformer {
  readonly store = new MapStore<KubeObject>();
  readonly handlers: EventHandlers<KubeObject>[] = [];
  addEventHandler(handlers: EventHandlers<KubeObject>): void {
    this.handlers.push(handlers);
  }
  add(obj: KubeObject): void {
    this.store.set(objectKey(obj), obj);
    for (const h of this.handlers) h.onAdd?.(obj);
  }
  remove(obj: KubeObject): void {
    this.store.delete(objectKey(obj));
    for (const h of this.handlers) h.onDelete?.(obj, { finalStateUnknown: false });
  }
  asInformer(): Informer<KubeObject> {
    return this as unknown as Informer<KubeObject>;
  }
}

const object = (name: string, owner?: string): KubeObject => ({
  metadata: { name, namespace: 'ns', ...(owner ? { labels: { owner } } : {}) },
});

describe('Controller watches, declared once, across runs of its workers', () => {
  it('reconciles the For objects by key and the Owns objects by their owner', async () => {
    const seen: string[] = [];
    const demos = new FakeInformer();
    const owned = new FakeInformer();
    const c = controller(async (r) => {
      seen.push(r.key);
      return undefined;
    });
    c.for(demos.asInformer()).owns(owned.asInformer(), (o) =>
      o.metadata?.labels?.['owner'] ? `ns/${o.metadata.labels['owner']}` : undefined,
    );
    expect(c.informers()).toEqual([demos, owned]);
    c.start();
    demos.add(object('a'));
    await jest.advanceTimersByTimeAsync(10);
    owned.add(object('a-db', 'a'));
    await jest.advanceTimersByTimeAsync(10);
    owned.add(object('stray'));
    await jest.advanceTimersByTimeAsync(10);
    expect(seen).toEqual(['ns/a', 'ns/a']);
    await c.stop();
  });

  it('restarts with a fresh queue and signal, queues every cached For object, and drops events while stopped', async () => {
    const seen: { key: string; signal: AbortSignal }[] = [];
    const demos = new FakeInformer();
    const owned = new FakeInformer();
    const c = controller(async (r) => {
      seen.push({ key: r.key, signal: r.signal });
      return undefined;
    });
    c.for(demos.asInformer()).owns(owned.asInformer(), (o) => `ns/${o.metadata?.labels?.['owner'] ?? ''}`);
    demos.add(object('a'));
    demos.add(object('b'));
    owned.add(object('a-db', 'a'));
    expect(c.isRunning()).toBe(false);
    c.start();
    await jest.advanceTimersByTimeAsync(10);
    // The cached For objects, once each; the owned object in the cache adds nothing more.
    expect(seen.map((s) => s.key)).toEqual(['ns/a', 'ns/b']);
    const firstQueue = c.queue;
    await c.stop('leadership_lost');
    expect(seen[0]?.signal.aborted).toBe(false);

    // Stopped: events are dropped (nothing runs them), and each informer keeps one handler of this controller.
    owned.remove(object('a-db', 'a'));
    demos.add(object('c'));
    await jest.advanceTimersByTimeAsync(10);
    expect(seen).toHaveLength(2);
    expect(demos.handlers).toHaveLength(1);
    expect(owned.handlers).toHaveLength(1);

    c.start();
    expect(c.queue).not.toBe(firstQueue);
    await jest.advanceTimersByTimeAsync(10);
    expect(seen.map((s) => s.key)).toEqual(['ns/a', 'ns/b', 'ns/a', 'ns/b', 'ns/c']);
    // The watches still feed the new run, each event once.
    owned.remove(object('b-db', 'b'));
    await jest.advanceTimersByTimeAsync(10);
    expect(seen.map((s) => s.key).slice(5)).toEqual(['ns/b']);
    expect(new Set(seen.map((s) => s.signal)).size).toBe(seen.length);
    await c.stop();
  });

  it('aborts each run with its own reason, and starts again only once the last run has stopped', async () => {
    const signals: AbortSignal[] = [];
    const c = controller(async (r) => {
      signals.push(r.signal);
      return untilAborted(r.signal);
    });
    c.start();
    c.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(10);
    const stopping = c.stop('leadership_lost');
    expect(c.stop('shutdown')).toBe(stopping);
    expect(() => c.start()).toThrow('still stopping');
    await stopping;
    c.start();
    c.enqueue('ns/a');
    await jest.advanceTimersByTimeAsync(10);
    await c.stop('shutdown');
    expect(signals.map((s) => (s.reason as ReconcileAbortedError).reason)).toEqual([
      'leadership_lost',
      'shutdown',
    ]);
  });
});
