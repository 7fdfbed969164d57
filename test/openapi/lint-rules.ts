/** What the lint tests switch off, each with its reason. Prefer fixing the document. */

/** Spectral `spectral:oas` rules switched off: none. */
export const SPECTRAL_RULES: Record<string, 'off'> = {};

/** Redocly `recommended` rules switched off. */
export const REDOCLY_RULES: Record<string, 'off'> = {
  // The service is proprietary (package.json has no licence): there is no licence page to link to.
  'info-license-strict': 'off',
};

/** Redocly findings ignored at named places only (as a .redocly.lint-ignore.yaml would), with the reason. */
export const REDOCLY_IGNORED: Record<string, { reason: string; pointers: readonly string[] }> = {
  'operation-4xx-response': {
    reason: 'the probes and the scrape take no input and no credentials: they cannot refuse a request',
    pointers: ['#/paths/~1healthz/get/responses', '#/paths/~1readyz/get/responses', '#/paths/~1metrics/get/responses'],
  },
};
