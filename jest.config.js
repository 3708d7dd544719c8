// Tests are TypeScript compiled to CommonJS by SWC: fast, and no experimental VM modules.
// Nothing under test imports an ESM-only package: the logic takes its collaborators as
// parameters, and the end-to-end tests run the bundled dist/ as a child process.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'commonjs' } },
    ],
  },
  testTimeout: 30000,
}
