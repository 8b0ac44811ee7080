import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { CRD_PATH, OUTPUT_PATH, renderApiTypes } from '../../../hack/gen-api-types.js';

describe('operator/src/api/v1alpha1.generated.ts', () => {
  it('is what hack/gen-api-types.ts renders from the CRD today (run `node hack/gen-api-types.ts` if not)', async () => {
    const [crd, committed] = await Promise.all([readFile(CRD_PATH, 'utf8'), readFile(OUTPUT_PATH, 'utf8')]);
    expect(committed).toBe(await renderApiTypes(crd));
  });

  it('changes when the schema changes, so the comparison above can fail', async () => {
    const crd = await readFile(CRD_PATH, 'utf8');
    const edited = crd.replace(
      'enum:\n                    - small\n                    - standard',
      'enum:\n                    - small\n                    - standard\n                    - large',
    );
    expect(edited).not.toBe(crd);
    expect(await renderApiTypes(edited)).toContain("profile?: 'small' | 'standard' | 'large';");
  });

  it('names the interfaces the operator imports and types quantities as number | string', async () => {
    const text = await renderApiTypes(await readFile(CRD_PATH, 'utf8'));
    for (const name of [
      'ObservabilityDemo',
      'ObservabilityDemoSpec',
      'ObservabilityDemoStatus',
      'ImageSpec',
      'Fault',
      'Condition',
    ]) {
      expect(text).toMatch(new RegExp(`^export interface ${name} \\{`, 'm'));
    }
    // One ImageSpec for all five services, not ImageSpec1…4.
    expect(text).not.toMatch(/ImageSpec1/);
    expect(text).toMatch(/cpu\?: number \| string;/);
  });

  it('declares the defaulted view: fields with a schema default are required, shared types are declared once', async () => {
    const text = await renderApiTypes(await readFile(CRD_PATH, 'utf8'));
    const body = (name: string): string =>
      text.slice(text.indexOf(`export interface ${name} {`)).split('\n}\n')[0]!;
    expect(body('DefaultedObservabilityDemoSpec')).toMatch(/^ {2}paused: boolean;$/m);
    expect(body('DefaultedObservabilityDemoSpec')).toMatch(/^ {2}faults\?: Fault\[\];$/m);
    expect(body('DefaultedNatsSpec')).toMatch(/^ {2}url\?: string;$/m);
    expect(body('DefaultedNatsSpec')).toMatch(/^ {2}replicas: 1 \| 3 \| 5;$/m);
    expect(body('ObservabilityDemoSpec')).toMatch(/^ {2}paused\?: boolean;$/m);
    // Types without defaults have no Defaulted twin.
    expect(text).not.toMatch(/DefaultedFault|DefaultedCondition|DefaultedObservabilityDemoStatus/);
  });

  it('refuses a CRD whose schema lost a field that has a type name', async () => {
    const crd = await readFile(CRD_PATH, 'utf8');
    await expect(renderApiTypes(crd.replace('rateLimit:', 'rateLimits:'))).rejects.toThrow(
      /spec\.services\.gateway\.rateLimit/,
    );
  });
});
