/** Files operators read before running anything: .env.example and CHANGELOG.md stay true to the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../app/config.ts';
import { PROJECT_ROOT, packageVersion } from '../app/project.ts';

const read = (name: string): string => readFileSync(join(PROJECT_ROOT, name), 'utf8');

describe('.env.example', () => {
  const entries = [...read('.env.example').matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({
    active: m[1] === undefined,
    name: m[2] ?? '',
    value: m[3] ?? '',
  }));
  const active = Object.fromEntries(entries.filter((e) => e.active).map((e) => [e.name, e.value]));
  const examples = Object.fromEntries(entries.map((e) => [e.name, e.value]));

  it('lists every variable the configuration reads, each once, and nothing else', () => {
    const names = entries.map((e) => e.name);
    expect([...names].sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(new Set(names).size).toBe(names.length);
  });

  it('its active lines are the defaults: loading them gives the configuration of an empty environment', () => {
    expect(loadConfig(active)).toEqual(loadConfig({}));
  });

  it('its examples, all set, are a valid production configuration', () => {
    const config = loadConfig(examples);
    expect(config.production).toBe(true);
    expect(config.devTokens).toBe(false);
    expect(config.eventstoreUrl).toBeDefined();
    expect(config.mongodbUrl).toBeDefined();
    expect(config.openPlatformCallback).toBeDefined();
  });
});

describe('CHANGELOG.md', () => {
  it('starts with the version in package.json, and its first release is 0.1.0', () => {
    const versions = [...read('CHANGELOG.md').matchAll(/^## \[(\d+\.\d+\.\d+)\]/gm)].map((m) => m[1]);
    expect(versions[0]).toBe(packageVersion());
    expect(versions.at(-1)).toBe('0.1.0');
  });
});
