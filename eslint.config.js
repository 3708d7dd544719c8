// Lint: typescript-eslint's type-checked rules over everything TypeScript, Prettier owning layout.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'build/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Finding control characters is the point of the escaping and printable checks.
      'no-control-regex': 'off',
      // `({ dropped: _, ...rest }) => rest` is how a field is left out.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
    },
  },
  {
    // Jest's asymmetric matchers (expect.any, objectContaining) are typed `any`, and fakes implement
    // async interfaces without awaiting anything.
    files: ['__tests__/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The layering, as in __tests__/unit/architecture.test.ts: imports flow one way, from the action
  // and the broker down to the plumbing (github/, deepgram/, shared/), never back up.
  ...layer('src/github', ['action', 'broker']),
  ...layer('src/deepgram', ['action', 'broker']),
  ...layer('src/shared', ['action', 'broker', 'github', 'deepgram']),
  ...layer('src/broker', ['action']),
  {
    // The action's flows never learn which source answers: outside sources/, only the chooser
    // (sources/credentials.ts) is imported.
    files: ['src/action/**/*.ts'],
    ignores: ['src/action/sources/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\./|(\\.\\./)+)sources/(?!credentials\\.ts$)',
              message:
                'Only sources/credentials.ts is imported from outside sources/: ask it for a source, and work through the ports in flow/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly' } },
  },
)

/** Files under `folder` may not import from the sibling folders of src/ named in `above`. */
function layer(folder, above) {
  return [
    {
      files: [`${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: above.map((name) => ({
              regex: `^(\\.\\./)+${name}/`,
              message: `${folder}/ is below src/${name}/: take what you need as a parameter instead of importing it.`,
            })),
          },
        ],
      },
    },
  ]
}
