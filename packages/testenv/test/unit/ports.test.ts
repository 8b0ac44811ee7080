import { describe, it, expect } from '@jest/globals';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { freePort, freePorts, pickRange } from '../../src/process/ports.js';

describe('pickRange', () => {
  it('takes the span below the ephemeral range when it is the wider one', () => {
    expect(pickRange([32768, 60999])).toEqual([10000, 32767]);
  });

  it('takes the span above when the ephemeral range starts low', () => {
    expect(pickRange([1024, 40000])).toEqual([40001, 65535]);
  });

  it("falls back to the kernel's choice when neither span is usable", () => {
    expect(pickRange([10500, 65000])).toEqual([0, 0]);
  });
});

describe('freePort', () => {
  it('returns distinct bindable ports outside the ephemeral range', async () => {
    const [low, high] = pickRange();
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(low);
      expect(port).toBeLessThanOrEqual(high);
    }
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    expect((server.address() as AddressInfo).port).toBe(ports[0]);
    await new Promise((resolve) => server.close(resolve));
  });

  it('never hands out a port an outgoing connection holds', async () => {
    const listener = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const client = createConnection((listener.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const [low, high] = pickRange();
    const held = client.localPort ?? 0;
    // The client's local port comes from the ephemeral range, which the picker stays out of.
    expect(held < low || held > high).toBe(true);
    expect(await freePort()).not.toBe(held);
    client.destroy();
    await new Promise((resolve) => listener.close(resolve));
  });
});
