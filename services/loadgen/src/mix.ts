export const SCENARIOS = ['browse', 'order', 'analytics', 'enrich', 'batch'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Mix = Record<Scenario, number>;

export class MixError extends Error {}

/**
 * `browse=60,order=20,analytics=15,enrich=5,batch=0` → weights in percent. Scenarios left out weigh 0; the
 * weights must be integers and sum to exactly 100 so the mix reads as the share of traffic it is.
 */
export function parseMix(text: string): Mix {
  const mix: Mix = { browse: 0, order: 0, analytics: 0, enrich: 0, batch: 0 };
  const seen = new Set<string>();
  for (const entry of text.split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const match = /^([a-z]+)\s*=\s*(\d{1,3})$/.exec(entry);
    if (!match?.[1] || match[2] === undefined) {
      throw new MixError(`"${entry}" is not name=weight (e.g. browse=60)`);
    }
    const name = match[1];
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new MixError(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
    }
    if (seen.has(name)) throw new MixError(`scenario "${name}" is listed twice`);
    seen.add(name);
    mix[name as Scenario] = Number(match[2]);
  }
  const sum = SCENARIOS.reduce((total, s) => total + mix[s], 0);
  if (sum !== 100) throw new MixError(`weights must sum to 100 (got ${sum})`);
  return mix;
}

/** Weighted choice; `random` is uniform in [0, 1). */
export function pickScenario(mix: Mix, random: () => number = Math.random): Scenario {
  const point = random() * 100;
  let cumulative = 0;
  for (const scenario of SCENARIOS) {
    cumulative += mix[scenario];
    if (point < cumulative) return scenario;
  }
  // Only reachable through floating-point edge cases at 100; the heaviest scenario is a fair answer.
  return SCENARIOS.reduce((best, s) => (mix[s] > mix[best] ? s : best));
}

export function formatMix(mix: Mix): string {
  return SCENARIOS.map((s) => `${s}=${mix[s]}`).join(',');
}
