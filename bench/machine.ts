// The state of the machine before a benchmark driver starts anything: the load average and the cores. Every
// driver records it as `loadBefore` in its JSON result, and bench/report.ts shows it next to the driver's figures
// and marks a run that started on a busy machine. Recording only: nothing here, or in the tests, asserts a time.
import { availableParallelism, loadavg } from 'node:os';

/** What a driver records as `loadBefore` in its result. */
export interface LoadBefore {
  /** Load averages over 1, 5 and 15 minutes (`os.loadavg()`, i.e. /proc/loadavg) just before the run. */
  load1: number;
  load5: number;
  load15: number;
  /** Cores this process may use (`os.availableParallelism()`, like `nproc`). */
  cpus: number;
}

/** A recorded load as the report reads it: results written before `cpus` was recorded have no core count. */
export type RecordedLoad = Omit<LoadBefore, 'cpus'> & { cpus?: number };

/** Call first thing in a driver, before it starts any process: the load then is other work's, not the run's. */
export function loadBefore(
  averages: () => number[] = loadavg,
  cores: () => number = availableParallelism,
): LoadBefore {
  const [load1 = NaN, load5 = NaN, load15 = NaN] = averages();
  return { load1, load5, load15, cpus: cores() };
}

/**
 * Busy: the 1-minute load average before the run is above half the cores (`BUSY_LOAD_PER_CORE` × cores), i.e.
 * other work already kept more than half the CPU busy when the driver started. The drivers saturate the cores
 * themselves, so such a run shares the CPU with that work: its rates are lower and its latencies higher than on a
 * quiet machine, by an amount the run cannot tell. The 1-minute figure is the one that describes the run's start;
 * the 5- and 15-minute ones are recorded for context.
 */
export const BUSY_LOAD_PER_CORE = 0.5;

export function isBusy(load: number, cpus: number): boolean {
  return load > BUSY_LOAD_PER_CORE * cpus;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Reads a result's `loadBefore`: the object above; the bare `[1, 5, 15 min]` array collector.json had before
 * (no core count); anything else, including a missing field (results from before this was recorded), is undefined.
 */
export function readLoadBefore(value: unknown): RecordedLoad | undefined {
  if (Array.isArray(value)) {
    const [load1, load5, load15] = value as unknown[];
    return finite(load1) && finite(load5) && finite(load15) ? { load1, load5, load15 } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { load1, load5, load15, cpus } = value as Record<string, unknown>;
  if (!finite(load1) || !finite(load5) || !finite(load15)) return undefined;
  return finite(cpus) && cpus > 0 ? { load1, load5, load15, cpus } : { load1, load5, load15 };
}

/** Whether a recorded load marks the run as busy; undefined when the core count was not recorded. */
export function recordedBusy(load: RecordedLoad): boolean | undefined {
  return load.cpus === undefined ? undefined : isBusy(load.load1, load.cpus);
}

const cores = (n: number) => `${n} ${n === 1 ? 'core' : 'cores'}`;

/** The recorded figures, e.g. "3.20, 2.10, 1.50 (1, 5, 15 min) on 2 cores". */
export function loadFigures(load: RecordedLoad): string {
  const averages = `${load.load1.toFixed(2)}, ${load.load5.toFixed(2)}, ${load.load15.toFixed(2)} (1, 5, 15 min)`;
  return `${averages} ${load.cpus === undefined ? '(cores not recorded)' : `on ${cores(load.cpus)}`}`;
}

/** One line for a driver's log: the figures, and the busy mark when the rule says so. */
export function describeLoad(load: RecordedLoad): string {
  const busy = recordedBusy(load) ? ` — ${busyWarning(load)}` : '';
  return `load average before the run: ${loadFigures(load)}${busy}`;
}

/** The mark of a busy run, e.g. "busy machine: load 3.2 on 2 cores before the run; figures are not comparable …". */
export function busyWarning(load: RecordedLoad): string {
  const on = load.cpus === undefined ? '' : ` on ${cores(load.cpus)}`;
  return (
    `busy machine: load ${load.load1.toFixed(1)}${on} before the run (above ${BUSY_LOAD_PER_CORE} × cores); ` +
    'figures are not comparable to a quiet run'
  );
}
