/** Debian's Chromium for the browser tests, started headless the way this machine's closed network needs. */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p))

/** No background networking, updates or sync: they would only be refused here, many connections at a time. */
export const launchChromium = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
