// Lint rules: typescript-eslint's type-aware recommended set (floating promises, unsafe any), with
// formatting left to Prettier.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'src/store/generated/',
      'coverage/',
      'web-dist/',
      'packages/*/dist/',
      // Generated from the OpenAPI document by `npm run generate:client`.
      'packages/client/src/schema.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The dashboard is checked against its own browser tsconfig (DOM, Preact JSX).
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './web/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The client package is built on its own, with its own tsconfig.
    files: ['packages/client/src/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './packages/client/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // The dashboard reaches the server only through the client package, and shares only its pure
    // domain rules: no other server code, and nothing of Node.
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/(?!domain/)',
              message: 'web/ imports only src/domain/ (pure rules) and @trainer/client (the API).',
            },
            { regex: '^node:', message: 'web/ runs in the browser: no Node modules.' },
          ],
        },
      ],
    },
  },
  {
    // Long functions hide several jobs (components too); one that must stay long says why in a disable comment.
    files: ['src/**/*.ts', 'packages/*/src/**/*.ts', 'web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
  {
    // dependency-cruiser reads its configuration as CommonJS.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The build and maintenance scripts are plain Node ESM.
    files: ['**/*.mjs', '*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['process', 'console', 'setTimeout', 'clearTimeout', 'Buffer', 'URL', 'fetch'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
  },
  prettier,
);
