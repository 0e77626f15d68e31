import { join } from 'node:path';
import { type RunningProxy, startProxy } from '@llmemo/proxy';
import { tempDir } from '@llmemo/test-support';
import { launchBrowser, type TestBrowser } from '@llmemo/test-support/browser';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Overview } from '../../../packages/dashboard/src/index.js';
import { fillStore, PRICES, type Traffic } from '../../../packages/dashboard/test/fixtures/traffic.js';
import { artifact, coloredPixels, digitsOf, shownNumbers, watchErrors } from './page.js';

const TOKEN = 'dashboard-admin-token-2f8c1e';

describe("the proxy's /dashboard, in Chromium, behind the admin token", () => {
  let upstream: OpenAITestServer;
  let proxy: RunningProxy;
  let origin: string;
  let traffic: Traffic;
  let browser: TestBrowser;

  const overview = async (token = TOKEN): Promise<Overview> =>
    (await (
      await fetch(`${origin}/dashboard/api/overview?range=24h`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Overview;

  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${origin}/dashboard`);
    await page.waitForSelector('body[data-ready]');
    return { page, errors };
  }

  beforeAll(async () => {
    const store = `sqlite://${join(tempDir(), 'proxy-dashboard.sqlite')}`;
    traffic = await fillStore(store);
    upstream = await createOpenAITestServer();
    proxy = await startProxy({
      upstream: upstream.url,
      port: 0,
      adminToken: TOKEN,
      cache: { store, prices: PRICES, persistStats: '50ms' },
    });
    origin = proxy.url.replace(/\/v1$/, '');
    // The proxy's own traffic on top of the scripted run's: one miss, then one hit.
    for (let i = 0; i < 2; i++) {
      await fetch(`${proxy.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-dashboard-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'through the proxy' }] }),
      });
      await proxy.proxy.flush();
    }
    browser = await launchBrowser(inject('chromiumPath'));
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await upstream?.close();
  });

  it('refuses without the token: a sign-in form, no numbers, and a 401 from the API', async () => {
    const { page } = await open();
    expect(await page.getAttribute('body', 'data-ready')).toBe('signin');
    expect(await page.isVisible('#signin')).toBe(true);
    expect(await page.isVisible('#main')).toBe(false);
    expect(await page.$$('data[data-metric]')).toHaveLength(0);
    expect((await fetch(`${origin}/dashboard/api/overview`)).status).toBe(401);
    await page.screenshot({ path: artifact('proxy-signin.png') });

    await page.fill('#token', 'not-the-admin-token');
    await page.click('#signin button[type=submit]');
    await expect.poll(() => page.textContent('#signin-error')).toBe('That token was refused.');
    expect(await page.isVisible('#main')).toBe(false);
    expect(await page.$$('data[data-metric]')).toHaveLength(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  it('with the token: the numbers, as the API has them, with no console error; the token in no URL or cookie', async () => {
    const { page, errors } = await open();
    await page.fill('#token', TOKEN);
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('body[data-ready=true]');

    const api = await overview();
    expect(api.totals).toMatchObject({ hits: traffic.hits + 1, misses: traffic.misses + 1 });
    expect(api.live?.breaker.state).toBe('closed');
    const shown = await shownNumbers(page, '#kpis');
    for (const metric of ['hits', 'staleHits', 'misses', 'bypasses', 'requests', 'writes', 'errors']) {
      const expected = (api.totals as unknown as Record<string, number>)[metric];
      expect(Number(shown[metric]?.value), metric).toBe(expected);
      expect(digitsOf(shown[metric]!.text), metric).toBe(expected);
    }
    expect(Number(shown.moneySaved?.value)).toBe(api.totals.moneySaved);
    expect(Number(shown.entries?.value)).toBe(traffic.entries + 1);
    expect(shown.breaker).toEqual({ value: 'closed', text: 'closed' });
    for (const [chart, colored] of Object.entries(await coloredPixels(page)))
      expect(colored, chart).toBeGreaterThan(10);

    expect(page.url()).not.toContain(TOKEN);
    expect(await browser.context.cookies()).toEqual([]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.screenshot({ path: artifact('proxy-dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);

    await page.click('#signout');
    await page.waitForSelector('#signin', { state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.isVisible('#main')).toBe(false);
    await page.close();
  });
});
