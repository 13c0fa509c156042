import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations')
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // The Worker under test talks to the stand-in started by global-setup.ts.
          bindings: {
            UNIFIED_API_URL: inject('standinUrl'),
            UNIFIED_API_KEY: 'unified-secret-7f3a9c',
            UNIFIED_CONNECTION_ID: 'conn-test',
            // Short delays and budget so retry scenarios finish in seconds.
            DELIVERY_BASE_DELAY_SECONDS: '1',
            DELIVERY_MAX_ATTEMPTS: '4',
            OPERATOR_TOKEN: 'test-operator-token',
            TURNSTILE_SECRET_KEY: '1x0000000000000000000000000000000AA', // Cloudflare's always-pass test secret
            TURNSTILE_VERIFY_URL: `${inject('standinUrl')}/turnstile/v0/siteverify`,
            TEST_MIGRATIONS: migrations,
          },
        },
      })),
    ],
    test: {
      globalSetup: ['./test/global-setup.ts'],
      setupFiles: ['./test/apply-migrations.ts'],
      include: ['test/**/*.test.ts'],
      // One stand-in serves every file: files run one after another so counters stay theirs.
      fileParallelism: false,
      testTimeout: 60_000,
    },
  }
})
