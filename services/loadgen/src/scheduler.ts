import type { Scenario } from './mix.js';

export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): NodeJS.Timeout;
  clearInterval(handle: NodeJS.Timeout): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle),
};

export interface SchedulerOptions {
  rps: number;
  maxInFlight: number;
  /** Stop after this long; undefined runs until stop(). */
  durationMs?: number;
  pick: () => Scenario;
  /** Runs one request; must not reject (outcomes are the runner's to count). */
  send: (scenario: Scenario) => Promise<void>;
  onDropped: (scenario: Scenario) => void;
  onFinished?: () => void;
  clock?: Clock;
}

/**
 * Open-loop load: send k happens at k/rps seconds after start, whatever the target does. Each tick sends every
 * request that has come due since the last one, so timer jitter shifts sends slightly but never changes how
 * many there are. A send that would exceed the in-flight cap is dropped and counted instead of queued, which
 * is what keeps a slow target from slowing the load down (the coordinated-omission trap of closed loops).
 */
export class OpenLoopScheduler {
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private due = 0;
  private inFlightCount = 0;
  private idleWaiters: (() => void)[] = [];
  private droppedCount = 0;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get scheduled(): number {
    return this.due;
  }
  get dropped(): number {
    return this.droppedCount;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }
  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer !== undefined || this.options.rps <= 0) return;
    this.startedAt = this.clock.now();
    // Ticks at least every 100 ms so sends stay spread out at low rates and batched at most 100 ms at high ones.
    const tickMs = Math.max(1, Math.min(100, Math.floor(1000 / this.options.rps)));
    this.timer = this.clock.setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer === undefined) return;
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves true once nothing is in flight, or false when the deadline passes first. */
  drain(deadlineMs: number): Promise<boolean> {
    if (this.inFlightCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private tick(): void {
    const limit = this.options.durationMs ?? Number.POSITIVE_INFINITY;
    const elapsed = Math.min(this.clock.now() - this.startedAt, limit);
    const dueNow = Math.floor((elapsed * this.options.rps) / 1000 + 1e-9);
    while (this.due < dueNow) {
      this.due++;
      this.fire(this.options.pick());
    }
    if (elapsed >= limit) {
      this.stop();
      this.options.onFinished?.();
    }
  }

  private fire(scenario: Scenario): void {
    if (this.inFlightCount >= this.options.maxInFlight) {
      this.droppedCount++;
      this.options.onDropped(scenario);
      return;
    }
    this.inFlightCount++;
    void this.options
      .send(scenario)
      .catch(() => undefined)
      .finally(() => {
        this.inFlightCount--;
        if (this.inFlightCount === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }
}
