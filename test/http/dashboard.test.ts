/**
 * The dashboard end to end: the real HTTP service on an ephemeral loopback port over a real
 * SQLite file filled from real header fixtures, driven by Debian's Chromium through
 * playwright-core. Protects what issue #7 promises support and marketing: the figures are the
 * server's, lookups and exports work (the export byte-for-byte equal to the CLI's), a failing
 * poller is announced, tokens are asked for once and kept in session storage, and the page
 * never talks to anything but its own origin.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { loadConfig, imapAccountSchema, pollSchema } from '../../src/config/index.js';
import { openApp, importPaths, silentLogger, type AppContext } from '../../src/app/index.js';
import { Poller, appSink } from '../../src/app/poll.js';
import { startServer, loadTokens, tokensFrom } from '../../src/http/index.js';
import { builtCli } from '../helpers/built.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIXTURES = [join(ROOT, 'test/fixtures/dashboard/messages'), join(ROOT, 'scripts/demo/sample.mbox'), join(ROOT, 'test/fixtures/dashboard/hostile')];
const HOSTILE_MAILER = '<img src="http://198.51.100.7/x.png" onerror="document.title=1">Evil<script>document.title=2</script>';
const CLI = builtCli();
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const READ_TOKEN = 'dashboard-test-read-token-0123456789';

interface Service {
  url: string;
  server: FastifyInstance;
  app: AppContext;
}

let dir: string;
let dbPath: string;
let browser: Browser;
let open: Service;
let guarded: Service;
let poller: Poller;
let failingPort: number;

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A page that records every request URL, every console error and every CSP violation, so each
 * test can assert that nothing left the origin and nothing was blocked.
 */
async function openPage(svc: Service, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; context: BrowserContext; requests: string[]; problems: string[] }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC', acceptDownloads: true });
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(svc.url + '/');
  return { page, context, requests, problems };
}

function expectSameOrigin(svc: Service, requests: string[]): void {
  expect(requests.length).toBeGreaterThan(3);
  const origin = new URL(svc.url).origin;
  // blob: URLs are the browser's own memory (token-protected export), still this origin's.
  const foreign = requests.filter((u) => !(u.startsWith(origin + '/') || u.startsWith(`blob:${origin}/`)));
  expect(foreign).toEqual([]);
}

