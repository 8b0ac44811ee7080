import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { COMPONENT_CHARTS } from '../../src/reconcile/plan.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/crd-reference.md', () => {
  it('is what hack/gen-crd-docs.mjs generates from the CRD', async () => {
    // --check exits non-zero with a one-line reason when the committed file differs.
    await expect(run(process.execPath, [`${root}hack/gen-crd-docs.mjs`, '--check'])).resolves.toBeDefined();
  });
});

describe('image names', () => {
  it('agree between the Makefile, the charts and manifests/install.yaml', () => {
    const makefile = readFileSync(`${root}Makefile`, 'utf8');
    const registry = /^IMAGE_REGISTRY \?= (\S+)$/m.exec(makefile)?.[1];
    const services = parse(readFileSync(`${root}charts/demo-services/values.yaml`, 'utf8')) as {
      image: { registry: string; repositoryPrefix: string };
    };
    expect(`${services.image.registry}/${services.image.repositoryPrefix}`).toBe(registry);
    const operatorChart = parse(readFileSync(`${root}charts/obsdemo-operator/values.yaml`, 'utf8')) as {
      image: { repository: string };
    };
    expect(operatorChart.image.repository).toBe(`${registry}/operator`);
    const appVersion = (
      parse(readFileSync(`${root}charts/obsdemo-operator/Chart.yaml`, 'utf8')) as { appVersion: string }
    ).appVersion;
    expect(readFileSync(`${root}manifests/install.yaml`, 'utf8')).toContain(
      `image: "${registry}/operator:${appVersion}"`,
    );
  });

  it('agree between the Makefile and the Tiltfile', () => {
    const makefile = readFileSync(`${root}Makefile`, 'utf8');
    const tiltfile = readFileSync(`${root}Tiltfile`, 'utf8');
    expect(/^IMAGE_REGISTRY = '([^']+)'$/m.exec(tiltfile)?.[1]).toBe(
      /^IMAGE_REGISTRY \?= (\S+)$/m.exec(makefile)?.[1],
    );
    // IMAGES := operator:operator/Dockerfile $(foreach s,<services>,$(s):services/$(s)/Dockerfile)
    const makeServices = /^IMAGES := operator:operator\/Dockerfile \$\(foreach s,([a-z ]+),/m.exec(
      makefile,
    )?.[1];
    const tiltServices = /^SERVICES = \[([^\]]+)\]$/m.exec(tiltfile)?.[1];
    expect(tiltServices?.split(',').map((s) => s.trim().replace(/'/g, ''))).toEqual(makeServices?.split(' '));
    // image_build(name, workspace) builds IMAGE_REGISTRY/name from workspace/Dockerfile, as `make images` does.
    expect(tiltfile).toContain("image_build('operator', 'operator'");
    expect(tiltfile).toContain("image_build(service, 'services/' + service)");
    expect(tiltfile).toContain("IMAGE_REGISTRY + '/' + name,");
  });
});

describe('the operator image', () => {
  it('carries every chart the operator renders a demo from', () => {
    const dockerfile = readFileSync(`${root}operator/Dockerfile`, 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY charts\/(\S+) charts\/\1$/gm)].map((m) => m[1]);
    expect([...copied].sort()).toEqual([...COMPONENT_CHARTS].sort());
  });
});
