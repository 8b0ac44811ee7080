import { describe, expect, it } from '@jest/globals';
import { EventAggregator, EventRecorder, eventKey, referenceTo } from '../../../src/runtime/events.js';
import type { KubeHttpClient } from '../../../src/runtime/kube-http-client.js';
import type { EventRecord } from '../../../src/runtime/events.js';

const demo = {
  apiVersion: 'obsdemo.dev/v1alpha1',
  kind: 'ObservabilityDemo',
  metadata: { name: 'd', namespace: 'ns', uid: 'u1' },
};

function ev(reason: string, note = 'n'): EventRecord {
  return { regarding: referenceTo(demo), type: 'Warning', reason, action: 'Apply', note };
}

describe('EventAggregator', () => {
  it('creates the first occurrence and turns repetitions into a throttled series on the same Event', () => {
    let now = 1_000_000;
    const agg = new EventAggregator({ now: () => now, minPatchIntervalMs: 10_000 });
    const key = eventKey(ev('ApplyFailed'));
    const first = agg.observe(key, 'd', 'ns');
    expect(first).toMatchObject({ op: 'create', eventTime: now });
    if (first.op !== 'create') throw new Error('expected create');
    expect(first.name).toMatch(/^d\.[0-9a-f]+$/);
    now += 1000;
    expect(agg.observe(key, 'd', 'ns')).toEqual({ op: 'none' });
    now += 1000;
    expect(agg.observe(key, 'd', 'ns')).toEqual({ op: 'none' });
    expect(agg.due()).toEqual([]);
    now += 8000;
    expect(agg.due()).toEqual([
      { key, namespace: 'ns', name: first.name, count: 3, lastObservedTime: now - 8000 },
    ]);
    expect(agg.due()).toEqual([]);
    now += 10_000;
    expect(agg.observe(key, 'd', 'ns')).toEqual({
      op: 'patch',
      name: first.name,
      count: 4,
      lastObservedTime: now,
    });
  });

  it('keeps different reasons, notes and objects apart', () => {
    const agg = new EventAggregator({ now: () => 0 });
    const ops = [ev('A'), ev('B'), ev('A', 'other note')].map((e) => agg.observe(eventKey(e), 'd', 'ns').op);
    expect(ops).toEqual(['create', 'create', 'create']);
    const other = { ...ev('A'), regarding: { ...referenceTo(demo), uid: 'u2' } };
    expect(agg.observe(eventKey(other), 'd', 'ns').op).toBe('create');
    expect(agg.observe(eventKey(ev('A')), 'd', 'ns').op).toBe('none');
  });

  it('starts a new Event after the window, and after forget', () => {
    let now = 0;
    const agg = new EventAggregator({ now: () => now, windowMs: 360_000 });
    const key = eventKey(ev('A'));
    const a = agg.observe(key, 'd', 'ns');
    now = 360_001;
    const b = agg.observe(key, 'd', 'ns');
    expect(b.op).toBe('create');
    expect(b).not.toEqual(a);
    agg.forget(key);
    expect(agg.observe(key, 'd', 'ns').op).toBe('create');
  });

  it('flushes every batched repetition on demand and bounds its memory', () => {
    const agg = new EventAggregator({ now: () => 5, maxEntries: 2 });
    for (const r of ['A', 'B', 'C']) agg.observe(eventKey(ev(r)), 'd', 'ns');
    expect(agg.size).toBe(2);
    agg.observe(eventKey(ev('C')), 'd', 'ns');
    expect(agg.due(true).map((p) => p.count)).toEqual([2]);
  });

  it('names Events uniquely even within one millisecond', () => {
    const agg = new EventAggregator({ now: () => 42 });
    const names = new Set(
      ['A', 'B', 'C', 'D'].map((r) => {
        const d = agg.observe(eventKey(ev(r)), 'd', 'ns');
        return d.op === 'create' ? d.name : '';
      }),
    );
    expect(names.size).toBe(4);
  });
});

describe('EventRecorder', () => {
  it('asks mayWrite right before each write and drops the Event when it says no', async () => {
    const created: string[] = [];
    const client = {
      create: async (_path: string, body: { reason: string }) => {
        created.push(body.reason);
        return body;
      },
    } as unknown as KubeHttpClient;
    let leader = true;
    const recorder = new EventRecorder(client, { reportingInstance: 'r', mayWrite: () => leader });
    recorder.event(demo, 'Normal', 'Applied', 'Apply', 'one');
    // Decided while leading, but leadership ends before the write goes out.
    leader = false;
    recorder.event(demo, 'Warning', 'ApplyFailed', 'Apply', 'two');
    await recorder.flush();
    expect(created).toEqual([]);
    leader = true;
    recorder.event(demo, 'Normal', 'Ready', 'Reconcile', 'three');
    await recorder.stop();
    expect(created).toEqual(['Ready']);
  });
});
