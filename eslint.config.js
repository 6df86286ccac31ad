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
    // Command-line entry points and benchmarks talk to a person on the terminal.
    files: ['scripts/**', 'bench/**', 'local/cli/**', '**/*.cli.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
