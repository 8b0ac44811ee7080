/**
 * Sum of the samples of `name` in a service's /metrics whose labels include every given label (service and others
 * are ignored). `required`: no such sample is an error rather than 0 (a metric without labels is there from the
 * start, so its absence means the service does not export it).
 */
export async function metric(
  base: string,
  name: string,
  labels: Record<string, string> = {},
  { required = false }: { required?: boolean } = {},
): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = match[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => pairs.includes(`${k}="${v}"`))) continue;
    total += Number(match[3]);
    found = true;
  }
  if (required && !found) throw new Error(`${base}/metrics has no ${name}`);
  return total;
}
