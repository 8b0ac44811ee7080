import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@obsdemo/telemetry';
import type { RuntimeLogger } from '../../../src/runtime/logger.js';

describe('RuntimeLogger', () => {
  it('is satisfied by the telemetry package winston logger, fields included', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const logger: RuntimeLogger = createLogger({ service: 'obsdemo-operator', stream, level: 'debug' });
    logger.info('reconciled', { controller: 'demo', key: 'ns/a' });
    await new Promise((resolve) => setImmediate(resolve));
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', message: 'reconciled', controller: 'demo', key: 'ns/a' });
  });
});
