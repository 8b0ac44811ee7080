import { describe, expect, it } from '@jest/globals';
import {
  BUSY_LOAD_PER_CORE,
  busyWarning,
  describeLoad,
  isBusy,
  loadBefore,
  readLoadBefore,
  recordedBusy,
} from '../../machine.ts';

describe('loadBefore', () => {
  it('records the 1, 5 and 15 minute load averages and the cores', () => {
    expect(
      loadBefore(
        () => [3.2, 2.1, 1.5],
        () => 2,
      ),
    ).toEqual({ load1: 3.2, load5: 2.1, load15: 1.5, cpus: 2 });
  });

  it("reads this machine's figures by default", () => {
    const load = loadBefore();
    expect(load.cpus).toBeGreaterThanOrEqual(1);
    for (const v of [load.load1, load.load5, load.load15]) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('isBusy', () => {
  it(`is busy above ${BUSY_LOAD_PER_CORE} × cores of 1-minute load, quiet at or below it`, () => {
    expect(isBusy(1.01, 2)).toBe(true);
    expect(isBusy(3.2, 2)).toBe(true);
    expect(isBusy(1, 2)).toBe(false);
    expect(isBusy(0.08, 2)).toBe(false);
    expect(isBusy(3.9, 8)).toBe(false);
    expect(isBusy(4.1, 8)).toBe(true);
  });
});

describe('readLoadBefore', () => {
  it('reads the recorded object', () => {
    expect(readLoadBefore({ load1: 3.2, load5: 2.1, load15: 1.5, cpus: 2 })).toEqual({
      load1: 3.2,
      load5: 2.1,
      load15: 1.5,
      cpus: 2,
    });
  });

  it("reads collector.json's older bare array, without cores", () => {
    const load = readLoadBefore([5.02, 9.25, 10.7]);
    expect(load).toEqual({ load1: 5.02, load5: 9.25, load15: 10.7 });
    expect(recordedBusy(load!)).toBeUndefined();
  });

  it('is undefined for results that did not record it or recorded something else', () => {
    expect(readLoadBefore(undefined)).toBeUndefined();
    expect(readLoadBefore(null)).toBeUndefined();
    expect(readLoadBefore('3.2')).toBeUndefined();
    expect(readLoadBefore([1, 2])).toBeUndefined();
    expect(readLoadBefore({ load1: 'x', load5: 1, load15: 1, cpus: 2 })).toBeUndefined();
  });

  it('drops a core count that is not a positive number', () => {
    expect(readLoadBefore({ load1: 1, load5: 1, load15: 1, cpus: 0 })).toEqual({
      load1: 1,
      load5: 1,
      load15: 1,
    });
  });
});

describe('describeLoad', () => {
  it('gives the figures of a quiet run', () => {
    expect(describeLoad({ load1: 0.08, load5: 0.64, load15: 1.27, cpus: 2 })).toBe(
      'load average before the run: 0.08, 0.64, 1.27 (1, 5, 15 min) on 2 cores',
    );
  });

  it('marks a busy run', () => {
    const load = { load1: 3.2, load5: 2.1, load15: 1.5, cpus: 2 };
    expect(describeLoad(load)).toBe(
      'load average before the run: 3.20, 2.10, 1.50 (1, 5, 15 min) on 2 cores — ' +
        'busy machine: load 3.2 on 2 cores before the run (above 0.5 × cores); ' +
        'figures are not comparable to a quiet run',
    );
    expect(describeLoad(load)).toContain(busyWarning(load));
  });

  it('says when the cores were not recorded, and does not judge', () => {
    expect(describeLoad({ load1: 7.19, load5: 7.92, load15: 9.54 })).toBe(
      'load average before the run: 7.19, 7.92, 9.54 (1, 5, 15 min) (cores not recorded)',
    );
  });
});
