/**
 * Spectral (`spectral:oas`) and Redocly (`recommended`) run on a document in memory, as an operator's
 * platform team runs them from the command line. Redocly reads the shipped redocly.yaml and
 * .redocly.lint-ignore.yaml (rules off and places ignored, each with its reason); Spectral's rules
 * switched off (none) are in test/openapi/lint-rules.ts.
 */
import { join } from 'node:path';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { Spectral, type RulesetDefinition } from '@stoplight/spectral-core';
import { oas } from '@stoplight/spectral-rulesets';
import { PROJECT_ROOT } from '../../app/project.ts';
import { SPECTRAL_RULES } from './lint-rules.ts';

export type Finding = { tool: 'spectral' | 'redocly'; severity: 'error' | 'warning'; rule: string; where: string; message: string };

export const spectralFindings = async (doc: unknown): Promise<Finding[]> => {
  const spectral = new Spectral();
  const ruleset: RulesetDefinition = { extends: [[oas as RulesetDefinition, 'recommended']], rules: SPECTRAL_RULES };
  spectral.setRuleset(ruleset);
  const results = await spectral.run(JSON.stringify(doc, null, 2));
  // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint; the last two are not findings.
  return results
    .filter((r) => r.severity <= 1)
    .map((r) => ({
      tool: 'spectral' as const,
      severity: r.severity === 0 ? ('error' as const) : ('warning' as const),
      rule: String(r.code),
      where: r.path.join('.'),
      message: r.message,
    }));
};

/** The document as an operator saves it beside the shipped redocly.yaml and .redocly.lint-ignore.yaml. */
export const redoclyFindings = async (doc: unknown): Promise<Finding[]> => {
  const config = await loadConfig({ configPath: join(PROJECT_ROOT, 'redocly.yaml') });
  const problems = await lintFromString({ source: JSON.stringify(doc, null, 2), absoluteRef: join(PROJECT_ROOT, 'openapi.json'), config });
  return problems
    .filter((p) => !p.ignored && (p.severity === 'error' || p.severity === 'warn'))
    .map((p) => ({
      tool: 'redocly' as const,
      severity: p.severity === 'error' ? ('error' as const) : ('warning' as const),
      rule: p.ruleId,
      where: p.location.map((l) => l.pointer ?? '').join(' '),
      message: p.message,
    }));
};
