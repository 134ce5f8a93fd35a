// Lint: typescript-eslint's recommended type-aware rules, plus the module boundaries that
// keep codecs pure. Formatting is prettier's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'bench/results/', 'traces/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='only']",
          message: 'focused tests hide the rest',
        },
      ],
    },
  },
  {
    // src/wire is pure codecs: from roam only errors.ts; from node only buffer and net (isIP).
    // Sockets, timers, crypto and everything else belong to the session layer.
    files: ['src/wire/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!errors\\.js$)',
              message: 'src/wire imports nothing from roam but ../errors.js',
            },
            {
              regex: '^(?!\\.|node:(buffer|net)$)',
              message: 'src/wire is pure: no I/O, timers or crypto (node:buffer and node:net only)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
