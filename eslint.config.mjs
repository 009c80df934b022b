// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/**', 'node_modules/**', 'bin/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The product reaches the local cloud over HTTP, exactly as it reaches Alibaba Cloud.
    files: [
      'src/workflows/**/*.ts',
      'src/activities/**/*.ts',
      'src/cloud/**/*.ts',
      'src/worker.ts',
      'src/client.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local-cloud/**', '**/local-cloud'],
              message: 'Reach the local cloud over HTTP only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no cloud or SSH code.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'http', 'child_process'],
              message: 'Workflows must be deterministic.',
            },
            {
              group: ['**/local-cloud/**', '**/cloud/**', '**/ssh/**', 'ssh2', '@alicloud/*'],
              message: 'Workflows reach the cloud only through activities.',
            },
          ],
        },
      ],
    },
  },
);
