/**
 * The service's own files (package.json, catalog.json, sms-templates.json) live at the project root. This finds it
 * from this module's location, not the working directory, so the same defaults hold when running
 * the sources (<root>/app/project.ts, through tsx) and the build (<root>/dist/app/project.js).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCatalog, type Catalog } from '../domain/catalog.ts';
import { parseSmsTemplates, type SmsTemplates } from '../outbound/sms-templates.ts';

const compiled = import.meta.url.endsWith('.js');

export const PROJECT_ROOT: string = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));

/** A file shipped at the project root (in the image: /app/<name>). */
export const projectFile = (name: string): string => join(PROJECT_ROOT, name);

let version: string | undefined;

/** package.json's version: one number for build_info, the OpenAPI document and the changelog. */
export const packageVersion = (): string => {
  if (version === undefined) {
    const parsed: unknown = JSON.parse(readFileSync(projectFile('package.json'), 'utf8'));
    const v = parsed !== null && typeof parsed === 'object' && 'version' in parsed ? parsed.version : undefined;
    if (typeof v !== 'string') throw new Error(`${projectFile('package.json')}: no version`);
    version = v;
  }
  return version;
};

/** The channel packages (CATALOG_FILE), validated: a bad catalog stops the start, naming the field. */
export const loadCatalog = (file: string): Catalog => parseCatalog(readJson(file, 'catalog'));

/** The SMS templates and sender signature (SMS_TEMPLATES_FILE), validated like the catalog. */
export const loadSmsTemplates = (file: string): SmsTemplates => {
  const json = readJson(file, 'SMS templates');
  try {
    return parseSmsTemplates(json);
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
};

const readJson = (file: string, what: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
};
