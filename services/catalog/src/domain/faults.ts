/** `/error` fails with probability `rate` (0-1). */
export function shouldFail(rate: number, random: () => number = Math.random): boolean {
  return random() < rate;
}
