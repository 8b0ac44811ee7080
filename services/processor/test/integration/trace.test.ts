import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
  type ServiceProcess,
} from '@obsdemo/testenv';
import {
  buildServices,
  eventually,
  request,
  startCatalogProcess,
  startDataplane,
  startProcessorProcess,
  type Dataplane,
} from '../../../invoices/test/integration/harness.js';

let dp: Dataplane;
let receiver: OtlpReceiver;
let catalog: ServiceProcess;
let processor: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'processor');
  dp = await startDataplane();
  receiver = await startOtlpReceiver();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_TRACES_SAMPLER_ARG: '1',
  };
  catalog = await startCatalogProcess(dp, 'catalog', otel);
  processor = await startProcessorProcess(dp, 'processor', catalog.url, otel);
});

afterAll(async () => {
  await processor?.stop();
  await catalog?.stop();
  await receiver?.close();
  await dp?.stop();
});

describe('trace across processor → catalog', () => {
  it('draws the workflow as one trace: step spans, CLIENT calls answered by catalog SERVER spans, the job', async () => {
    const res = await request(processor.url, 'POST', '/api/v1/processor/orders/process', {
      customer: 'traced',
      items: [{ productId: 2, quantity: 1 }],
    });
    expect(res.status).toBe(201);
    const jobId = res.body['notificationJobId'] as string;

    const jobSpan = await eventually(
      'the notification job span',
      async () => receiver.spans.find((s) => s.service === 'processor' && s.attributes['job.id'] === jobId),
      (s) => s !== undefined,
    );
    const trace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === jobSpan?.traceId);
    const server = trace().find((s) => s.service === 'processor' && s.kind === SPAN_KIND.SERVER);
    expect(server).toBeDefined();
    const steps = trace()
      .filter((s) => s.name.startsWith('workflow.'))
      .map((s) => s.name)
      .sort();
    expect(steps).toEqual([
      'workflow.create-order',
      'workflow.enrich',
      'workflow.fetch-products',
      'workflow.schedule-notification',
    ]);

    // Every processor → catalog call: a processor CLIENT span whose child is a catalog SERVER span.
    const edges = await eventually(
      'catalog SERVER spans under processor CLIENT spans',
      async () => {
        const spans = trace();
        const clients = spans.filter((s) => s.service === 'processor' && s.kind === SPAN_KIND.CLIENT);
        return clients.filter((c) =>
          spans.some(
            (s) => s.service === 'catalog' && s.kind === SPAN_KIND.SERVER && s.parentSpanId === c.spanId,
          ),
        );
      },
      // POST /orders, GET /products/2 and, from the job, GET /orders/:id.
      (e) => e.length >= 3,
    );
    expect(edges.length).toBeGreaterThanOrEqual(3);
  });
});
