/** A span of a stored trace, with ids in lowercase hex as OTLP/JSON writes them. */
export interface TraceSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number | string;
  attributes?: OtlpAttribute[];
}

/** OTLP/JSON traces: `resourceSpans` (the OTLP name, which Jaeger's API v3 uses) or `batches`. */
export interface OtlpTracesJson {
  resourceSpans?: OtlpResourceSpans[];
  batches?: OtlpResourceSpans[];
}

interface OtlpResourceSpans {
  resource?: { attributes?: OtlpAttribute[] };
  scopeSpans?: { spans?: OtlpSpan[] }[];
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

/** OTLP/JSON writes ids in hex; the protobuf JSON mapping some stores use writes `bytes` as base64. */
function hexId(id: string | undefined): string {
  if (id === undefined || id === '') return '';
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
}

/** The spans of an OTLP/JSON traces document, flattened with their service names. */
export function spansOf(body: OtlpTracesJson): TraceSpan[] {
  const spans: TraceSpan[] = [];
  for (const batch of body.resourceSpans ?? body.batches ?? []) {
    const resource = attributes(batch.resource?.attributes);
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : '';
    for (const scope of batch.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          serviceName,
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: hexId(span.parentSpanId),
          name: span.name,
          kind: typeof span.kind === 'string' ? (SPAN_KINDS[span.kind] ?? 0) : (span.kind ?? 0),
          attributes: attributes(span.attributes),
        });
      }
    }
  }
  return spans;
}
