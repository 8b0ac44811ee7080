import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '../../src/dataplane/service-process.js';

// Tests and benchmarks start the services with SERVICE_NODE_FLAGS so that they run as the images do; this keeps the
// two from drifting apart.
const servicesDir = fileURLToPath(new URL('../../../../services/', import.meta.url));

function imageCommand(service: string): string[] {
  const dockerfile = readFileSync(join(servicesDir, service, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!cmd) throw new Error(`services/${service}/Dockerfile has no exec-form CMD`);
  return JSON.parse(cmd) as string[];
}

describe('SERVICE_NODE_FLAGS', () => {
  const services = readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);

  it('finds the five services', () => {
    expect(services.sort()).toEqual(['catalog', 'gateway', 'invoices', 'loadgen', 'processor']);
  });

  it.each(services)("are the V8 flags of %s's image, in the same order, right after node", (service) => {
    const command = imageCommand(service);
    expect(command.slice(0, 1 + SERVICE_NODE_FLAGS.length)).toEqual(['node', ...SERVICE_NODE_FLAGS]);
    expect(command.slice(1 + SERVICE_NODE_FLAGS.length)).toEqual([
      '--import',
      '@obsdemo/telemetry/register',
      'dist/main.js',
    ]);
  });
});
