export interface FaultConfig {
  latencyMs: number;
  latencyPercent: number;
  errorPercent: number;
}

export interface FaultDecision {
  delayMs: number;
  fail: boolean;
}

/** Pure so tests can pass their own random source; percentages are 0-100. */
export function decideFault(config: FaultConfig, random: () => number = Math.random): FaultDecision {
  const delayMs = config.latencyMs > 0 && random() * 100 < config.latencyPercent ? config.latencyMs : 0;
  const fail = random() * 100 < config.errorPercent;
  return { delayMs, fail };
}

/** `/error` fails with probability `rate` (0-1). */
export function shouldFail(rate: number, random: () => number = Math.random): boolean {
  return random() < rate;
}
