import { describe, it, expect } from '@jest/globals';
import { poolStats } from '../../src/database.js';

describe('poolStats', () => {
  it('maps the sequelize-pool counters onto the metric fields', () => {
    const manager = { pool: { size: 4, available: 1, using: 3, waiting: 2, maxSize: 10 } };
    expect(poolStats(manager)).toEqual({ used: 3, idle: 1, waiting: 2, max: 10 });
  });

  it('reports zeros before the pool exists, and for counters it lacks', () => {
    expect(poolStats({})).toEqual({ used: 0, idle: 0, waiting: 0, max: 0 });
    expect(poolStats(undefined)).toEqual({ used: 0, idle: 0, waiting: 0, max: 0 });
    expect(poolStats({ pool: { using: 5 } })).toEqual({ used: 5, idle: 0, waiting: 0, max: 0 });
  });
});
