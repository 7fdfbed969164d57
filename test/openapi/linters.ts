/**
 * Spectral (`spectral:oas`) and Redocly (`recommended`) run on a document in memory, as an operator's
 * platform team runs them from the command line. Rules switched off, each with its reason, are in
 * test/openapi/lint-rules.ts.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Spectral, type RulesetDefinition } from '@stoplight/spectral-core';
import { oas } from '@stoplight/spectral-rulesets';
import { REDOCLY_IGNORED, REDOCLY_RULES, SPECTRAL_RULES } from './lint-rules.ts';

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

export const redoclyFindings = async (doc: unknown): Promise<Finding[]> => {
  const source = 'openapi.json';
  const ignore = { [source]: Object.fromEntries(Object.entries(REDOCLY_IGNORED).map(([rule, { pointers }]) => [rule, new Set(pointers)])) };
  const config = await createConfig({ extends: ['recommended'], rules: REDOCLY_RULES }, { ignore });
  const problems = await lintFromString({ source: JSON.stringify(doc, null, 2), absoluteRef: source, config });
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
