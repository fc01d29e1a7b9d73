/*
 * Debian's Chromium (/usr/bin/chromium), driven by playwright-core, as the tests
 * run it here: headless as root, and with no network of its own, since this
 * machine's closed network refuses its background connections many at a time.
 */
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type ContextOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/** A browser with a fresh profile in `profileDir` (a directory of the test's own). */
export function launchChromium(
  profileDir: string,
  options: ContextOptions = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
}
