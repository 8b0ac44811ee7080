import { describe, it, expect } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, env, loadConfig, parseConfig } from '../../src/config.js';

const schema = z.object({
  CATALOG_PORT: env.port(8000),
  DB_POOL_MAX: env.int(10, 1, 100),
  SAMPLE: env.ratio(1),
  FLAG: env.bool(false),
  DATABASE_PASSWORD: env.string(),
});

describe('parseConfig', () => {
  it('applies defaults and converts types', () => {
    expect(parseConfig(schema, { DATABASE_PASSWORD: 's3cret', FLAG: 'true', SAMPLE: '0.25' })).toEqual({
      CATALOG_PORT: 8000,
      DB_POOL_MAX: 10,
      SAMPLE: 0.25,
      FLAG: true,
      DATABASE_PASSWORD: 's3cret',
    });
  });

  it.each([
    ['CATALOG_PORT', 'abc'],
    ['CATALOG_PORT', '70000'],
    ['CATALOG_PORT', ''],
    ['DB_POOL_MAX', '0'],
    ['SAMPLE', '1.5'],
    ['FLAG', 'yes'],
  ])('names %s in one line when it is %p', (key, value) => {
    const run = () => parseConfig(schema, { DATABASE_PASSWORD: 'x', [key]: value });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(new RegExp(`^config error: ${key} must be valid: .*\\(got "${value}"\\)$`));
  });

  it('never echoes a secret value', () => {
    const secretSchema = z.object({ API_TOKEN: z.string().min(20) });
    expect(() => parseConfig(secretSchema, { API_TOKEN: 'short-secret' })).toThrow(/value hidden/);
    expect(() => parseConfig(secretSchema, { API_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
  });

  it('hides a JWKS document and keeps a bad multi-line value on one shortened line', () => {
    const jwksSchema = z.object({ JWT_JWKS: z.string().startsWith('{"keys"'), OTHER_URL: z.url() });
    const privateJwks = '{\n  "kty": "RSA",\n  "d": "PRIVATE-PART"\n}';
    expect(() => parseConfig(jwksSchema, { JWT_JWKS: privateJwks, OTHER_URL: 'http://x' })).toThrow(
      /JWT_JWKS .*\(value hidden\)$/,
    );
    expect(() => parseConfig(jwksSchema, { JWT_JWKS: privateJwks, OTHER_URL: 'http://x' })).not.toThrow(
      /PRIVATE/,
    );
    const long = `line one\nline two ${'x'.repeat(200)}`;
    let message = '';
    try {
      parseConfig(jwksSchema, { JWT_JWKS: '{"keys":[]}', OTHER_URL: long });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain('\n');
    expect(message).toContain('(got "line one\\nline two xxx');
    expect(message.length).toBeLessThan(250);
  });

  it('says when a required variable is missing', () => {
    expect(() => parseConfig(schema, {})).toThrow(/DATABASE_PASSWORD .*it is not set/);
  });
});

describe('loadConfig', () => {
  it('writes exactly one line and exits 1 on a bad value', () => {
    const lines: string[] = [];
    const exit = (code: number): never => {
      throw new Error(`exit ${code}`);
    };
    expect(() =>
      loadConfig(schema, { env: { CATALOG_PORT: 'nope' }, writeError: (l) => lines.push(l), exit }),
    ).toThrow('exit 1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config error: CATALOG_PORT/);
    expect(lines[0]).not.toContain('\n');
  });
});
