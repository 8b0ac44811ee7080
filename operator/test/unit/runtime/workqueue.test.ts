import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Registry } from 'prom-client';
import { ItemExponentialFailureRateLimiter } from '../../../src/runtime/rate-limiter.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

async function takeAll(q: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.len() > 0) {
    const key = await q.get();
    if (key === undefined) break;
    keys.push(key);
  }
  return keys;
}

describe('WorkQueue', () => {
  it('coalesces a key added many times before it is processed', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await takeAll(q)).toEqual(['a', 'b']);
  });

  it('never hands a key to two workers: an add during processing is queued once after done', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    const key = await q.get();
    expect(key).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('get waits for an add', async () => {
    const q = new WorkQueue({ name: 't' });
    const p = q.get();
    q.add('x');
    await expect(p).resolves.toBe('x');
  });

  it('addAfter releases keys in time order and keeps the earliest time for a key', async () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('late', 300);
    q.addAfter('early', 100);
    q.addAfter('mid', 200);
    q.addAfter('early', 250); // later than its pending time: ignored
    q.addAfter('late', 150); // earlier than its pending time: moved up
    expect(q.len()).toBe(0);
    await jest.advanceTimersByTimeAsync(99);
    expect(q.len()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(await takeAll(q)).toEqual(['early']);
    await jest.advanceTimersByTimeAsync(50);
    expect(await takeAll(q)).toEqual(['late']);
    await jest.advanceTimersByTimeAsync(50);
    expect(await takeAll(q)).toEqual(['mid']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(q.len()).toBe(0);
  });

  it('addAfter with no delay adds at once', () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 0);
    expect(q.len()).toBe(1);
  });

  it('addRateLimited backs off exponentially per key up to the cap, and forget resets it', async () => {
    const q = new WorkQueue({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(5, 40) });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.len() === 0) {
        await jest.advanceTimersByTimeAsync(1);
        waited += 1;
      }
      delays.push(waited);
      await q.get();
      q.done('a');
    }
    expect(delays).toEqual([5, 10, 20, 40, 40, 40]);
    expect(q.numRequeues('a')).toBe(6);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('a');
    await jest.advanceTimersByTimeAsync(4);
    expect(q.len()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
  });

  it('shutDown wakes idle getters, ignores adds, drops parked keys but hands out queued ones', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('queued');
    q.addAfter('parked', 100);
    q.shutDown();
    q.add('ignored');
    expect(q.isShuttingDown()).toBe(true);
    await expect(q.get()).resolves.toBe('queued');
    await expect(q.get()).resolves.toBeUndefined();
    await jest.advanceTimersByTimeAsync(200);
    expect(q.len()).toBe(0);

    const idle = new WorkQueue({ name: 't2' });
    const waiting = idle.get();
    idle.shutDown();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('shutDownWithDrain waits for keys in processing to be done', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    q.done('a');
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('b');
    await p;
    expect(drained).toBe(true);
    await new WorkQueue({ name: 'empty' }).shutDownWithDrain();
  });

  it('reports controller-runtime workqueue metrics', async () => {
    const registry = new Registry();
    const q = new WorkQueue({
      name: 'demo',
      registry,
      rateLimiter: new ItemExponentialFailureRateLimiter(5, 40),
    });
    const other = new WorkQueue({ name: 'other', registry });
    q.add('a');
    q.add('a');
    q.add('b');
    other.add('z');
    await jest.advanceTimersByTimeAsync(2000);
    await q.get();
    await jest.advanceTimersByTimeAsync(3000);
    q.addRateLimited('c');
    const text = await registry.metrics();
    expect(text).toContain('workqueue_depth{name="demo",controller="demo"} 1');
    expect(text).toContain('workqueue_depth{name="other",controller="other"} 1');
    expect(text).toContain('workqueue_adds_total{name="demo",controller="demo"} 2');
    expect(text).toContain('workqueue_retries_total{name="demo",controller="demo"} 1');
    expect(text).toContain('workqueue_queue_duration_seconds_count{name="demo",controller="demo"} 1');
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="demo",controller="demo"} 2');
    expect(text).toContain('workqueue_unfinished_work_seconds{name="demo",controller="demo"} 3');
    expect(text).toContain('workqueue_longest_running_processor_seconds{name="demo",controller="demo"} 3');
    q.done('a');
    const after = await registry.metrics();
    expect(after).toContain('workqueue_work_duration_seconds_sum{name="demo",controller="demo"} 3');
    expect(after).toContain('workqueue_unfinished_work_seconds{name="demo",controller="demo"} 0');
    q.shutDown();
    other.shutDown();
  });
});
