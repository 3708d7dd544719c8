// Tests are TypeScript compiled to CommonJS by SWC: fast, and no experimental VM modules.
// Nothing under test imports an ESM-only package: the logic takes its collaborators as
// parameters, and the end-to-end tests run the bundled dist/ as a child process.
//
// Three projects. `unit` (unit, harness and in-process broker tests) and `e2e` (dist/ as child
// processes) are the edit loop: `npx jest` runs them. `slow` holds the files named
// `*.slow.test.ts`, whose tests wait out a real deadline (a GitHub minute, a 30 s body limit);
// `npm test` and CI add it with JEST_SLOW=1, so no test is lost.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'commonjs' } },
  ],
}

/** A project over `folders` of __tests__/, with or without the slow files. */
function project(displayName, folders, slow) {
  return {
    displayName,
    testEnvironment: 'node',
    roots: ['<rootDir>/__tests__'],
    testMatch: folders.map((folder) => `<rootDir>/__tests__/${folder}/**/*.${slow ? 'slow.' : ''}test.ts`),
    testPathIgnorePatterns: slow ? [] : ['\\.slow\\.test\\.ts$'],
    transform,
  }
}

const everywhere = ['unit', 'broker', 'harness', 'e2e', 'fleet']

export default {
  projects: [
    project('unit', ['unit', 'broker', 'harness'], false),
    project('e2e', ['e2e', 'fleet'], false),
    ...(process.env.JEST_SLOW === '1' ? [project('slow', everywhere, true)] : []),
  ],
  testTimeout: 30000,
  // The end-to-end tests mostly wait on child processes and sockets, not on the CPU: three
  // workers on two cores keep both busy without starving a step of its deadline.
  maxWorkers: 3,
}
