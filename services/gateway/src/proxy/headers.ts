import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1: connection-specific fields are for one hop only and must not be forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function withoutHopByHop(headers: IncomingHttpHeaders, alsoDrop: string[]): OutgoingHttpHeaders {
  const listed = String(headers.connection ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const drop = new Set([...HOP_BY_HOP, ...listed, ...alsoDrop]);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  return out;
}

export interface ForwardContext {
  requestId: string;
  /** The direct peer of the gateway, appended to X-Forwarded-For. */
  clientIp: string;
  protocol: string;
  host: string | undefined;
}

/** Request headers for the upstream: end-to-end fields plus request id and X-Forwarded-*. */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  ctx: ForwardContext,
): OutgoingHttpHeaders {
  // Host is the upstream's own; node:http sets it from the target.
  const out = withoutHopByHop(headers, ['host', 'x-request-id']);
  const priorFor = headers['x-forwarded-for'];
  out['x-forwarded-for'] = priorFor ? `${String(priorFor)}, ${ctx.clientIp}` : ctx.clientIp;
  out['x-forwarded-proto'] = ctx.protocol;
  if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host;
  out['x-request-id'] = ctx.requestId;
  return out;
}

/** Response headers for the client: end-to-end fields only (framing is re-done for the client connection). */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers, []);
}
