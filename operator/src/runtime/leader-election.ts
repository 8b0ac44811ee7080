import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sleep } from '@obsdemo/base';
import { isKubeApiError, microTime } from './kube-http-client.js';
import type { KubeHttpClient, KubeObject, ObjectMeta } from './kube-http-client.js';
import { errorFields, silentLogger } from './logger.js';
import type { RuntimeLogger } from './logger.js';

/** coordination.k8s.io/v1 LeaseSpec (the fields leader election uses). */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: ObjectMeta;
  spec?: LeaseSpec;
}

/** Storage of one Lease; errors with statusCode 409 (KubeApiError) mean someone else wrote it first. */
export interface LeaseClient {
  readonly description: string;
  /** The Lease, or undefined when it does not exist. */
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  create(spec: LeaseSpec, signal?: AbortSignal): Promise<Lease>;
  /** Replaces the spec, guarded by `resourceVersion` (optimistic concurrency). */
  update(resourceVersion: string, spec: LeaseSpec, signal?: AbortSignal): Promise<Lease>;
}

/** A Lease in the apiserver. */
export class KubeLeaseClient implements LeaseClient {
  readonly description: string;
  private readonly path: string;

  constructor(
    private readonly client: KubeHttpClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.description = `${namespace}/${name}`;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  }

  async get(signal?: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.client.get<Lease>(
        `${this.path}/${encodeURIComponent(this.name)}`,
        signal ? { signal } : {},
      );
    } catch (error) {
      if (isKubeApiError(error, 404)) return undefined;
      throw error;
    }
  }

  async create(spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    return this.client.create<Lease>(this.path, this.lease(spec), signal ? { signal } : {});
  }

  async update(resourceVersion: string, spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    const body = this.lease(spec);
    body.metadata.resourceVersion = resourceVersion;
    return this.client.replace<Lease>(
      `${this.path}/${encodeURIComponent(this.name)}`,
      body,
      signal ? { signal } : {},
    );
  }

  private lease(spec: LeaseSpec): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec,
    };
  }
}

export type StoppedReason = 'lost' | 'stopped';

export interface LeaderCallbacks {
  /** Called once leadership is acquired; `signal` aborts when it ends (lost or stopped). */
  onStartedLeading(signal: AbortSignal): void;
  /**
   * Called when leadership ends, only if it was held: `lost` (renewal failed for renewDeadline, or another holder
   * took over) — the process must stop reconciling, normally by exiting — or `stopped` (stop() was called).
   */
  onStoppedLeading(reason: StoppedReason): void;
  /** Called whenever the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionOptions {
  lock: LeaseClient;
  /** Unique per process; defaultIdentity() when omitted. */
  identity?: string;
  /** How long a non-leader waits after the last observed change before taking over (15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failing renewal before giving up (10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts (2 s), jittered by up to 1.2× while acquiring. */
  retryPeriodMs?: number;
  /** On stop(), hand the Lease over at once instead of letting it expire (true). */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  logger?: RuntimeLogger;
  random?: () => number;
}

const JITTER_FACTOR = 1.2;

