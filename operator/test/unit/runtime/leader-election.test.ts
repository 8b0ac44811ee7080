import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { KubeApiError } from '../../../src/runtime/kube-http-client.js';
import { LeaderElector, defaultIdentity } from '../../../src/runtime/leader-election.js';
import type { Lease, LeaseClient, LeaseSpec, StoppedReason } from '../../../src/runtime/leader-election.js';

/** One Lease in memory with the apiserver's optimistic concurrency. */
class FakeLeaseStore {
  lease: Lease | undefined;
  private rv = 0;
  failing = false;
  writes = 0;

  client(): LeaseClient {
    return {
      description: 'test/lease',
      get: async () => {
        this.check();
        return this.lease && structuredClone(this.lease);
      },
      create: async (spec) => {
        this.check();
        if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
        return this.write(spec);
      },
      update: async (resourceVersion, spec) => {
        this.check();
        if (this.lease?.metadata.resourceVersion !== resourceVersion) {
          throw new KubeApiError(409, 'Conflict', 'the object has been modified');
        }
        return this.write(spec);
      },
    };
  }

  write(spec: LeaseSpec): Lease {
    this.writes += 1;
    this.rv += 1;
    this.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'lease', namespace: 'test', resourceVersion: String(this.rv) },
      spec: structuredClone(spec),
    };
    return structuredClone(this.lease);
  }

  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }

  private check(): void {
    if (this.failing) throw new Error('connection refused');
  }
}

interface Candidate {
  elector: LeaderElector;
  events: string[];
  signal: () => AbortSignal | undefined;
  done: Promise<void>;
}

