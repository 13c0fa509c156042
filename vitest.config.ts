import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations')
  return {
    test: {
      projects: [
        {
          // Behaviour through HTTP, inside workerd.
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
                  UNIFIED_TIMEOUT_MS: '2000',
                  // One connection's pace pinned, for the pacing tests; the others adapt.
                  UNIFIED_MAX_CALLS_PER_SECOND: 'conn-pinned=4',
                  OPERATOR_TOKEN: 'test-operator-token',
                  HASH_SECRET: 'test-hash-secret-5d1e',
                  TURNSTILE_SECRET_KEY: '1x0000000000000000000000000000000AA', // Cloudflare's always-pass test secret
                  TURNSTILE_VERIFY_URL: `${inject('standinUrl')}/turnstile/v0/siteverify`,
                  // Two secrets each, as during a rotation; the Typeform one is from its own client's test vector.
                  TYPEFORM_WEBHOOK_SECRET: 'tf-retired-secret-91c2,my-webook-secret',
                  STRIPE_WEBHOOK_SECRET: 'whsec_test_retired_4e7a,whsec_test_current_9b2f',
                  // A Meta Lead Ads endpoint whose leads the consumer reads back from the stand-in's Graph (test/meta-lead-ads.test.ts).
                  // LinkedIn Lead Gen endpoints read back from the stand-in's LinkedIn, one writing test leads (test/linkedin-lead-gen.test.ts).
                  // …and an endpoint whose leads notify the channels below (test/notify.test.ts).
                  WEBHOOKS: JSON.stringify({
                    'meta-ads': { preset: 'meta-lead-ads', graph_api_url: `${inject('standinUrl')}/graph/v25.0` },
                    'li-leads': { preset: 'linkedin-lead-gen', api_url: `${inject('standinUrl')}/linkedin/rest` },
                    'li-tests': { preset: 'linkedin-lead-gen', api_url: `${inject('standinUrl')}/linkedin/rest`, write_test_leads: true },
                    'notify-hook': {
                      preset: 'standard-webhooks',
                      event_types: ['person.created'],
                      source: 'Notify test',
                      fields: { email: '/email', first_name: '/first_name', last_name: '/last_name', company_name: '/company', phone: '/phone', message: '/message' },
                      notify: ['sales', 'teams', 'hooks'],
                    },
                  }),
                  WEBHOOK_SECRET_NOTIFY_HOOK: 'whsec_kSSZaucohHkf6ckTl/Hstmg9Jv765fSJ',
                  // Notification channels, each a receiver of the stand-in's (standin/sinks.ts), and the operator's alerts.
                  CHANNELS: JSON.stringify({ sales: { kind: 'slack' }, teams: { kind: 'teams' }, hooks: { kind: 'webhook' }, ops: { kind: 'slack' } }),
                  CHANNEL_URL_SALES: `${inject('standinUrl')}/sinks/sales`,
                  CHANNEL_URL_TEAMS: `${inject('standinUrl')}/sinks/teams`,
                  CHANNEL_URL_HOOKS: `${inject('standinUrl')}/sinks/hooks`,
                  CHANNEL_SECRET_HOOKS: 'whsec_ubC3zHnriAwynj6wJqkYsTmPvtxaaNBu',
                  CHANNEL_URL_OPS: `${inject('standinUrl')}/sinks/ops`,
                  ALERTS: JSON.stringify(['ops']),
                  ALERT_FAILURES: '2',
                  PUBLIC_URL: 'https://intake.example',
                  WEBHOOK_SECRET_META_ADS: 'meta-app-secret-3b8d',
                  WEBHOOK_TOKEN_META_ADS: 'meta-verify-token-c41e',
                  WEBHOOK_ACCESS_TOKEN_META_ADS: 'meta-page-token-77a0',
                  WEBHOOK_SECRET_LI_LEADS: 'li-client-secret-6e21',
                  WEBHOOK_ACCESS_TOKEN_LI_LEADS: 'li-member-token-0c9d',
                  WEBHOOK_SECRET_LI_TESTS: 'li-client-secret-6e21',
                  WEBHOOK_ACCESS_TOKEN_LI_TESTS: 'li-member-token-0c9d',
                  TEST_MIGRATIONS: migrations,
                },
              },
            })),
          ],
          test: {
            name: 'workers',
            globalSetup: ['./test/global-setup.ts'],
            setupFiles: ['./test/apply-migrations.ts'],
            include: ['test/*.test.ts'],
            // One stand-in serves every file: files run one after another so counters stay theirs.
            fileParallelism: false,
            testTimeout: 60_000,
            // The Worker's log lines go straight to stdout. Intercepted, a line logged by background
            // work (the queue consumer, after the last assertion) is still an RPC in flight when its
            // file tears down, and vitest reports that as an unhandled error (CI of stop 25).
            disableConsoleIntercept: true,
          },
        },
        {
          // A person's path through `npm run dev`'s stack, in a real browser (Node side).
          test: {
            name: 'e2e',
            environment: 'node',
            include: ['test/e2e/*.test.ts'],
            testTimeout: 120_000,
          },
        },
      ],
    },
  }
})
