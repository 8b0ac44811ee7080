// Generates operator/src/api/v1alpha1.generated.ts from the CRD's OpenAPI schema, so the operator's types can never
// disagree with what the apiserver accepts. The CRD YAML is the source of truth; never edit the output by hand.
//
//   node hack/gen-api-types.ts    (Node 24 strips the types; no build step)
//
// operator/test/unit/api-generated.test.ts renders in memory and fails when the committed file has drifted.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { compile } from 'json-schema-to-typescript';
import type { JSONSchema } from 'json-schema-to-typescript';
import { format, resolveConfig } from 'prettier';

export const CRD_PATH = fileURLToPath(
  new URL('../crds/obsdemo.dev_observabilitydemos.yaml', import.meta.url),
);
export const OUTPUT_PATH = fileURLToPath(
  new URL('../operator/src/api/v1alpha1.generated.ts', import.meta.url),
);
const VERSION = 'v1alpha1';

/**
 * Interface names for the object schemas worth naming, by path (`*` matches any property, `[]` is a list item).
 * Every other object stays an inline type of its parent. A pattern that matches no schema, or matches schemas
 * that differ, is an error: renaming a field in the CRD must be noticed here rather than silently change a type.
 */
const NAMES: Readonly<Record<string, string>> = {
  '': 'ObservabilityDemo',
  spec: 'ObservabilityDemoSpec',
  'spec.services': 'ServicesSpec',
  'spec.services.catalog': 'CatalogSpec',
  'spec.services.processor': 'ProcessorSpec',
  'spec.services.invoices': 'InvoicesSpec',
  'spec.services.gateway': 'GatewaySpec',
  'spec.services.loadgen': 'LoadgenSpec',
  'spec.services.*.image': 'ImageSpec',
  'spec.services.*.resources': 'ResourceRequirements',
  'spec.services.*.env[]': 'EnvVar',
  'spec.services.catalog.cache': 'CatalogCacheSpec',
  'spec.services.gateway.rateLimit': 'RateLimitSpec',
  'spec.services.gateway.auth': 'GatewayAuthSpec',
  'spec.services.gateway.auth.jwt': 'JwtSpec',
  'spec.services.gateway.auth.jwt.secretRef': 'JwksSecretReference',
  'spec.services.loadgen.mix': 'TrafficMix',
  'spec.faults[]': 'Fault',
  'spec.messaging': 'MessagingSpec',
  'spec.messaging.nats': 'NatsSpec',
  'spec.messaging.nats.jetstream': 'JetStreamSpec',
  'spec.database': 'DatabaseSpec',
  'spec.database.postgres': 'PostgresSpec',
  'spec.database.postgres.secretRef': 'SecretReference',
  'spec.observability': 'ObservabilitySpec',
  'spec.observability.tracing': 'TracingSpec',
  'spec.observability.prometheus': 'PrometheusSpec',
  'spec.observability.collector': 'CollectorSpec',
  'spec.observability.grafana': 'GrafanaSpec',
  'spec.observability.external': 'ExternalBackendsSpec',
  status: 'ObservabilityDemoStatus',
  'status.conditions[]': 'Condition',
  'status.components[]': 'ComponentStatus',
  'status.inventory[]': 'InventoryReference',
};

/** The subset of a structural schema node this generator reads. */
export interface StructuralSchema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, StructuralSchema>;
  items?: StructuralSchema;
  additionalProperties?: StructuralSchema | boolean;
  required?: string[];
  enum?: unknown[];
  'x-kubernetes-int-or-string'?: boolean;
  [keyword: string]: unknown;
}

interface CrdDocument {
  spec?: { versions?: { name: string; schema?: { openAPIV3Schema?: StructuralSchema } }[] };
}

/** The openAPIV3Schema of the served version, from the CRD's YAML text. */
export function versionSchema(crdYaml: string, version = VERSION): StructuralSchema {
  const crd = load(crdYaml) as CrdDocument;
  const schema = crd.spec?.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (schema === undefined) throw new Error(`CRD has no openAPIV3Schema for version ${version}`);
  return schema;
}

function matches(pattern: string, path: string): boolean {
  const p = pattern === '' ? [] : pattern.split('.');
  const q = path === '' ? [] : path.split('.');
  return p.length === q.length && p.every((segment, i) => segment === '*' || segment === q[i]);
}

interface Named {
  json: string;
  schema: JSONSchema;
}

/**
 * Converts structural schema nodes into the JSON Schema json-schema-to-typescript understands, in two views:
 * `input` is what a user may write (a field with a default is optional); `defaulted` is what the apiserver returns,
 * having applied every default (such a field is always present). A defaulted type identical to its input type is
 * shared; one that differs is named `Defaulted<Name>`.
 */
