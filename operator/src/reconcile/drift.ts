/**
 * Whether every field we would apply already has that value in the live object. The API server adds defaults and
 * status, so the live object is a superset of what we rendered; a field we render that differs (someone scaled a
 * Deployment, edited a ConfigMap) is drift and needs an apply. An empty object, empty list or null we render is
 * satisfied by a missing field, because the API server drops them.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (isEmpty(desired)) return live === undefined || isEmpty(live) || typeof live === typeof desired;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubset(v, l[k]));
  }
  // Numbers the API server may echo as strings (e.g. intstr ports) compare by their text.
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  return desired === live;
}

function isEmpty(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}
