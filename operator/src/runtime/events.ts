import { isKubeApiError, microTime } from './kube-http-client.js';
import type { KubeHttpClient, KubeObject } from './kube-http-client.js';
import { errorFields, silentLogger } from './logger.js';
import type { RuntimeLogger } from './logger.js';

export const REPORTING_CONTROLLER = 'obsdemo.dev/operator';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventRecord {
  regarding: ObjectReference;
  type: EventType;
  /** Why the action was taken, UpperCamelCase (e.g. `ApplyFailed`). */
  reason: string;
  /** What was done, UpperCamelCase (e.g. `Apply`). */
  action: string;
  /** Human-readable; at most 1 kB is kept. */
  note: string;
}

export type EventDecision =
  | { op: 'create'; name: string; eventTime: number }
  | { op: 'patch'; name: string; count: number; lastObservedTime: number }
  | { op: 'none' };

export interface PendingPatch {
  key: string;
  namespace: string;
  name: string;
  count: number;
  lastObservedTime: number;
}

export interface AggregatorOptions {
  /** An identical event after this long without one starts a new Event (client-go: 6 min). */
  windowMs?: number;
  /** A repeated event patches the Event's series at most this often; repetitions in between are batched. */
  minPatchIntervalMs?: number;
  /** Entries remembered at most (oldest forgotten first). */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  namespace: string;
  name: string;
  count: number;
  lastObserved: number;
  lastWrite: number;
  pending: boolean;
}

/** The identity of an event for aggregation: same object, type, reason, action and note. */
export function eventKey(e: EventRecord): string {
  const r = e.regarding;
  return JSON.stringify([
    r.uid ?? '',
    r.kind ?? '',
    r.namespace ?? '',
    r.name ?? '',
    e.type,
    e.reason,
    e.action,
    e.note,
  ]);
}

/**
 * Decides what to write for each event, the way events.k8s.io/v1 expects: the first occurrence creates an
 * Event, identical ones within the window become a `series` (count, lastObservedTime) on that same Event, and
 * series updates are throttled so a hot loop cannot flood the apiserver with Event writes.
 */
export class EventAggregator {
  private readonly entries = new Map<string, Entry>();
  private readonly windowMs: number;
  private readonly minPatchIntervalMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private sequence = 0;

  constructor(options: AggregatorOptions = {}) {
    this.windowMs = options.windowMs ?? 6 * 60_000;
    this.minPatchIntervalMs = options.minPatchIntervalMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 4096;
    this.now = options.now ?? Date.now;
  }

  observe(key: string, regardingName: string, namespace: string): EventDecision {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry === undefined || now - entry.lastObserved > this.windowMs) {
      // The series of an older entry that still had batched repetitions is dropped with it: the window closed.
      this.entries.delete(key);
      const name = `${regardingName}.${this.uniqueSuffix(now)}`;
      this.entries.set(key, { namespace, name, count: 1, lastObserved: now, lastWrite: now, pending: false });
      this.evict();
      return { op: 'create', name, eventTime: now };
    }
    entry.count += 1;
    entry.lastObserved = now;
    if (now - entry.lastWrite >= this.minPatchIntervalMs) {
      entry.lastWrite = now;
      entry.pending = false;
      return { op: 'patch', name: entry.name, count: entry.count, lastObservedTime: now };
    }
    entry.pending = true;
    return { op: 'none' };
  }

  /** Batched series updates whose throttle interval has passed (or all of them with `all`). */
  due(all = false): PendingPatch[] {
    const now = this.now();
    const out: PendingPatch[] = [];
    for (const [key, entry] of this.entries) {
      if (!entry.pending || (!all && now - entry.lastWrite < this.minPatchIntervalMs)) continue;
      entry.pending = false;
      entry.lastWrite = now;
      out.push({
        key,
        namespace: entry.namespace,
        name: entry.name,
        count: entry.count,
        lastObservedTime: entry.lastObserved,
      });
    }
    return out;
  }

  /** Forgets a key whose Event is gone (expired by the apiserver's TTL): the next occurrence creates a new one. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  // client-go names Events `<object>.<unix nanos in hex>`; a sequence keeps names unique within one millisecond.
  private uniqueSuffix(now: number): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return (BigInt(now) * 1_000_000n + BigInt(this.sequence)).toString(16);
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) return;
      this.entries.delete(oldest);
    }
  }
}

export interface EventRecorderOptions extends AggregatorOptions {
  /** This process (e.g. the leader-election identity); required by events.k8s.io/v1. */
  reportingInstance: string;
  reportingController?: string;
  logger?: RuntimeLogger;
  /**
   * Asked before each write: false drops it (logged at debug). With leader election, whether this replica still
   * holds the Lease, so no Event is written after leadership ended.
   */
  mayWrite?: () => boolean;
}