/** hostname + random suffix, so two processes on one host (or a restarted pod) never share an identity. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm: a candidate takes the Lease when
 * nobody holds it or when its record has not changed for leaseDuration by the candidate's own clock (so clock
 * skew between nodes does not matter); the leader renews every retryPeriod and gives up if it cannot renew for
 * renewDeadline, which is shorter than leaseDuration so that it stops before anyone else may start. Every write
 * carries the resourceVersion read just before: a 409 means another candidate won the race.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: RuntimeLogger;
  private readonly random: () => number;
  private readonly stopController = new AbortController();
  private observed: { lease: Lease | undefined; raw: string; at: number } | undefined;
  private reportedLeader: string | undefined;
  private leading = false;
  /** When the last successful acquire or renew started (local clock): the Lease is ours from then on. */
  private renewStartedAt = 0;
  private ended = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error('leaseDuration must be greater than renewDeadline');
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new Error(`renewDeadline must be greater than retryPeriod × ${JITTER_FACTOR}`);
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this replica may still act as leader at `now`: it leads, and its last successful renewal started less
   * than renewDeadline ago. Another candidate can take the Lease only leaseDuration after it saw that renewal, which
   * it cannot have seen before the renewal started; so a write begun while this holds leaves
   * leaseDuration - renewDeadline for it to land before anyone else may lead. It turns false by the clock alone,
   * even before the renew loop gives up and onStoppedLeading runs (client-go's renew loop cannot do better, hence
   * controller-runtime exits the process): check it right before each write.
   */
  holdsLease(now = Date.now()): boolean {
    return this.leading && now - this.renewStartedAt < this.renewDeadlineMs;
  }

  /** idle before run(), then campaigning ⇄ leading, and ended once run() has returned. */
  state(): 'idle' | 'campaigning' | 'leading' | 'ended' {
    if (this.ended) return 'ended';
    if (this.leading) return 'leading';
    return this.running ? 'campaigning' : 'idle';
  }

  /** The holder last observed in the Lease. */
  getLeader(): string | undefined {
    return this.reportedLeader;
  }

  /** Campaigns, then leads until leadership is lost or stop() is called. Resolves when it is over. */
  run(): Promise<void> {
    this.running ??= this.campaign().finally(() => {
      this.ended = true;
    });
    return this.running;
  }

  /** Stops campaigning or leading; releases the Lease if leading and releaseOnCancel. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private async campaign(): Promise<void> {
    const stop = this.stopController.signal;
    if (!(await this.acquire(stop))) return;
    const leadership = new AbortController();
    this.leading = true;
    this.logger.info('acquired leader lease', {
      lease: this.options.lock.description,
      identity: this.identity,
    });
    try {
      this.options.callbacks.onStartedLeading(leadership.signal);
    } catch (error) {
      this.logger.error('onStartedLeading failed', errorFields(error));
    }
    const lost = await this.renewLoop(stop);
    this.leading = false;
    leadership.abort();
    if (!lost && (this.options.releaseOnCancel ?? true)) await this.release();
    this.logger.info(lost ? 'lost leader lease' : 'stopped leading', {
      lease: this.options.lock.description,
      identity: this.identity,
    });
    this.options.callbacks.onStoppedLeading(lost ? 'lost' : 'stopped');
  }

  private async acquire(stop: AbortSignal): Promise<boolean> {
    while (!stop.aborted) {
      if (await this.tryAcquireOrRenew(stop)) return true;
      // client-go's wait.Jitter on a fixed period (not a backoff: it does not grow with failed attempts).
      await sleep(this.retryPeriodMs * (1 + JITTER_FACTOR * this.random()), stop);
    }
    return false;
  }

  // Returns true when leadership was lost, false when stopped.
  private async renewLoop(stop: AbortSignal): Promise<boolean> {
    while (!stop.aborted) {
      await sleep(this.retryPeriodMs, stop);
      if (stop.aborted) return false;
      const deadline = Date.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!stop.aborted && Date.now() < deadline) {
        const attempt = AbortSignal.any([stop, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
        if (await this.tryAcquireOrRenew(attempt)) {
          renewed = true;
          break;
        }
        if (this.reportedLeader !== undefined && this.reportedLeader !== this.identity) break;
        await sleep(Math.min(this.retryPeriodMs, Math.max(0, deadline - Date.now())), stop);
      }
      if (stop.aborted) return false;
      if (!renewed) return true;
    }
    return false;
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = Date.now();
    const lock = this.options.lock;
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const current = await lock.get(signal);
      if (current === undefined) {
        const created = await lock.create(spec, signal);
        this.observe(created, Date.now());
        this.renewStartedAt = now;
        return true;
      }
      this.observe(current, now);
      const holder = current.spec?.holderIdentity ?? '';
      const observedAt = this.observed?.at ?? now;
      if (holder !== '' && holder !== this.identity && observedAt + this.leaseDurationMs > now) {
        return false;
      }
      if (holder === this.identity) {
        spec.acquireTime = current.spec?.acquireTime ?? spec.acquireTime;
        spec.leaseTransitions = current.spec?.leaseTransitions ?? 0;
      } else {
        spec.leaseTransitions = (current.spec?.leaseTransitions ?? 0) + 1;
      }
      const updated = await lock.update(current.metadata.resourceVersion ?? '', spec, signal);
      this.observe(updated, Date.now());
      this.renewStartedAt = now;
      return true;
    } catch (error) {
      if (!isKubeApiError(error, 409) && !signal.aborted) {
        this.logger.warn('leader lease request failed', { lease: lock.description, ...errorFields(error) });
      }
      return false;
    }
  }

  // The local time at which the Lease record last changed is what expiry is measured from (client-go).
  private observe(lease: Lease, at: number): void {
    const raw = JSON.stringify(lease.spec ?? {});
    if (this.observed?.raw !== raw) this.observed = { lease, raw, at };
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.options.callbacks.onNewLeader?.(holder);
      } catch (error) {
        this.logger.error('onNewLeader failed', errorFields(error));
      }
    }
  }

  private async release(): Promise<void> {
    const lock = this.options.lock;
    try {
      const current = await lock.get();
      if (current?.spec?.holderIdentity !== this.identity) return;
      const now = microTime(Date.now());
      await lock.update(current.metadata.resourceVersion ?? '', {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.spec.leaseTransitions ?? 0,
      });
    } catch (error) {
      this.logger.warn('failed to release leader lease', { lease: lock.description, ...errorFields(error) });
    }
  }
}
