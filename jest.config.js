import { createDefaultEsmPreset } from 'ts-jest';

/** Jest runs the TypeScript sources as ESM (Ink and friends are ESM-only). */
export default {
  ...createDefaultEsmPreset({ tsconfig: 'tsconfig.json' }),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  // ESM sources import siblings as ./x.js; map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
};
