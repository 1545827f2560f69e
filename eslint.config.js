// One lint setup for the whole tree: typed rules, no floating promises, and the
// architecture's import boundaries (only testbeds/ may spawn system tools).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'halfopen-runs/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'after', 'before'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // core/, advise/, scenario/, report/ and the strategy definitions are pure: no I/O, no processes.
    files: [
      'src/advise/**/*.ts',
      'src/scenario/**/*.ts',
      'src/report/**/*.ts',
      'src/strategies/**/*.ts',
      'src/core/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:child_process', 'node:net'],
              message: 'pure code: no processes, no sockets',
            },
            {
              group: ['../testbeds/*', '../runner/*'],
              allowTypeImports: true,
              message: 'types only',
            },
          ],
        },
      ],
    },
  },
  {
    // Only testbeds/ spawns ip/iptables; clients and targets are processes of their own.
    files: ['src/**/*.ts'],
    // docs/examples.ts runs the CLI to regenerate the docs' examples.
    ignores: [
      'src/testbeds/**',
      'src/advise/**',
      'src/scenario/**',
      'src/report/**',
      'src/docs/examples.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:child_process', 'child_process'] }],
    },
  },
);