class Converter {
  readonly named = { input: new Map<string, Named>(), defaulted: new Map<string, Named>() };
  private readonly inputByPath = new Map<string, Named>();

  convert(node: StructuralSchema, path: string, view: 'input' | 'defaulted'): JSONSchema {
    const out: JSONSchema = {};
    const description = [node.description ?? ''];
    if (node.default !== undefined) description.push(`@default ${JSON.stringify(node.default)}`);
    out.description = description.filter((d) => d !== '').join('\n\n');

    if (node['x-kubernetes-int-or-string'] === true) {
      // A quantity: the apiserver keeps whatever the user wrote, an integer or a string such as "500m".
      out.tsType = 'number | string';
    } else if (path === 'metadata') {
      out.tsType = 'V1ObjectMeta';
    } else if (node.type === 'object') {
      out.type = 'object';
      const properties = Object.entries(node.properties ?? {});
      if (properties.length > 0) {
        out.properties = Object.fromEntries(
          properties.map(([key, child]) => [
            key,
            this.convert(child, path === '' ? key : `${path}.${key}`, view),
          ]),
        );
      }
      const required = [
        ...(node.required ?? []),
        ...(view === 'defaulted'
          ? properties.filter(([, child]) => child.default !== undefined).map(([key]) => key)
          : []),
      ];
      if (required.length > 0) out.required = [...new Set(required)];
      out.additionalProperties =
        typeof node.additionalProperties === 'object'
          ? this.convert(node.additionalProperties, `${path}.*`, view)
          : false;
    } else if (node.type === 'array') {
      out.type = 'array';
      if (node.items === undefined) throw new Error(`${path}: array without items`);
      out.items = this.convert(node.items, `${path}[]`, view);
    } else if (node.type !== undefined) {
      out.type = node.type as JSONSchema['type'];
      if (node.enum !== undefined) out.enum = [...node.enum] as JSONSchema['enum'];
    } else {
      throw new Error(`${path || '<root>'}: schema node without type`);
    }
    return this.name(out, path, view);
  }

  private name(out: JSONSchema, path: string, view: 'input' | 'defaulted'): JSONSchema {
    const pattern = Object.keys(NAMES).find((p) => matches(p, path));
    if (pattern === undefined) return out;
    out.title = NAMES[pattern]!;
    if (view === 'defaulted') {
      const input = this.inputByPath.get(path);
      if (input !== undefined && input.json === JSON.stringify(out)) return input.schema;
      out.title = `Defaulted${out.title}`;
    }
    const json = JSON.stringify(out);
    const seen = this.named[view].get(pattern);
    const result = seen?.schema ?? out;
    if (seen === undefined) this.named[view].set(pattern, { json, schema: out });
    else if (seen.json !== json)
      throw new Error(`${path}: differs from another schema named ${out.title} (${pattern})`);
    // The same object instance makes json-schema-to-typescript emit one interface instead of Name, Name1, …
    if (view === 'input') this.inputByPath.set(path, { json, schema: result });
    return result;
  }
}

/** Renders the TypeScript module for the CRD whose YAML text is given. Pure: no file is written. */
export async function renderApiTypes(crdYaml: string): Promise<string> {
  const converter = new Converter();
  const root = versionSchema(crdYaml);
  const input = converter.convert(root, '', 'input');
  const defaulted = converter.convert(root, '', 'defaulted');
  const unused = Object.keys(NAMES).filter((p) => !converter.named.input.has(p));
  if (unused.length > 0)
    throw new Error(`type names for paths that are not in the CRD: ${unused.join(', ')}`);
  // Both roots in one compilation, so the types they share are declared once.
  const schema: JSONSchema = { ...input, definitions: { defaulted } };

  const body = await compile(schema, 'ObservabilityDemo', {
    bannerComment: '',
    additionalProperties: false,
    format: false,
    ignoreMinAndMaxItems: true,
    strictIndexSignatures: true,
    unknownAny: true,
    unreachableDefinitions: true,
  });
  const banner = [
    '// Generated by hack/gen-api-types.ts from crds/obsdemo.dev_observabilitydemos.yaml. Do not edit:',
    '// change the CRD and run `node hack/gen-api-types.ts`.',
    "import type { V1ObjectMeta } from '@kubernetes/client-node';",
    '',
  ].join('\n');
  const config = (await resolveConfig(OUTPUT_PATH)) ?? {};
  return format(`${banner}\n${body}`, { ...config, parser: 'typescript' });
}

async function main(): Promise<void> {
  const output = await renderApiTypes(await readFile(CRD_PATH, 'utf8'));
  await writeFile(OUTPUT_PATH, output);
  console.log(`wrote ${OUTPUT_PATH}`);
}

if (import.meta.main) await main();
