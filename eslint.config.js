import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CLIENT_NODE_VALUES = 'import KubeConfig from runtime/kubeconfig.js (types from the package are fine)';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bin/**', 'charts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The operator loads client-node's KubeConfig through runtime/kubeconfig.ts, without the generated API
    // clients; a value import of the package (or an inline `type` import, which still loads it) would load them
    // all again: about 40 MB of the operator's memory.
    files: ['operator/src/**/*.ts'],
    ignores: ['operator/src/runtime/kubeconfig.ts', 'operator/src/runtime/client-node-gen-subset.ts'],
    rules: {
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@kubernetes/client-node', allowTypeImports: true, message: CLIENT_NODE_VALUES }],
          patterns: [
            { group: ['@kubernetes/client-node/*'], allowTypeImports: true, message: CLIENT_NODE_VALUES },
          ],
        },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/src/cli.ts', 'hack/**/*.ts', 'hack/**/*.mjs', 'bench/**/*.ts', '*.js'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
