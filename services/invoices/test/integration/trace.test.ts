import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ServiceProcess } from '@obsdemo/testenv';
import {
  buildServices,
  eventually,
  request,
  startCatalogProcess,
  startDataplane,
  startInvoicesProcess,
  type Dataplane,
} from './harness.js';

let dp: Dataplane;
let receiver: OtlpReceiver;
let catalog: ServiceProcess;
let invoices: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'invoices');
  dp = await startDataplane();
  receiver = await startOtlpReceiver();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_TRACES_SAMPLER_ARG: '1',
  };
  catalog = await startCatalogProcess(dp, 'catalog', otel);
  invoices = await startInvoicesProcess(dp, 'invoices', otel);
});

afterAll(async () => {
  await invoices?.stop();
  await catalog?.stop();
  await receiver?.close();
  await dp?.stop();
});

describe('trace across catalog → NATS → invoices', () => {
  it("makes invoices' CONSUMER span a direct child of catalog's PRODUCER span", async () => {
    const order = await request(catalog.url, 'POST', '/orders', {
      customer: 'traced',
      items: [{ productId: 1, quantity: 1 }],
    });
    expect(order.status).toBe(201);
    const orderId = String(order.body['id']);
    const producer = await eventually(
      'PRODUCER span from catalog',
      async () =>
        receiver.spans.find(
          (s) =>
            s.service === 'catalog' &&
            s.kind === SPAN_KIND.PRODUCER &&
            s.attributes['messaging.message.id'] === orderId,
        ),
      (s) => s !== undefined,
    );
    const consumer = await eventually(
      'CONSUMER span from invoices',
      async () =>
        receiver.spans.find(
          (s) =>
            s.service === 'invoices' && s.kind === SPAN_KIND.CONSUMER && s.parentSpanId === producer?.spanId,
        ),
      (s) => s !== undefined,
    );
    expect(consumer?.traceId).toBe(producer?.traceId);
    expect(consumer?.name).toBe('process orders.created');
    expect(consumer?.attributes['messaging.consumer.group.name']).toBe('invoices');
  });
});
