// The results table of bench/report.ts, with the load before each driver's run next to its figures and busy runs
// marked. Pure functions (report.ts itself is a script that reads files and writes the doc), tested in
// bench/test/unit/report-format.test.ts.
import {
  BUSY_LOAD_PER_CORE,
  busyWarning,
  loadFigures,
  readLoadBefore,
  recordedBusy,
  type RecordedLoad,
} from './machine.ts';

/** The load a driver recorded before its run; `load` is undefined for results that did not record it. */
export interface DriverLoad {
  driver: string;
  load: RecordedLoad | undefined;
}

export interface Row {
  benchmark: string;
  figure: string;
  target: string;
  result: string;
  /** Which driver's run the figure comes from; absent where the driver left no result. */
  run?: DriverLoad;
}

/** A driver's recorded load from its parsed JSON result (tolerates results without the field). */
export function driverLoad(driver: string, result: { loadBefore?: unknown }): DriverLoad {
  return { driver, load: readLoadBefore(result.loadBefore) };
}

/** The table cell: the 1-minute load before the run and the cores, **busy** when the rule says so. */
export function loadCell(run: DriverLoad | undefined): string {
  if (run === undefined) return '—';
  const { load } = run;
  if (load === undefined) return 'not recorded';
  if (load.cpus === undefined) return `${load.load1.toFixed(2)} (cores not recorded)`;
  const text = `${load.load1.toFixed(2)} on ${load.cpus}`;
  return recordedBusy(load) ? `**busy**: ${text}` : text;
}

export function resultsTable(rows: readonly Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| benchmark | figure (medians) | target | result | load before the run (1 min, on cores) |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) => `| ${r.benchmark} | ${r.figure} | ${r.target} | ${r.result} | ${cell(loadCell(r.run))} |`,
    ),
  ].join('\n');
}

/** A list of the busy runs, one line per driver, for under the table; empty when no run was busy. */
export function busyNotes(rows: readonly Row[]): string[] {
  const busy = new Map<string, RecordedLoad>();
  for (const { run } of rows) {
    if (run?.load !== undefined && recordedBusy(run.load)) busy.set(run.driver, run.load);
  }
  if (busy.size === 0) return [];
  return [
    `Runs marked **busy** started on a busy machine (1-minute load average above ${BUSY_LOAD_PER_CORE} × cores ` +
      'before the driver started anything):',
    '',
    ...[...busy].map(([driver, load]) => `- ${driver}: **${busyWarning(load)}**.`),
  ];
}

/** The sentence under a driver's section heading: its load before the run, and the busy mark in bold. */
export function loadParagraph(load: RecordedLoad | undefined): string {
  if (load === undefined)
    return 'Load average before this run: not recorded (a result from before the drivers recorded it).';
  const text = `Load average before this run: ${loadFigures(load)}.`;
  if (!recordedBusy(load)) return text;
  const warning = busyWarning(load);
  return `${text} **${warning.charAt(0).toUpperCase()}${warning.slice(1)}.**`;
}
