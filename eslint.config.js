// ESLint: typescript-eslint's type-aware recommended rules (recommendedTypeChecked), for the code
// and its tests. The promise-safety rules came first: a promise whose rejection nobody handles ends
// the whole process (issue 11: a full disk killed a peer that way). The rest came with issue 18;
// where a rule is adjusted or off, the reason is written next to it.
import tseslint from 'typescript-eslint';

const CODE = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'web/src/**/*.{ts,tsx}'];
const TESTS = ['**/*.test.ts', 'test/**/*.ts'];

// The three promise-safety rules, on everywhere since issue 11.
const PROMISE_RULES = [
  '@typescript-eslint/no-floating-promises',
  '@typescript-eslint/no-misused-promises',
  '@typescript-eslint/await-thenable',
];

export default tseslint.config(
  { ignores: ['dist/**', 'web/dist/**', 'node_modules/**', 'src/protocol/gen/**'] },
  {
    files: CODE,
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parser: tseslint.parser,
      // Each file is checked with its nearest tsconfig: web/src has its own (DOM, JSX).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      ...Object.fromEntries(PROMISE_RULES.map((rule) => [rule, 'error'])),
      // Off: every `async` function without an `await` here (88 when this was decided) implements a
      // promise-returning contract: a port method (JobQueue, Throttle, a registry, an index), a
      // Fastify hook or handler (a hook that is not async must call `done`, or the request hangs),
      // or a test double of one. `async` makes a throw a rejection, which is what their callers
      // handle; dropping it would turn those rejections into synchronous throws.
      '@typescript-eslint/require-await': 'off',
      // Omitting a property by destructuring it away (`const { secret: _, ...rest } = o`) is the idiom
      // for a copy without it; the named-but-unused binding is the point.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // A rejection may pass on a value of unknown type, as `throw` may (only-throw-error's defaults):
      // an AbortSignal's reason is typed `any`, and the code that aborted looks for its own reason
      // (transfer.ts compares it with its STOPPED symbol, download-manager.ts tests for an
      // Interruption), so wrapping it in an Error would break them. A literal or a known non-Error
      // is still refused.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // Keys come from src/shared/keys.ts newPrivateKey only: a key kept as the generator returned
      // it can deadlock Node 20 when exported during a garbage collection (see newPrivateKey).
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:crypto',
              importNames: ['generateKeyPair', 'generateKeyPairSync'],
              message: 'use newPrivateKey() from src/shared/keys.ts',
            },
          ],
        },
      ],
    },
  },
  {
    files: TESTS,
    rules: {
      // Vitest types its asymmetric matchers (expect.any, expect.stringMatching, …) as `any` by
      // design, so they fit any field of an expected object: in tests this rule flags every one of
      // them. An untyped value a test then uses is still caught by no-unsafe-member-access, -call,
      // -argument and -return.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  { files: ['src/shared/keys.ts'], rules: { 'no-restricted-imports': 'off' } },
);
