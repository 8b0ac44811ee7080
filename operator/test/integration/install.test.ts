// The platform engineer's path, with the real kubectl: install the CRD and the operator's manifests
// server-side, apply the samples, and read the API back with get and explain.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  createTestNamespace,
  defaultBinDir,
  deleteTestNamespace,
  ENV_KUBECONFIG,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
let kc: KubeConfig;
let ns: string;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(join(defaultBinDir(), 'kubectl'), args, {
    env: { ...process.env, KUBECONFIG: process.env[ENV_KUBECONFIG] ?? '' },
    cwd: root,
  });
  return stdout;
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  ns = await createTestNamespace(kc, 'install');
});

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('install path', () => {
  it('manifests/install.yaml is what `make manifests` renders from the operator chart', async () => {
    const { stdout } = await run(join(root, 'hack', 'render-install.sh'), [], { cwd: root });
    expect(readFileSync(join(root, 'manifests', 'install.yaml'), 'utf8')).toBe(stdout);
  });

  it('installs the CRD and the operator manifests server-side, and accepts every sample', async () => {
    expect(await kubectl('apply', '--server-side', '-f', 'crds/')).toContain(
      'customresourcedefinition.apiextensions.k8s.io/observabilitydemos.obsdemo.dev serverside-applied',
    );
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/observabilitydemos.obsdemo.dev',
      '--timeout=60s',
    );
    const installed = await kubectl('apply', '--server-side', '-f', 'manifests/install.yaml');
    expect(installed).toContain('deployment.apps/obsdemo-operator serverside-applied');
    expect(installed).toContain(
      'clusterrole.rbac.authorization.k8s.io/obsdemo-system-obsdemo-operator serverside-applied',
    );

    for (const sample of ['minimal', 'full', 'external-backends', 'fault-scenario']) {
      const name = `${sample}-demo`;
      const manifest = readFileSync(join(root, 'manifests', 'samples', `${sample}.yaml`), 'utf8').replace(
        /^(\s*name:\s*)shop\s*$/m,
        `$1${name}`,
      );
      const applied = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          join(defaultBinDir(), 'kubectl'),
          ['apply', '--server-side', '-n', ns, '-f', '-'],
          { env: { ...process.env, KUBECONFIG: process.env[ENV_KUBECONFIG] ?? '' } },
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        );
        child.stdin?.end(manifest);
      });
      expect(applied).toContain(`observabilitydemo.obsdemo.dev/${name} serverside-applied`);
    }
  });

  it('shows the printer columns and documents the fields', async () => {
    const table = await kubectl('get', 'od', '-n', ns);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+READY\s+SERVICES\s+AGE/);
    expect(table).toContain('minimal-demo');
    const explained = await kubectl('explain', 'observabilitydemo.spec.services');
    expect(explained).toContain('FIELDS:');
    for (const field of ['catalog', 'processor', 'invoices', 'gateway', 'loadgen'])
      expect(explained).toContain(field);
    expect(explained).not.toContain('<empty>');
  });
});