export function referenceTo(obj: KubeObject): ObjectReference {
  const m = obj.metadata ?? {};
  return {
    ...(obj.apiVersion !== undefined ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind !== undefined ? { kind: obj.kind } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
  };
}

/**
 * Records events.k8s.io/v1 Events about objects. Recording never blocks nor fails the caller: writes happen in
 * the background (in order per Event) and failures are logged. Needs RBAC create and patch on
 * events.events.k8s.io in the regarding object's namespace.
 */
export class EventRecorder {
  private readonly aggregator: EventAggregator;
  private readonly logger: RuntimeLogger;
  private readonly controller: string;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: KubeHttpClient,
    private readonly options: EventRecorderOptions,
  ) {
    this.aggregator = new EventAggregator(options);
    this.logger = options.logger ?? silentLogger;
    this.controller = options.reportingController ?? REPORTING_CONTROLLER;
    this.timer = setInterval(() => this.writeDue(false), options.minPatchIntervalMs ?? 10_000);
    this.timer.unref();
  }

  event(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    this.record({ regarding: referenceTo(regarding), type, reason, action, note: note.slice(0, 1024) });
  }

  record(e: EventRecord): void {
    const key = eventKey(e);
    const namespace = e.regarding.namespace ?? 'default';
    const decision = this.aggregator.observe(key, e.regarding.name ?? 'unknown', namespace);
    if (decision.op === 'create') {
      this.enqueue(key, () =>
        this.client.create(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: decision.name, namespace },
          eventTime: microTime(decision.eventTime),
          reportingController: this.controller,
          reportingInstance: this.options.reportingInstance,
          action: e.action,
          reason: e.reason,
          regarding: e.regarding,
          note: e.note,
          type: e.type,
        }),
      );
    } else if (decision.op === 'patch') {
      this.enqueue(key, () =>
        this.patchSeries(namespace, decision.name, decision.count, decision.lastObservedTime),
      );
    }
  }

  /** Writes batched series updates now and waits for every write in flight. */
  async flush(): Promise<void> {
    this.writeDue(true);
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private writeDue(all: boolean): void {
    for (const p of this.aggregator.due(all)) {
      this.enqueue(p.key, () => this.patchSeries(p.namespace, p.name, p.count, p.lastObservedTime));
    }
  }

  private async patchSeries(
    namespace: string,
    name: string,
    count: number,
    lastObserved: number,
  ): Promise<unknown> {
    return this.client.patch(
      `/apis/events.k8s.io/v1/namespaces/${namespace}/events/${encodeURIComponent(name)}`,
      { series: { count, lastObservedTime: microTime(lastObserved) } },
      'application/merge-patch+json',
    );
  }

  private enqueue(key: string, write: () => Promise<unknown>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => {
        if (this.options.mayWrite?.() === false) {
          this.logger.debug('event not written: this replica may not write now', { event_key: key });
          return undefined;
        }
        return write();
      })
      .then(
        () => undefined,
        (error: unknown) => {
          if (isKubeApiError(error, 404)) this.aggregator.forget(key);
          this.logger.warn('failed to record event', { event_key: key, ...errorFields(error) });
        },
      )
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }
}
