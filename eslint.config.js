// ESLint: type-aware rules from typescript-eslint. For now only the promise-safety rules: a
// promise whose rejection nobody handles ends the whole process (issue 11: a full disk killed a
// peer that way). The rest of recommended-type-checked comes with issue 18.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'web/dist/**', 'node_modules/**', 'src/protocol/gen/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'web/src/**/*.{ts,tsx}'],
    languageOptions: {
      parser: tseslint.parser,
      // Each file is checked with its nearest tsconfig: web/src has its own (DOM, JSX).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Keys come from src/shared/keys.ts newPrivateKey only: a key kept as the generator returned
      // it can deadlock Node 20 when exported during a garbage collection (see newPrivateKey).
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:crypto', importNames: ['generateKeyPair', 'generateKeyPairSync'], message: 'use newPrivateKey() from src/shared/keys.ts' }] },
      ],
    },
  },
  { files: ['src/shared/keys.ts'], rules: { 'no-restricted-imports': 'off' } },
);
