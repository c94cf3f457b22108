// ESLint flat config: type-checked rules plus the layer boundaries of DESIGN.md.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Imports a layer may not make (arrows point down only). */
const forbidden = {
  'src/api-types': [
    'node:*',
    '../format/*',
    '../lock/*',
    '../backend/*',
    '../datastore/*',
    '../config/*',
    '../tasks/*',
    '../server/*',
    '../client/*',
    '../cli/*',
  ],
  'src/format': [
    '../lock/*',
    '../backend/*',
    '../datastore/*',
    '../config/*',
    '../tasks/*',
    '../server/*',
    '../client/*',
    '../cli/*',
  ],
  'src/lock': ['../backend/*', '../datastore/*', '../tasks/*', '../server/*', '../client/*', '../cli/*'],
  'src/backend': ['../datastore/*', '../tasks/*', '../server/*', '../client/*', '../cli/*'],
  'src/datastore': [
    '../tasks/*',
    '../../tasks/*',
    '../server/*',
    '../../server/*',
    '../client/*',
    '../cli/*',
    'fastify',
    '@aws-sdk/*',
  ],
  'src/config': ['../datastore/*', '../tasks/*', '../server/*', '../client/*', '../cli/*'],
  'src/tasks': ['../server/*', '../client/*', '../cli/*'],
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'web/dist/', 'bin/', 'eslint.config.js', 'scripts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.entries(forbidden).map(([dir, patterns]) => ({
    files: [`${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: patterns.map((group) => ({
            group: [group],
            message: `${dir} may not import this (DESIGN.md layers)`,
          })),
        },
      ],
    },
  })),
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
)
