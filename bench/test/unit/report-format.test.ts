import { describe, expect, it } from '@jest/globals';
import {
  busyNotes,
  driverLoad,
  loadCell,
  loadParagraph,
  resultsTable,
  type Row,
} from '../../report-format.ts';

const quiet = { load1: 0.3, load5: 0.5, load15: 0.7, cpus: 2 };
const busy = { load1: 3.2, load5: 2.1, load15: 1.5, cpus: 2 };
const row = (benchmark: string, run?: Row['run']): Row => ({
  benchmark,
  figure: '1 ms',
  target: '≤ 2 ms',
  result: 'met',
  ...(run ? { run } : {}),
});

describe('driverLoad', () => {
  it("takes the driver's recorded load, or none from an older result", () => {
    expect(driverLoad('bench/http.ts', { loadBefore: busy })).toEqual({
      driver: 'bench/http.ts',
      load: busy,
    });
    expect(driverLoad('bench/http.ts', {})).toEqual({ driver: 'bench/http.ts', load: undefined });
  });
});

describe('loadCell', () => {
  it('shows the 1-minute load and the cores, and marks a busy run', () => {
    expect(loadCell({ driver: 'd', load: quiet })).toBe('0.30 on 2');
    expect(loadCell({ driver: 'd', load: busy })).toBe('**busy**: 3.20 on 2');
  });

  it('keeps older results and failed drivers apart', () => {
    expect(loadCell({ driver: 'd', load: undefined })).toBe('not recorded');
    expect(loadCell({ driver: 'd', load: { load1: 5, load5: 5, load15: 5 } })).toBe(
      '5.00 (cores not recorded)',
    );
    expect(loadCell(undefined)).toBe('—');
  });
});

describe('resultsTable', () => {
  it('puts the load before the run next to each figure', () => {
    const table = resultsTable([
      row('http', { driver: 'bench/http.ts', load: busy }),
      row('pipeline', { driver: 'bench/pipeline.ts', load: quiet }),
      row('old', { driver: 'bench/operator.ts', load: undefined }),
      row('failed'),
    ]).split('\n');
    expect(table[0]).toBe(
      '| benchmark | figure (medians) | target | result | load before the run (1 min, on cores) |',
    );
    expect(table[1]).toBe('|---|---|---|---|---|');
    expect(table.slice(2)).toEqual([
      '| http | 1 ms | ≤ 2 ms | met | **busy**: 3.20 on 2 |',
      '| pipeline | 1 ms | ≤ 2 ms | met | 0.30 on 2 |',
      '| old | 1 ms | ≤ 2 ms | met | not recorded |',
      '| failed | 1 ms | ≤ 2 ms | met | — |',
    ]);
  });
});

describe('busyNotes', () => {
  it('lists each busy driver once, with the warning', () => {
    const http = { driver: 'bench/http.ts', load: busy };
    expect(
      busyNotes([
        row('a', http),
        row('b', http),
        row('c', { driver: 'bench/pipeline.ts', load: quiet }),
        row('d'),
      ]),
    ).toEqual([
      'Runs marked **busy** started on a busy machine (1-minute load average above 0.5 × cores before the driver started anything):',
      '',
      '- bench/http.ts: **busy machine: load 3.2 on 2 cores before the run (above 0.5 × cores); figures are not comparable to a quiet run**.',
    ]);
  });

  it('is empty when no run was busy or none recorded its load', () => {
    expect(
      busyNotes([row('a', { driver: 'd', load: quiet }), row('b', { driver: 'e', load: undefined })]),
    ).toEqual([]);
  });
});

describe('loadParagraph', () => {
  it("states a quiet run's load", () => {
    expect(loadParagraph(quiet)).toBe(
      'Load average before this run: 0.30, 0.50, 0.70 (1, 5, 15 min) on 2 cores.',
    );
  });

  it('marks a busy run in bold', () => {
    expect(loadParagraph(busy)).toBe(
      'Load average before this run: 3.20, 2.10, 1.50 (1, 5, 15 min) on 2 cores. ' +
        '**Busy machine: load 3.2 on 2 cores before the run (above 0.5 × cores); figures are not comparable to a quiet run.**',
    );
  });

  it('says so when an older result did not record it', () => {
    expect(loadParagraph(undefined)).toBe(
      'Load average before this run: not recorded (a result from before the drivers recorded it).',
    );
  });
});
