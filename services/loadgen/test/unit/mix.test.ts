import { describe, it, expect } from '@jest/globals';
import { ConfigError, parseConfig } from '@obsdemo/service-kit';
import { LoadgenConfigSchema } from '../../src/config.js';
import { SCENARIOS, parseMix, pickScenario, type Mix } from '../../src/mix.js';

/** mulberry32: a seeded PRNG so the distribution test is reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LOADGEN_MIX parsing', () => {
  it('reads weights, treating scenarios left out as 0', () => {
    expect(parseMix('browse=60, order=20,analytics=15,enrich=5')).toEqual({
      browse: 60,
      order: 20,
      analytics: 15,
      enrich: 5,
      batch: 0,
    });
  });

  it.each([
    ['browse=60,order=20', /weights must sum to 100 \(got 80\)/],
    ['browse=100,shop=0', /unknown scenario "shop"/],
    ['browse=50,browse=50', /listed twice/],
    ['browse=fifty', /"browse=fifty" is not name=weight/],
    ['browse=60.5,order=39.5', /is not name=weight/],
  ])('rejects %p', (text, message) => {
    expect(() => parseMix(text)).toThrow(message);
  });

  it('stops start-up with one config error line naming LOADGEN_MIX', () => {
    expect(() => parseConfig(LoadgenConfigSchema, { LOADGEN_MIX: 'browse=50,order=40' })).toThrow(
      new ConfigError(
        'config error: LOADGEN_MIX must be valid: scenario weights like browse=60,order=20,analytics=15,enrich=5,batch=0: weights must sum to 100 (got 90) (got "browse=50,order=40")',
      ),
    );
  });

  it('hides the token in the config error and accepts fractional rates', () => {
    expect(() => parseConfig(LoadgenConfigSchema, { LOADGEN_TOKEN: '' })).toThrow(/value hidden/);
    expect(parseConfig(LoadgenConfigSchema, { LOADGEN_RPS: '2.5' }).LOADGEN_RPS).toBe(2.5);
  });
});

describe('weighted selection', () => {
  it('picks by cumulative weight in scenario order', () => {
    const mix: Mix = { browse: 60, order: 20, analytics: 15, enrich: 5, batch: 0 };
    expect(pickScenario(mix, () => 0)).toBe('browse');
    expect(pickScenario(mix, () => 0.5999)).toBe('browse');
    expect(pickScenario(mix, () => 0.6)).toBe('order');
    expect(pickScenario(mix, () => 0.95)).toBe('enrich');
    expect(pickScenario(mix, () => 0.9999999)).toBe('enrich');
  });

  it('matches the weights over many draws and never picks a weight-0 scenario', () => {
    const mix: Mix = { browse: 40, order: 25, analytics: 20, enrich: 10, batch: 5 };
    const random = seeded(42);
    const counts = Object.fromEntries(SCENARIOS.map((s) => [s, 0])) as Record<string, number>;
    const draws = 100_000;
    for (let i = 0; i < draws; i++) counts[pickScenario(mix, random)]!++;
    // Binomial standard deviation at p=0.4 and n=1e5 is ~0.15 %; 1 % is over six sigma.
    for (const s of SCENARIOS) expect(Math.abs(counts[s]! / draws - mix[s] / 100)).toBeLessThan(0.01);
    const noBatch: Mix = { browse: 50, order: 50, analytics: 0, enrich: 0, batch: 0 };
    for (let i = 0; i < 10_000; i++) expect(['browse', 'order']).toContain(pickScenario(noBatch, random));
  });
});
