// One lint config for the whole workspace. The module-boundary rules are the
// architecture made executable: a service may import only shared libraries
// and its own scope, never another service.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const scopes = [
  'gateway',
  'auth',
  'pipeline-registry',
  'job-scheduler',
  'worker',
  'datasource-broker',
];

const depConstraints = [
  // Scope: a service sees itself and the shared libraries; shared sees only shared.
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  ...scopes.map((scope) => ({
    sourceTag: `scope:${scope}`,
    onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'],
  })),
  { sourceTag: 'scope:test', onlyDependOnLibsWithTags: ['scope:shared'] },
  // Standalone mode composes every service in one process; the CLI starts it.
  {
    sourceTag: 'scope:standalone',
    onlyDependOnLibsWithTags: [
      'scope:standalone',
      'scope:shared',
      ...scopes.map((s) => `scope:${s}`),
    ],
  },
  {
    sourceTag: 'scope:cli',
    onlyDependOnLibsWithTags: ['scope:cli', 'scope:standalone', 'scope:shared'],
  },
  // Type: layering from apps down to contracts. A composition (standalone mode,
  // the CLI that starts it) assembles whole applications in one process.
  {
    sourceTag: 'type:composition',
    onlyDependOnLibsWithTags: [
      'type:composition',
      'type:app',
      'type:feature',
      'type:data-access',
      'type:contracts',
      'type:util',
    ],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:contracts', 'type:util'],
  },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:contracts', 'type:util'],
  },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:contracts', 'type:util'],
  },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:contracts', 'type:util'],
  },
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:testing',
      'type:feature',
      'type:data-access',
      'type:contracts',
      'type:util',
    ],
  },
];

// Test files (and only they) may also use the testing library.
const testDepConstraints = depConstraints.map((c) =>
  c.sourceTag.startsWith('type:')
    ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
    : c,
);

function boundaries(constraints, allow = []) {
  return {
    enforceBuildableLibDependency: false,
    banTransitiveDependencies: false,
    allow,
    depConstraints: constraints,
  };
}

export default [
  {
    ignores: [
      '**/node_modules',
      '**/dist',
      '**/coverage',
      '.nx',
      'tmp',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { disallowTypeAnnotations: false, fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@cloudflow/*/*'],
              message: 'Import a library only through its public entry (@cloudflow/<name>).',
            },
            {
              group: ['../../libs/*', '../../../libs/*', '../../../../libs/*', '*/services/*'],
              message: 'Cross-project relative imports are not allowed; use @cloudflow/<name>.',
            },
          ],
        },
      ],
      '@nx/enforce-module-boundaries': ['error', boundaries(depConstraints)],
    },
  },
  {
    // Standalone mode composes the six applications from their exported
    // definitions; the CLI's `start` runs standalone mode.
    files: ['apps/standalone/**/*.ts', 'apps/cli/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        boundaries(depConstraints, ['@cloudflow/service-*', '@cloudflow/standalone']),
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries(testDepConstraints)],
    },
  },
  {
    // Cross-service integration suites compose the six applications in the
    // test process (one tracer sees them all), as standalone mode does.
    files: ['test/integration/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        boundaries(testDepConstraints, ['@cloudflow/service-*']),
      ],
    },
  },
  prettier,
];
