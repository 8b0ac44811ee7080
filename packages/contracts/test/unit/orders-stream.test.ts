import { describe, expect, it } from '@jest/globals';
import {
  ORDERS_STREAM,
  ensureOrdersStream,
  natsServers,
  natsStreamReplicasEnv,
  type OrdersStreamConfig,
  type StreamAdmin,
} from '@obsdemo/contracts';

/** A stream admin that keeps one stream in memory and answers like JetStream's API (err_code 10059: not found). */
function memoryStreams(existing?: number) {
  let replicas = existing;
  const calls: string[] = [];
  const admin: StreamAdmin = {
    async info(name) {
      calls.push(`info ${name}`);
      if (replicas === undefined)
        throw Object.assign(new Error('stream not found'), { api_error: { err_code: 10059 } });
      return { config: { num_replicas: replicas } };
    },
    async add(config: OrdersStreamConfig) {
      calls.push(`add ${config.name} R${config.num_replicas}`);
      replicas = config.num_replicas;
    },
    async update(name, config) {
      calls.push(`update ${name} R${config.num_replicas}`);
      replicas = config.num_replicas;
    },
  };
  return { admin, calls };
}

describe('ensureOrdersStream', () => {
  it('creates a missing stream with the replica count', async () => {
    const { admin, calls } = memoryStreams();
    await expect(ensureOrdersStream(admin, 3)).resolves.toBe('created');
    expect(calls).toEqual([`info ${ORDERS_STREAM}`, `add ${ORDERS_STREAM} R3`]);
  });

  it('scales an existing stream with another count instead of keeping it', async () => {
    const { admin, calls } = memoryStreams(1);
    await expect(ensureOrdersStream(admin, 3)).resolves.toBe('scaled');
    expect(calls).toEqual([`info ${ORDERS_STREAM}`, `update ${ORDERS_STREAM} R3`]);
  });

  it('leaves a stream with the right count alone', async () => {
    const { admin, calls } = memoryStreams(5);
    await expect(ensureOrdersStream(admin, 5)).resolves.toBe('unchanged');
    expect(calls).toEqual([`info ${ORDERS_STREAM}`]);
  });

  it('throws any other failure for the caller to retry, without trying to create the stream', async () => {
    const calls: string[] = [];
    const admin: StreamAdmin = {
      info: () =>
        Promise.reject(
          Object.assign(new Error('JetStream system temporarily unavailable'), {
            api_error: { err_code: 10008 },
          }),
        ),
      add: async () => void calls.push('add'),
      update: async () => void calls.push('update'),
    };
    await expect(ensureOrdersStream(admin, 3)).rejects.toThrow('temporarily unavailable');
    expect(calls).toEqual([]);
  });
});

describe('natsStreamReplicasEnv', () => {
  it('takes 1, 3 or 5 and defaults to 1', () => {
    expect(natsStreamReplicasEnv.parse(undefined)).toBe(1);
    expect(natsStreamReplicasEnv.parse('3')).toBe(3);
    expect(natsStreamReplicasEnv.parse('5')).toBe(5);
  });

  it.each(['2', '0', 'three', ''])('refuses %p, naming the allowed counts', (value) => {
    const result = natsStreamReplicasEnv.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('one of 1, 3, 5');
  });
});

describe('natsServers', () => {
  it('splits several URLs separated by commas', () => {
    expect(natsServers('nats://a:4222, nats://b:4222,nats://c:4222')).toEqual([
      'nats://a:4222',
      'nats://b:4222',
      'nats://c:4222',
    ]);
  });

  it('keeps a single URL as it is', () => {
    expect(natsServers('nats://demo-nats:4222')).toEqual(['nats://demo-nats:4222']);
  });
});