async function api<T>(svc: Service, path: string, token?: string): Promise<T> {
  const res = await fetch(svc.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

function cliExport(args: string[] = []): Buffer {
  return execFileSync(process.execPath, [CLI, '--db', dbPath, '--log-level', 'silent', 'export', ...args], { maxBuffer: 64 * 1024 * 1024 });
}

async function loaded(page: Page): Promise<void> {
  await page.waitForSelector('body[data-loaded]', { timeout: 30_000 });
}

interface Stats {
  addresses: number;
  messages: number;
  byRecommendation: Record<'sign' | 'do-not-sign' | 'unknown', number>;
  byFamily: Array<{ family: string | null; smime: string | null; addresses: number; sign: number }>;
  byMonth: Array<{ month: string; messages: number; activeAddresses: number; signable: number }>;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
  dir = mkdtempSync(join(tmpdir(), 'census-dashboard-'));
  dbPath = join(dir, 'census.db');
  const config = loadConfig({ env: {} });
  const seed = openApp({ config, dbPath, logger: silentLogger() });
  await importPaths(seed, FIXTURES);
  seed.close();

  // Service 1: loopback without tokens, with one poller whose IMAP server is not there.
  failingPort = await closedPort();
  const app = openApp({ config, dbPath, logger: silentLogger() });
  const account = imapAccountSchema.parse({ name: 'support-mailbox', host: '127.0.0.1', port: failingPort, tls: 'plain', allowPlain: true, user: 'support', passwordEnv: 'DASHBOARD_TEST_PW', folders: ['INBOX'] });
  const poll = pollSchema.parse({ backoffInitialMs: 60_000, backoffMaxMs: 60_000, connectTimeoutMs: 2_000 });
  poller = new Poller({ accounts: [account], poll, sink: appSink(app), logger: silentLogger(), env: { DASHBOARD_TEST_PW: 'not-a-secret' }, progressLog: false });
  poller.start();
  const s1 = await startServer({ app, tokens: tokensFrom({}), pollers: [poller], logger: silentLogger(), host: '127.0.0.1', port: 0 });
  open = { ...s1, app };

  // Service 2: the same database behind a read token read from a token file.
  const tokenFile = join(dir, 'read.token');
  writeFileSync(tokenFile, READ_TOKEN + '\n', { mode: 0o600 });
  const app2 = openApp({ config, dbPath, logger: silentLogger() });
  const s2 = await startServer({ app: app2, tokens: loadTokens({ readTokenFile: tokenFile }), logger: silentLogger(), host: '127.0.0.1', port: 0 });
  guarded = { ...s2, app: app2 };

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await poller?.stop();
  for (const s of [open, guarded]) {
    await s?.server.close();
    s?.app.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('shows the headline figures, family and month charts of /v1/stats, with text alternatives, on a laptop and a phone', async () => {
    const { page, context, requests, problems } = await openPage(open);
    await loaded(page);
    const stats = await api<Stats>(open, '/v1/stats');
    expect(stats.addresses).toBeGreaterThan(10);

    const figure = async (k: string) => page.getAttribute(`[data-figure="${k}"]`, 'data-value');
    expect(await figure('addresses')).toBe(String(stats.addresses));
    expect(await figure('messages')).toBe(String(stats.messages));
    for (const rec of ['sign', 'do-not-sign', 'unknown'] as const) expect(await figure(rec)).toBe(String(stats.byRecommendation[rec]));
    expect(await page.textContent('[data-figure="addresses"]')).toBe(stats.addresses.toLocaleString('en-US'));
    const unknownShare = ((100 * stats.byRecommendation.unknown) / stats.addresses).toFixed(1).replace(/\.0$/, '');
    expect(await page.textContent('[data-share="unknown"]')).toContain(`${unknownShare}%`);

    // Family chart: one bar per family up to 15, the rest as "other"; its label names every bar.
    const familyLabel = (await page.getAttribute('#family-chart svg', 'aria-label')) ?? '';
    const bars = await page.locator('#family-chart svg rect:not(.track)').count();
    expect(bars).toBe(Math.min(stats.byFamily.length, 15) + (stats.byFamily.length > 15 ? 1 : 0));
    for (const f of stats.byFamily.slice(0, 15)) expect(familyLabel).toContain(`${f.family ?? 'unrecognised'} ${f.addresses.toLocaleString('en-US')}`);
    const verifyFamilies = stats.byFamily.slice(0, 15).filter((f) => f.smime === 'verify').length;
    expect(verifyFamilies).toBeGreaterThan(0);
    expect(await page.locator('#family-chart rect.smime-verify').count()).toBe(verifyFamilies);
    expect(await page.locator('#family-table tbody tr').count()).toBe(stats.byFamily.length);

    // Month chart and its table.
    const months = stats.byMonth;
    // The chart is a real time axis: the 24 calendar months up to the latest, one bar per month with mail.
    const [ly, lm] = months[months.length - 1]!.month.split('-').map(Number) as [number, number];
    const start = new Date(Date.UTC(ly, lm - 1 - 23, 1)).toISOString().slice(0, 7);
    const inWindow = months.filter((m) => m.month >= start && m.activeAddresses > 0);
    expect(inWindow.length).toBeLessThan(months.length); // the fixture spans more than two years
    expect(await page.locator('#month-chart rect.month-bar').count()).toBe(inWindow.length);
    expect(await page.locator('#month-chart circle.dot').count()).toBe(inWindow.length);
    expect(await page.getAttribute('#month-chart svg', 'aria-label')).toContain(months[months.length - 1]!.month);
    expect(await page.locator('#month-table tbody tr').count()).toBe(months.length);
    await page.click('#h-months ~ details summary');
    const firstRow = page.locator('#month-table tbody tr').first();
    const latest = months[months.length - 1]!;
    expect(await firstRow.locator('th').textContent()).toBe(latest.month);
    expect(await firstRow.locator('td').nth(1).textContent()).toBe(latest.activeAddresses.toLocaleString('en-US'));

    // Unrecognised values: the server's report, rendered as text (values come from hostile mail).
    const unknown = await api<{ unknown: Array<{ header: string; value: string; count: number }> }>(open, '/v1/unknown-headers?top=20');
    expect(unknown.unknown.length).toBeGreaterThan(0);
    const rows = page.locator('#unknown-table tbody tr');
    expect(await rows.count()).toBe(unknown.unknown.length);
    expect(await rows.first().locator('td.value').textContent()).toBe(unknown.unknown[0]!.value);

    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expectSameOrigin(open, requests);
    expect(problems).toEqual([]);
    await context.close();

    // Phone width: same content, nothing wider than the screen.
    const phone = await openPage(open, { width: 390, height: 844 });
    await loaded(phone.page);
    expect(await phone.page.getAttribute('[data-figure="addresses"]', 'data-value')).toBe(String(stats.addresses));
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const svgWidth = await phone.page.evaluate(() => document.querySelector('#family-chart svg')?.getBoundingClientRect().width ?? 0);
    expect(svgWidth).toBeGreaterThan(200);
    expect(svgWidth).toBeLessThanOrEqual(390);
    await phone.page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    expectSameOrigin(open, phone.requests);
    expect(phone.problems).toEqual([]);
    await phone.context.close();
  });

  it('warns clearly when a mailbox poller is failing', async () => {
    await until(() => poller.status().some((s) => s.state === 'backoff' || s.state === 'failed'), 'the poller to fail');
    const { page, context, requests, problems } = await openPage(open);
    await loaded(page);
    const alert = page.locator('#poller-alert[role="alert"]');
    await alert.waitFor({ state: 'visible' });
    expect(await alert.textContent()).toMatch(/Warning: a mailbox poller is failing/);
    const item = page.locator('[data-poller-warning="support-mailbox/INBOX"]');
    expect(await item.textContent()).toMatch(/support-mailbox \/ INBOX (cannot sync and is retrying|has failed)/);
    expect(await item.textContent()).toContain(poller.status()[0]!.lastError!.code);
    expect(await page.getAttribute('tr[data-poller="support-mailbox/INBOX"]', 'data-state')).toMatch(/^(backoff|failed)$/);
    expectSameOrigin(open, requests);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows hostile header values as text, never as markup', async () => {
    const { page, context, requests, problems } = await openPage(open);
    await loaded(page);
    const cell = page.locator('#unknown-table td.value', { hasText: 'Evil' });
    expect(await cell.textContent()).toBe(HOSTILE_MAILER);
    expect(await page.locator('#unknown-table img, #unknown-table script').count()).toBe(0);
    expect(await page.title()).toBe('S/MIME census');
    expect(requests.some((u) => u.includes('198.51.100.7'))).toBe(false);
    expectSameOrigin(open, requests);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('reaches every control with the Tab key alone', async () => {
    const { page, context } = await openPage(open);
    await loaded(page);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      seen.add(await page.evaluate(() => {
        const a = document.activeElement;
        return a ? a.id || a.getAttribute('aria-label') || a.textContent?.trim().slice(0, 30) || a.tagName : '';
      }));
    }
    for (const want of ['Skip to content', 'refresh', 'Data table', 'lookup-address', 'export-recommendation', 'export-family', 'export-since', 'Download CSV']) expect([...seen]).toContain(want);
    await context.close();
  });

  it('looks up an address with the keyboard and shows the API verdict, and explains an invalid address', async () => {
    const csv = cliExport().toString('utf8').split('\r\n');
    const address = csv[1]!.split(',')[0]!;
    const expected = await api<{ recommendation: string; reason: string; clients: unknown[] }>(open, `/v1/recipients/${encodeURIComponent(address)}`);
    const { page, context, requests, problems } = await openPage(open);
    await loaded(page);
    await page.focus('#lookup-address');
    await page.keyboard.type(address);
    await page.keyboard.press('Enter');
    const result = page.locator(`[data-lookup="${address}"]`);
    await result.waitFor();
    expect(await result.locator('[data-recommendation]').textContent()).toBe(expected.recommendation);
    expect(await result.locator('[data-reason]').textContent()).toBe(expected.reason);
    expect(await result.locator('tbody tr').count()).toBe(expected.clients.length);
    await page.locator('#h-lookup').locator('..').screenshot({ path: join(ARTIFACTS, 'dashboard-lookup.png') });

    await page.fill('#lookup-address', 'not@@valid');
    // type=email would block the submit in the browser; the server's 400 is what we test here.
    await page.evaluate(() => document.querySelector('#lookup-address')!.setAttribute('type', 'text'));
    await page.press('#lookup-address', 'Enter');
    await page.locator('[data-lookup-error]').waitFor();
    expect(await page.textContent('[data-lookup-error]')).toMatch(/Not a valid address/);
    expectSameOrigin(open, requests);
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await context.close();
  });

  it('downloads an export byte-for-byte equal to the CLI export, with and without filters', async () => {
    const { page, context, requests, problems } = await openPage(open);
    await loaded(page);
    const download = async (): Promise<Buffer> => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export-form button[type="submit"]')]);
      expect(d.suggestedFilename()).toMatch(/\.csv$/);
      return readFileSync((await d.path())!);
    };
    const all = await download();
    expect(all.toString('utf8')).toMatch(/^address,recommendation,/);
    expect(all.equals(cliExport())).toBe(true);

    await page.selectOption('#export-recommendation', 'unknown');
    const filtered = await download();
    expect(filtered.equals(cliExport(['--recommendation', 'unknown']))).toBe(true);
    expect(filtered.length).toBeLessThan(all.length);

    const family = (await api<Stats>(open, '/v1/stats')).byFamily.find((f) => f.family)!.family!;
    await page.selectOption('#export-recommendation', '');
    await page.selectOption('#export-family', family);
    await page.fill('#export-since', '2000-01-01');
    const byFamily = await download();
    expect(byFamily.equals(cliExport(['--family', family, '--since', '2000-01-01']))).toBe(true);
    expect(byFamily.toString('utf8').split('\r\n').length).toBeGreaterThan(2);
    expectSameOrigin(open, requests);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('asks for the token once, keeps it in session storage only, and uses it for figures and export', async () => {
    const { page, context, requests, problems } = await openPage(guarded);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    // The token field has focus: a keyboard user can type at once.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token-input');
    await page.keyboard.type('wrong-token-wrong-token');
    await page.keyboard.press('Enter');
    await page.locator('#token-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#token-error')).toMatch(/not accepted/);
    await page.fill('#token-input', READ_TOKEN);
    await page.keyboard.press('Enter');
    await loaded(page);
    expect(await dialog.isVisible()).toBe(false);
    const stats = await api<Stats>(guarded, '/v1/stats', READ_TOKEN);
    expect(await page.getAttribute('[data-figure="addresses"]', 'data-value')).toBe(String(stats.addresses));
    expect(await page.evaluate(() => sessionStorage.getItem('smime-census.token'))).toBe(READ_TOKEN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(requests.some((u) => u.includes(READ_TOKEN))).toBe(false);

    // A reload in the same tab does not ask again.
    await page.reload();
    await loaded(page);
    expect(await dialog.isVisible()).toBe(false);

    // Export through the token-protected API equals the CLI's bytes.
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export-form button[type="submit"]')]);
    expect(readFileSync((await d.path())!).equals(cliExport())).toBe(true);

    expectSameOrigin(guarded, requests);
    // The rejected token produced one 401 in the console; nothing else may fail.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await context.close();

    // A new tab (new session) asks again: the token was never persisted.
    const second = await openPage(guarded);
    await second.page.locator('#token-dialog').waitFor({ state: 'visible' });
    await second.context.close();
  });
});
