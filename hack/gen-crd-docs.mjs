// Writes docs/crd-reference.md from the CRD's schema: every field with its type, default, bounds and
// description, and the CEL rules with their messages. A unit test fails when the file is out of date.
// Usage: node hack/gen-crd-docs.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const crd = parse(readFileSync(`${root}crds/obsdemo.dev_observabilitydemos.yaml`, 'utf8'));

export function render(definition) {
  const version = definition.spec.versions.find((v) => v.storage);
  const schema = version.schema.openAPIV3Schema;
  const { group, names } = definition.spec;
  const out = [
    '# ObservabilityDemo API reference',
    '',
    `Generated from \`crds/obsdemo.dev_observabilitydemos.yaml\` by \`node hack/gen-crd-docs.mjs\` (\`make generate\`).`,
    '',
    `Group \`${group}\`, version \`${version.name}\`, kind \`${names.kind}\` (\`${names.plural}\`; short names ${names.shortNames.map((n) => `\`${n}\``).join(', ')}). Namespaced; status is a subresource.`,
    '',
  ];
  const rules = [];
  const fields = [];
  const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n+/g, ' ');
  const typeOf = (p) =>
    p['x-kubernetes-int-or-string']
      ? 'int or string'
      : p.type === 'array'
        ? `[]${p.items?.type ?? ''}`
        : (p.type ?? '');
  const constraints = (p) =>
    [
      p.enum && `one of ${p.enum.map((e) => `\`${e}\``).join(', ')}`,
      p.minimum !== undefined && `≥ ${p.minimum}`,
      p.maximum !== undefined && `≤ ${p.maximum}`,
      p.maxLength !== undefined && `≤ ${p.maxLength} chars`,
      p.maxItems !== undefined && `≤ ${p.maxItems} items`,
      p.pattern && `pattern \`${p.pattern}\``,
    ]
      .filter(Boolean)
      .join('; ');
  const walk = (path, p) => {
    for (const r of p['x-kubernetes-validations'] ?? [])
      rules.push(`| \`${path || '.'}\` | \`${cell(r.rule)}\` | ${cell(r.message ?? '')} |`);
    if (path) {
      const def = p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``;
      fields.push(
        `| \`${path}\` | ${typeOf(p)} | ${def} | ${cell(constraints(p))} | ${cell(p.description ?? '')} |`,
      );
    }
    for (const [name, child] of Object.entries(p.properties ?? {}))
      walk(path ? `${path}.${name}` : name, child);
    if (p.items?.properties) walk(`${path}[]`, p.items);
  };
  for (const top of ['spec', 'status']) walk(top, schema.properties[top]);
  out.push(
    '## Fields',
    '',
    '| field | type | default | constraints | description |',
    '| --- | --- | --- | --- | --- |',
    ...fields,
    '',
  );
  out.push('## Validation rules (CEL)', '', '| on | rule | message |', '| --- | --- | --- |', ...rules, '');
  return out.join('\n');
}

const target = `${root}docs/crd-reference.md`;
const text = render(crd);
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== text) {
    console.error('docs/crd-reference.md is out of date: run `node hack/gen-crd-docs.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
