// ESLint flat config: type-checked typescript-eslint rules. `checkThenables` matters here:
// a durable operation returns a lazy DurablePromise, and a forgotten `await` silently skips it.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      'bench/results/',
      'dist/',
      'samples/',
      '.local/',
      'coverage/',
      '**/*.js',
      '!eslint.config.js',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { checkThenables: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // Settings are read once, in shared/config.ts; anywhere else a setting would escape validation.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through shared/config.ts.' },
      ],
    },
  },
  {
    // Workflows own time: the domain code makes one attempt and returns, it never waits (a Lambda that
    // sleeps is billed for it and hides what this project measures). Timers belong to local/.
    files: ['shared/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({
          name,
          message:
            'shared/ never waits: return "not yet" or throw a named retryable error; the workflow waits.',
        })),
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:timers', 'node:timers/promises', 'timers', 'timers/promises'].map((name) => ({
            name,
            message: 'shared/ never waits; the workflow owns every timer.',
          })),
        },
      ],
    },
  },
  {
    // Command-line entry points and benchmarks talk to a person on the terminal.
    files: ['scripts/**', 'bench/**', 'local/cli/**', '**/*.cli.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bin's shim: plain JavaScript that registers tsx and runs cli/main.ts.
    files: ['cli/dvs.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly' },
    },
  },
);
