// Helpers shared by the API tests: load the CRD and the samples, and walk a structural schema.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { StructuralSchema } from '../../../hack/gen-api-types.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CRD_FILE = `${REPO_ROOT}crds/obsdemo.dev_observabilitydemos.yaml`;
export const SAMPLES_DIR = `${REPO_ROOT}manifests/samples`;

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: object };
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
  schema: { openAPIV3Schema: StructuralSchema };
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    versions: CrdVersion[];
  };
}

export function loadCrd(): Crd {
  return load(readFileSync(CRD_FILE, 'utf8')) as Crd;
}

export function rootSchema(crd: Crd = loadCrd()): StructuralSchema {
  const v = crd.spec.versions.find((version) => version.name === 'v1alpha1');
  if (v === undefined) throw new Error('CRD has no v1alpha1');
  return v.schema.openAPIV3Schema;
}

/** Every schema node with its path: `spec.faults[]` is a list item, `status.endpoints.*` a map value. */
export function walk(node: StructuralSchema, path = ''): { path: string; node: StructuralSchema }[] {
  const out = [{ path, node }];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    out.push(...walk(child, path === '' ? key : `${path}.${key}`));
  }
  if (node.items !== undefined) out.push(...walk(node.items, `${path}[]`));
  if (typeof node.additionalProperties === 'object')
    out.push(...walk(node.additionalProperties, `${path}.*`));
  return out;
}

/** The schema node at a path produced by walk(). */
export function at(root: StructuralSchema, path: string): StructuralSchema {
  const found = walk(root).find((entry) => entry.path === path);
  if (found === undefined) throw new Error(`no schema at ${path}`);
  return found.node;
}

export function rules(node: StructuralSchema): ValidationRule[] {
  return (node['x-kubernetes-validations'] as ValidationRule[] | undefined) ?? [];
}

/** Leaf paths of a schema: nodes without properties, items or map values. */
export function schemaLeaves(root: StructuralSchema, under: string): string[] {
  return walk(root)
    .filter(({ path }) => path === under || path.startsWith(`${under}.`) || path.startsWith(`${under}[]`))
    .filter(
      ({ node }) =>
        node.properties === undefined &&
        node.items === undefined &&
        typeof node.additionalProperties !== 'object',
    )
    .map(({ path }) => path);
}

/** Leaf paths of a value, in walk()'s notation. */
export function valueLeaves(value: unknown, path: string, schema?: StructuralSchema): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => valueLeaves(item, `${path}[]`, schema?.items));
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    // A key of a map (additionalProperties) is data, not a field: its path is `.*`, as walk() names it.
    const map = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    return Object.entries(value).flatMap(([key, child]) => {
      const field = schema?.properties?.[key];
      if (field === undefined && map !== undefined) return valueLeaves(child, `${path}.*`, map);
      return valueLeaves(child, `${path}.${key}`, field);
    });
  }
  return [path];
}

export interface Sample {
  file: string;
  object: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
    spec: Record<string, unknown>;
  };
}

export function loadSamples(): Sample[] {
  return readdirSync(SAMPLES_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({
      file,
      object: load(readFileSync(`${SAMPLES_DIR}/${file}`, 'utf8')) as Sample['object'],
    }));
}
