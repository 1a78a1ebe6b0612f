import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-redis.ts', 'test/helpers/global-postgres.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: two files at a time keeps timing assertions honest.
    maxWorkers: 2,
  },
});
