// The import rules of the house (see the layout in the README's "Architecture"), checked by
// `npm run lint`: imports flow one way, main -> api | worker -> queue | store | history | datasets ->
// domain, and worker -> training -> domain; a cycle, even of types only, is an arrow the wrong way.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle, even of types only, is an import pointing the wrong way.',
      from: { path: '^(src|web/src|packages/client/src)/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing-of-ours',
      severity: 'error',
      comment: 'The domain is the vocabulary and the rules: everything may use it, it uses nothing.',
      from: { path: '^src/domain/' },
      to: { path: '^(src/(?!domain/)|web/|packages/)' },
    },
    {
      name: 'nothing-imports-main',
      severity: 'error',
      comment:
        'Only main/ starts processes and wires the rest together (benchmarks, processes themselves, start parts as it does).',
      from: { path: '^src/(?!main/|bench/)' },
      to: { path: '^src/main/' },
    },
    {
      name: 'training-knows-no-http-queue-or-store',
      severity: 'error',
      comment: 'Training is tfjs and the fast path: no HTTP, queue or database.',
      from: { path: '^src/training/' },
      to: { path: '^src/(api|store|queue|events|worker|inference|main)/' },
    },
    {
      name: 'api-knows-no-tensors',
      severity: 'error',
      comment: 'Routes know nothing of tensors: predictions go through inference/, training through the queue.',
      from: { path: '^src/api/' },
      to: { path: '^src/(training|worker)/' },
    },
    {
      name: 'api-schemas-and-routes-know-no-store',
      severity: 'error',
      comment: "Routes and their schemas speak the domain's vocabulary; services talk to the store.",
      from: { path: '^src/api/.+(routes|schemas)\\.ts$' },
      to: { path: '^src/store/' },
    },
    {
      name: 'history-and-datasets-import-only-domain',
      severity: 'error',
      comment:
        'What is computed from runs and what reads data take plain domain values: no HTTP, store or queue types.',
      from: { path: '^src/(history|datasets)/' },
      to: { path: '^src/', pathNot: '^src/(domain|$1)/' },
    },
    {
      name: 'store-and-queue-know-no-callers',
      severity: 'error',
      comment: 'Storage and queue wiring serve the API and the workers; they never call back into them.',
      from: { path: '^src/(store|queue|events)/' },
      to: { path: '^src/(api|worker|training|inference|cli|bench)/' },
    },
    {
      name: 'worker-knows-no-http',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/(api|cli|bench)/' },
    },
    {
      name: 'web-imports-only-domain-and-client',
      severity: 'error',
      comment: 'The dashboard shares only the pure domain rules and reaches the API through the client.',
      from: { path: '^web/src/' },
      to: { path: '^(src/(?!domain/)|packages/client/(?!src/))' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(src/store/generated|node_modules)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['source', 'import', 'types', 'default'] },
  },
};