const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidate(store: FakeLeaseStore, identity: string, releaseOnCancel = true): Candidate {
  const events: string[] = [];
  let leadership: AbortSignal | undefined;
  const elector = new LeaderElector({
    lock: store.client(),
    identity,
    ...TIMINGS,
    releaseOnCancel,
    random: () => 0,
    callbacks: {
      onStartedLeading: (signal) => {
        leadership = signal;
        events.push('started');
      },
      onStoppedLeading: (reason: StoppedReason) => events.push(`stopped:${reason}`),
      onNewLeader: (id) => events.push(`leader:${id}`),
    },
  });
  return { elector, events, signal: () => leadership, done: elector.run() };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('LeaderElector', () => {
  it('creates the Lease when nobody holds it, then renews it every retryPeriod', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    await jest.advanceTimersByTimeAsync(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started']);
    expect(store.holder()).toBe('a');
    expect(store.lease?.spec?.leaseDurationSeconds).toBe(15);
    const firstRenew = store.lease?.spec?.renewTime;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(store.lease?.spec?.renewTime).not.toBe(firstRenew);
    expect(store.lease?.spec?.acquireTime).toBe(store.lease?.spec?.acquireTime);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(store.writes).toBe(1 + 11);
    expect(store.lease?.spec?.leaseTransitions).toBe(0);
    await a.elector.stop();
  });

  it('a second candidate waits while the leader renews, and takes over leaseDuration after it crashed', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a', false);
    await jest.advanceTimersByTimeAsync(0);
    const b = candidate(store, 'b');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.getLeader()).toBe('a');
    expect(b.events).toEqual(['leader:a']);

    // A crash: the renew loop stops, nothing is released.
    await a.elector.stop();
    expect(store.holder()).toBe('a');
    const crashedAt = Date.now();
    while (!b.elector.isLeader()) await jest.advanceTimersByTimeAsync(100);
    const waited = Date.now() - crashedAt;
    // B measures expiry from when it last saw the record change (its own clock), polling every 2 s × (1 + jitter).
    expect(waited).toBeGreaterThanOrEqual(15_000 - 2_000);
    expect(waited).toBeLessThanOrEqual(15_000 + 2_000);
    expect(store.holder()).toBe('b');
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    expect(b.events).toEqual(['leader:a', 'leader:b', 'started']);
    await b.elector.stop();
  });

  it('releases the Lease on stop so another candidate takes over at its next attempt', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    await jest.advanceTimersByTimeAsync(0);
    const b = candidate(store, 'b');
    await jest.advanceTimersByTimeAsync(5_000);
    await a.elector.stop();
    expect(a.events).toEqual(['leader:a', 'started', 'stopped:stopped']);
    expect(a.signal()?.aborted).toBe(true);
    expect(store.holder()).toBe('');
    expect(store.lease?.spec?.leaseDurationSeconds).toBe(1);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(b.elector.isLeader()).toBe(true);
    await b.elector.stop();
  });

  it('gives up leadership when it cannot renew for renewDeadline', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    await jest.advanceTimersByTimeAsync(0);
    store.failing = true;
    const failedAt = Date.now();
    await jest.advanceTimersByTimeAsync(2_000 + 9_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.signal()?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(2_000);
    await a.done;
    expect(Date.now() - failedAt).toBeLessThan(15_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signal()?.aborted).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped:lost']);
  });

  it('holds the Lease for writing only until renewDeadline after the last renewal began, before a standby may take it', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a', false);
    await jest.advanceTimersByTimeAsync(0);
    const b = candidate(store, 'b');
    await jest.advanceTimersByTimeAsync(4_000);
    expect(a.elector.holdsLease()).toBe(true);
    // The renewal at 4 s was the last to succeed.
    store.failing = true;
    const lastRenewal = Date.now();
    await jest.advanceTimersByTimeAsync(10_000 - 1);
    expect(a.elector.holdsLease()).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    // Not yet given up (the renew loop's deadline counts from its next attempt), but no longer fit to write.
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.holdsLease()).toBe(false);
    store.failing = false;
    // The standby may take over only leaseDuration after it saw that renewal.
    while (!b.elector.isLeader()) await jest.advanceTimersByTimeAsync(100);
    expect(Date.now() - lastRenewal).toBeGreaterThanOrEqual(15_000);
    expect(a.elector.holdsLease()).toBe(false);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('survives a transient renewal failure shorter than renewDeadline', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    await jest.advanceTimersByTimeAsync(0);
    store.failing = true;
    await jest.advanceTimersByTimeAsync(6_000);
    store.failing = false;
    await jest.advanceTimersByTimeAsync(30_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started']);
    await a.elector.stop();
  });

  it('stops leading at once when another holder has written the Lease', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    await jest.advanceTimersByTimeAsync(0);
    store.write({ holderIdentity: 'usurper', leaseDurationSeconds: 15, leaseTransitions: 1 });
    await jest.advanceTimersByTimeAsync(2_000);
    await a.done;
    expect(a.events).toEqual(['leader:a', 'started', 'leader:usurper', 'stopped:lost']);
    expect(store.holder()).toBe('usurper');
  });

  it('loses the race on a resourceVersion conflict and tries again', async () => {
    const store = new FakeLeaseStore();
    store.write({ holderIdentity: '', leaseDurationSeconds: 1 });
    const client = store.client();
    let conflicts = 1;
    const racy: LeaseClient = {
      ...client,
      update: async (rv, spec) => {
        if (conflicts-- > 0) store.write({ holderIdentity: '', leaseDurationSeconds: 1 });
        return client.update(rv, spec);
      },
    };
    const events: string[] = [];
    const elector = new LeaderElector({
      lock: racy,
      identity: 'a',
      ...TIMINGS,
      random: () => 0,
      callbacks: {
        onStartedLeading: () => events.push('started'),
        onStoppedLeading: () => events.push('stopped'),
      },
    });
    void elector.run();
    await jest.advanceTimersByTimeAsync(0);
    expect(elector.isLeader()).toBe(false);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(elector.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
    await elector.stop();
  });

  it('rejects timings where the leader could outlive its lease', () => {
    const lock = new FakeLeaseStore().client();
    const callbacks = { onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(
      () => new LeaderElector({ lock, callbacks, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    ).toThrow('leaseDuration must be greater than renewDeadline');
    expect(
      () => new LeaderElector({ lock, callbacks, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toThrow('renewDeadline must be greater than retryPeriod');
  });

  it('defaults the identity to the hostname plus a random suffix', () => {
    const a = defaultIdentity();
    expect(a).toMatch(/^.+_[0-9a-f]{8}$/);
    expect(defaultIdentity()).not.toBe(a);
  });
});
