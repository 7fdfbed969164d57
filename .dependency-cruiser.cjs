/**
 * The folders' import rules (docs/ARCHITECTURE.md): each folder imports only what sits below it, and
 * nothing imports in a circle. Checked by `npm run check:imports`, part of `npm test`.
 */
const folder = (name) => `^${name}/`;
const allowed = {
  domain: ['domain'],
  stores: ['stores'],
  integrations: ['integrations'],
  // The process reactor is a consumer of the log: it implements the Projection contract.
  commands: ['domain', 'stores', 'commands', 'projections/projection\\.ts$'],
  projections: ['domain', 'stores', 'projections'],
  outbound: ['domain', 'commands', 'stores', 'integrations', 'projections', 'outbound'],
  http: ['domain', 'commands', 'stores', 'integrations', 'projections', 'outbound', 'http'],
  app: ['domain', 'commands', 'stores', 'integrations', 'projections', 'outbound', 'http', 'app'],
  scripts: ['domain', 'commands', 'stores', 'integrations', 'projections', 'outbound', 'http', 'app', 'scripts'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import each other in a circle.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(allowed).map(([from, to]) => ({
      name: `${from}-imports-only-below`,
      severity: 'error',
      comment: `${from}/ may import only ${to.join(', ')}.`,
      from: { path: folder(from), pathNot: '\\.test\\.ts$' },
      to: {
        path: '^(domain|stores|integrations|commands|projections|outbound|http|app|scripts)/',
        pathNot: to.map((t) => (t.includes('/') ? `^${t}` : folder(t))),
      },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test)/|\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
