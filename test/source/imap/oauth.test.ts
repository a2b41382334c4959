/**
 * OAuth2 logins of the IMAP poller (issue #13) against real parts: Dovecot with its oauth2
 * passdb (tokens validated by RFC 7662 introspection) and oidc-provider as the authorization
 * server, both on loopback, started here.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { startOidcServer, JWT_BEARER, type OidcServer } from '../../helpers/oidc.js';
import { loadTemplates, makeMessages, type Template } from './messages.js';
import { canonicalDump, ensureBuilt, runCli, tempDir, testApp, testPoll, waitFor } from './helpers.js';
import { imapAccountSchema, type ImapAccountConfig } from '../../../src/config/imap.js';
import { Poller, appSink, type PollSink } from '../../../src/app/poll.js';
import { silentLogger } from '../../../src/app/logger.js';
import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { buildServer, tokensFrom } from '../../../src/http/index.js';

let s: DovecotServer;
let idp: OidcServer;
let templates: Template[];
const dirs: string[] = [];
const dir = (): string => {
  const d = tempDir('oauth-');
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  ensureBuilt();
  idp = await startOidcServer({ accessTokenTtl: 5 });
  const intro = new URL(idp.introspectionUrl);
  intro.username = idp.introspection.clientId;
  intro.password = idp.introspection.clientSecret;
  s = await startDovecot({ oauth2: { introspectionUrl: intro.href } });
  templates = loadTemplates();
});
afterAll(async () => {
  await s?.stop();
  await idp?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let clientSeq = 0;
/** A confidential app-only client with a secret file, allowed to open the test mailbox. */
async function secretClient(d: string): Promise<{ clientId: string; secretFile: string }> {
  const clientId = `census-secret-${++clientSeq}`;
  const secret = `s3cret-${clientSeq}-${'x'.repeat(32)}`;
  await idp.addClient({ client_id: clientId, client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], scope: 'imap' });
  idp.grantMailbox(clientId, s.user);
  const secretFile = join(d, `${clientId}.secret`);
  writeFileSync(secretFile, secret + '\n', { mode: 0o600 });
  return { clientId, secretFile };
}

function oauthAccount(auth: Record<string, unknown>, over: Record<string, unknown> = {}): ImapAccountConfig {
  return imapAccountSchema.parse({
    name: 'support',
    host: s.host,
    port: s.port,
    user: s.user,
    caFile: s.caFile,
    auth: { type: 'oauth2', provider: 'generic', tokenUrl: idp.tokenUrl, scope: 'imap', ...auth },
    ...over,
  });
}

async function pollOnce(accounts: ImapAccountConfig[], dbDir: string, sink?: (base: PollSink) => PollSink, poll = testPoll()) {
  const app = testApp(dbDir);
  try {
    const base = appSink(app);
    const poller = new Poller({ accounts, poll, sink: sink ? sink(base) : base, logger: silentLogger(), once: true, progressLog: false, authStateDir: join(dbDir, 'auth') });
    const summary = await poller.run();
    return { summary, tokens: poller.tokens() };
  } finally {
    app.close();
  }
}

/** An RSA key + self-signed certificate (what an Entra app registration is given), and its public JWK. */
function certificate(d: string, name: string): { certFile: string; keyFile: string; jwk: object } {
  const keyFile = join(d, `${name}.key`);
  const certFile = join(d, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const jwk = createPublicKey(readFileSync(keyFile)).export({ format: 'jwk' });
  return { certFile, keyFile, jwk: { ...jwk, use: 'sig', alg: 'RS256' } };
}

/** A public device-flow client that may get refresh tokens. */
async function deviceClient(): Promise<string> {
  const clientId = `census-device-${++clientSeq}`;
  await idp.addClient({ client_id: clientId, token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], scope: 'openid offline_access imap' });
  return clientId;
}

/** A config file for the CLI with one OAuth2 account. */
function cliConfig(d: string, auth: Record<string, unknown>, over: Record<string, unknown> = {}): string {
  const file = join(d, 'census.json');
  writeFileSync(
    file,
    JSON.stringify({
      db: join(d, 'census.db'),
      accounts: [{ name: 'support', host: s.host, port: s.port, user: s.user, caFile: s.caFile, folders: ['INBOX'], auth: { type: 'oauth2', provider: 'generic', tokenUrl: idp.tokenUrl, scope: 'imap', ...auth }, ...over }],
      poll: { backoffInitialMs: 100, backoffMaxMs: 1000, onceMaxAttempts: 3 },
    }),
  );
  return file;
}

/** Runs `auth login` as a person would: reads the prompt, approves in the "browser", waits for the CLI. */
async function deviceLoginCli(config: string, login: string) {
  const { spawn } = await import('node:child_process');
  const { CLI, ROOT } = await import('./helpers.js');
  const child = spawn(process.execPath, [CLI, '--config', config, 'auth', 'login', 'support'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b));
  child.stderr.on('data', (b: Buffer) => (stderr += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  expect(await waitFor(() => /\(or open (\S+)\)/.test(stderr), 30_000)).toBe(true);
  const url = /\(or open (\S+)\)/.exec(stderr)![1]!;
  await idp.approveDevice(url, login);
  const code = await exited;
  return { code, stdout, stderr };
}

describe('OAuth2 logins against Dovecot (oauth2 passdb, RFC 7662 introspection) + oidc-provider', () => {
  beforeAll(async () => {
    await s.deliver('INBOX', makeMessages(templates, 0, 40));
  });

  it('client credentials with a client secret, over XOAUTH2 and OAUTHBEARER, read every message', async () => {
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    for (const mechanism of ['XOAUTH2', 'OAUTHBEARER']) {
      const r = await pollOnce([oauthAccount({ grant: 'client_credentials', clientId, clientSecretFile: secretFile, mechanism }, { name: `cc-${mechanism}` })], d);
      expect(r.summary.failures).toEqual([]);
      expect(r.summary.folders[0]!.counts.read).toBeGreaterThanOrEqual(40);
      expect(r.tokens[0]).toMatchObject({ refreshes: 1, refreshFailures: 0, lastError: null, grant: 'client_credentials' });
    }
    const log = readFileSync(join(s.dir, 'dovecot.log'), 'utf8');
    expect(log).toMatch(/Login: user=<census>, method=XOAUTH2/);
    expect(log).toMatch(/Login: user=<census>, method=OAUTHBEARER/);
  });

  it('client credentials with a certificate: a signed client assertion (RFC 7523 private_key_jwt) with the thumbprint', async () => {
    const d = dir();
    const clientId = `census-cert-${++clientSeq}`;
    const c = certificate(d, clientId);
    await idp.addClient({ client_id: clientId, token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], scope: 'imap', jwks: { keys: [c.jwk] } });
    idp.grantMailbox(clientId, s.user);
    const r = await pollOnce([oauthAccount({ grant: 'client_credentials', clientId, certificateFile: c.certFile, privateKeyFile: c.keyFile })], d);
    expect(r.summary.failures).toEqual([]);
    expect(r.summary.folders[0]!.counts.read).toBeGreaterThanOrEqual(40);
    // The assertion carried the certificate's SHA-1 thumbprint, as Microsoft Entra ID requires.
    const assertion = [...idp.secretsSeen].find((v) => v.split('.').length === 3 && JSON.parse(Buffer.from(v.split('.')[1]!, 'base64url').toString()).iss === clientId)!;
    const header = JSON.parse(Buffer.from(assertion.split('.')[0]!, 'base64url').toString()) as { x5t?: string };
    const der = Buffer.from(readFileSync(c.certFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const { createHash } = await import('node:crypto');
    expect(header.x5t).toBe(createHash('sha1').update(der).digest('base64url'));
  });

  it('an app-only client without permission on the mailbox is refused with E_IMAP_AUTH (the Add-MailboxPermission step missing)', async () => {
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    await idp.revokeClient(clientId).then(() => idp.addClient({ client_id: clientId, client_secret: readFileSync(secretFile, 'utf8').trim(), token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], scope: 'imap' }));
    const r = await pollOnce([oauthAccount({ grant: 'client_credentials', clientId, clientSecretFile: secretFile })], d);
    expect(r.summary.failures[0]?.error.code).toBe('E_IMAP_AUTH');
    // A fresh token was tried once more before giving up.
    expect(r.tokens[0]!.refreshes).toBe(2);
  });

  it('jwt_bearer as Google service accounts do it (provider google, sub = the mailbox), a grant type registered in oidc-provider', async () => {
    const d = dir();
    const email = `census-sa-${++clientSeq}@census-project.iam.gserviceaccount.com`;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await idp.addClient({ client_id: email, token_endpoint_auth_method: 'none', grant_types: [JWT_BEARER], scope: 'imap', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), use: 'sig' }] } });
    const keyFile = join(d, 'sa.json');
    writeFileSync(keyFile, JSON.stringify({ type: 'service_account', project_id: 'census-project', private_key_id: 'k1', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email, client_id: '1234567890', token_uri: idp.tokenUrl }), { mode: 0o600 });
    const account = oauthAccount({ provider: 'google', grant: 'jwt_bearer', serviceAccountKeyFile: keyFile, tokenUrl: undefined, scope: 'imap' });
    // Without domain-wide delegation for the mailbox: refused with Google's error.
    const refused = await pollOnce([account], d);
    expect(refused.summary.failures[0]?.error.code).toBe('E_IMAP_AUTH');
    expect(refused.summary.failures[0]?.error.message).toMatch(/unauthorized_client: Client is unauthorized to retrieve access tokens/);
    idp.grantMailbox(email, s.user);
    const r = await pollOnce([account], d);
    expect(r.summary.failures).toEqual([]);
    expect(r.summary.folders[0]!.counts.read).toBeGreaterThanOrEqual(40);
  });

  it('a token the server rejects (revoked before it expired) is renewed once and the login retried', async () => {
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    const idpLong = idp;
    const app = testApp(d);
    const poller = new Poller({ accounts: [oauthAccount({ grant: 'client_credentials', clientId, clientSecretFile: secretFile, refreshAheadSeconds: 0 })], poll: testPoll(), sink: appSink(app), logger: silentLogger(), progressLog: false });
    try {
      poller.start();
      expect(await waitFor(() => poller.status()[0]!.state === 'idle', 30_000)).toBe(true);
      expect(poller.tokens()[0]!.refreshes).toBe(1);
      // Token health on /healthz and /metrics, without the token.
      const http = await buildServer({ app, tokens: tokensFrom({ read: 'read-token-0123456789abcdef' }), pollers: [poller], publicDir: null });
      try {
        const auth = { authorization: 'Bearer read-token-0123456789abcdef' };
        const health = (await http.inject({ url: '/healthz' })).json() as { oauth: Array<{ account: string; healthy: boolean; secondsToExpiry: number; refreshFailures: number }> };
        expect(health.oauth[0]).toMatchObject({ account: 'support', healthy: true, refreshFailures: 0 });
        expect(health.oauth[0]!.secondsToExpiry).toBeGreaterThan(-60);
        const metrics = (await http.inject({ url: '/metrics', headers: auth })).body;
        expect(metrics).toMatch(/^smime_census_oauth_token_expiry_seconds\{account="support"\} -?\d+$/m);
        expect(metrics).toMatch(/^smime_census_oauth_token_refresh_failures_total\{account="support"\} 0$/m);
        for (const secret of idp.secretsSeen) expect(metrics.includes(secret) || JSON.stringify(health).includes(secret)).toBe(false);
      } finally {
        await http.close();
      }
      await idpLong.revokeAccessTokens();
      for (const pid of s.sessions()) process.kill(pid, 'SIGKILL');
      // Reconnect: the cached token is refused by Dovecot (introspection: inactive), renewed, accepted.
      expect(await waitFor(() => poller.tokens()[0]!.refreshes === 2 && poller.status()[0]!.state === 'idle', 30_000)).toBe(true);
      expect(poller.status()[0]!.lastError?.code ?? null).not.toBe('E_IMAP_AUTH');
    } finally {
      await poller.stop();
      app.close();
    }
  });

  it('a token expiring mid-backfill of 3,000 messages costs a reconnect; the result equals an uninterrupted run', async () => {
    const folder = 'Backfill';
    await s.deliver(folder, makeMessages(templates, 100_000, 3000));
    const ref = dir();
    const refRun = testApp(ref);
    try {
      const p = new Poller({
        accounts: [imapAccountSchema.parse({ name: 'support', host: s.host, port: s.port, user: s.user, caFile: s.caFile, passwordEnv: 'PW', folders: [folder] })],
        poll: testPoll({ batchSize: 250 }),
        sink: appSink(refRun),
        logger: silentLogger(),
        once: true,
        progressLog: false,
        env: { PW: s.password },
      });
      const sum = await p.run();
      expect(sum.failures).toEqual([]);
    } finally {
      refRun.close();
    }
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    const app = testApp(d);
    let batches = 0;
    let killedAfterExpiry = false;
    const poller: Poller = new Poller({
      accounts: [oauthAccount({ grant: 'client_credentials', clientId, clientSecretFile: secretFile }, { folders: [folder] })],
      poll: testPoll({ batchSize: 250 }),
      logger: silentLogger(),
      once: true,
      progressLog: false,
      sink: {
        ...appSink(app),
        ingestBatch: async (items, cp) => {
          const counts = await appSink(app).ingestBatch(items, cp);
          if (++batches === 2) {
            // Let the 5 s token expire while the connection is busy, then drop the connection
            // as Exchange Online does when a session outlives its token.
            expect(await waitFor(() => (poller.tokens()[0]!.secondsToExpiry ?? 1) <= 0, 20_000)).toBe(true);
            for (const pid of s.sessions()) process.kill(pid, 'SIGKILL');
            killedAfterExpiry = true;
          }
          return counts;
        },
      },
    });
    const before = idp.tokenRequests.get('client_credentials') ?? 0;
    let summary;
    try {
      summary = await poller.run();
    } finally {
      app.close();
    }
    expect(killedAfterExpiry).toBe(true);
    expect(summary.failures).toEqual([]);
    expect((idp.tokenRequests.get('client_credentials') ?? 0) - before).toBe(2);
    expect(canonicalDump(join(d, 'census.db'))).toEqual(canonicalDump(join(ref, 'census.db')));
    expect(canonicalDump(join(d, 'census.db')).observations.length).toBeGreaterThan(2500);
  });
});

/** A public native-app client (RFC 8252): loopback redirect, any port, PKCE. */
async function browserClient(): Promise<string> {
  const clientId = `census-native-${++clientSeq}`;
  await idp.addClient({
    client_id: clientId,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    scope: 'offline_access imap',
  });
  return clientId;
}

/** Starts `auth login support --browser` and waits for the URL it asks the person to open. */
async function browserLoginCli(config: string) {
  const { spawn } = await import('node:child_process');
  const { CLI, ROOT } = await import('./helpers.js');
  const child = spawn(process.execPath, [CLI, '--config', config, 'auth', 'login', 'support', '--browser'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b));
  child.stderr.on('data', (b: Buffer) => (stderr += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const URL_LINE = /on this machine:\n\n {2}(\S+)\n/;
  expect(await waitFor(() => URL_LINE.test(stderr), 30_000)).toBe(true);
  return { url: URL_LINE.exec(stderr)![1]!, exited, output: () => ({ stdout, stderr }) };
}

describe('auth login --browser (authorization code + PKCE, loopback redirect; the built CLI)', () => {
  it('stores a 0600 refresh token after the browser sign-in, and the poller logs in to Dovecot with it', async () => {
    const d = dir();
    const clientId = await browserClient();
    const tokenFile = join(d, 'support.token');
    const config = cliConfig(d, { grant: 'refresh_token', clientId, tokenFile, authorizationUrl: idp.authorizationUrl, scope: 'offline_access imap' });
    const login = await browserLoginCli(config);
    const asked = new URL(login.url);
    expect(asked.origin + asked.pathname).toBe(idp.authorizationUrl);
    expect(asked.searchParams.get('code_challenge_method')).toBe('S256');
    expect(asked.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const page = await idp.authorizeInBrowser(login.url, s.user);
    expect(page.redirectedTo).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    expect(page.body).toMatch(/Signed in/);
    expect(await login.exited).toBe(0);
    expect(login.output().stdout).toMatch(/signed in: refresh token stored in/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(idp.tokenRequests.get('authorization_code')).toBeGreaterThanOrEqual(1);

    const polled = await runCli(['--config', config, 'poll', '--once']);
    expect(polled.stderr.split('\n').filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect(polled.code).toBe(0);
  });

  it('a forged redirect (wrong state) and a refused consent end the login with one clear line and no token file', async () => {
    const d = dir();
    const clientId = await browserClient();
    const tokenFile = join(d, 'support.token');
    const config = cliConfig(d, { grant: 'refresh_token', clientId, tokenFile, authorizationUrl: idp.authorizationUrl, scope: 'offline_access imap' });

    const forged = await browserLoginCli(config);
    const redirectUri = new URL(forged.url).searchParams.get('redirect_uri')!;
    const res = await fetch(`${redirectUri}?code=stolen-code&state=not-the-state&iss=${encodeURIComponent(idp.issuer)}`);
    expect(res.status).toBe(400);
    expect(await forged.exited).toBe(EXIT_CODES.E_IMAP_AUTH);
    expect(forged.output().stderr).toMatch(/^smime-census: .*state/m);
    expect(existsSync(tokenFile)).toBe(false);

    const refused = await browserLoginCli(config);
    const back = new URL(refused.url).searchParams.get('redirect_uri')!;
    const state = new URL(refused.url).searchParams.get('state')!;
    expect((await fetch(`${back}?error=access_denied&error_description=the+user+said+no&state=${state}`)).status).toBe(400);
    expect(await refused.exited).toBe(EXIT_CODES.E_IMAP_AUTH);
    expect(refused.output().stderr).toMatch(/^smime-census: .*access_denied: the user said no/m);
    expect(refused.output().stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(tokenFile)).toBe(false);
  });
});

describe('auth login (device flow), refresh-token rotation, revocation, logs (the built CLI)', () => {
  it('auth login stores a 0600 refresh token; poll rotates it atomically; a SIGKILL between token response and file write ends in a clear `auth login` message', async () => {
    const d = dir();
    const clientId = await deviceClient();
    const tokenFile = join(d, 'support.token');
    const config = cliConfig(d, { grant: 'refresh_token', clientId, tokenFile, deviceAuthorizationUrl: idp.deviceAuthorizationUrl, scope: 'openid offline_access imap' });
    const login = await deviceLoginCli(config, s.user);
    expect(login.stderr).toMatch(/enter the code/);
    expect(login.code).toBe(0);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const first = JSON.parse(readFileSync(tokenFile, 'utf8')) as { refresh_token: string };

    const ok = await runCli(['--config', config, 'poll', '--once']);
    expect(ok.stderr.split('\n').filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect(ok.code).toBe(0);
    const second = JSON.parse(readFileSync(tokenFile, 'utf8')) as { refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const status = await runCli(['--config', config, 'auth', 'status', '--json']);
    const rows = JSON.parse(status.stdout) as Array<{ state: { refreshes: number; lastRefreshAt: string }; tokenFile: { present: boolean; mode: string } }>;
    expect(rows[0]!.state.refreshes).toBe(1);
    expect(rows[0]!.tokenFile).toMatchObject({ present: true, mode: '0600' });
    expect(status.stdout).not.toContain(second.refresh_token);

    // The provider has rotated (the old refresh token is spent) but the census dies before it
    // has the answer: the file keeps the spent token.
    let pid = 0;
    idp.onTokenIssued = (gt) => {
      if (gt === 'refresh_token' && pid) process.kill(pid, 'SIGKILL');
    };
    const killed = await runCli(['--config', config, 'poll', '--once'], { onSpawn: (p) => (pid = p) });
    idp.onTokenIssued = null;
    expect(killed.signal).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(tokenFile, 'utf8')).refresh_token).toBe(second.refresh_token);
    expect(readFileSync(tokenFile, 'utf8')).toMatch(/^\{.*\}\n$/);

    const after = await runCli(['--config', config, 'poll', '--once']);
    expect(after.code).toBe(EXIT_CODES.E_IMAP_AUTH);
    const errLines = after.stderr.split('\n').filter((l) => l.startsWith('smime-census:'));
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/invalid_grant.*run `smime-census auth login support`/);

    // Signing in again repairs it.
    expect((await deviceLoginCli(config, s.user)).code).toBe(0);
    expect((await runCli(['--config', config, 'poll', '--once'])).code).toBe(0);
  });

  it('a revoked client: exit 12 with one line naming the refusal', async () => {
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    const config = cliConfig(d, { grant: 'client_credentials', clientId, clientSecretFile: secretFile });
    expect((await runCli(['--config', config, 'poll', '--once'])).code).toBe(0);
    await idp.revokeClient(clientId);
    const r = await runCli(['--config', config, 'poll', '--once']);
    expect(r.code).toBe(EXIT_CODES.E_IMAP_AUTH);
    expect(r.code).toBe(12);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('smime-census:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/account support: token request \(client_credentials\) to http:\/\/127\.0\.0\.1:\d+ refused: invalid_client/);
    const status = JSON.parse((await runCli(['--config', config, 'auth', 'status', '--json'])).stdout) as Array<{ state: { refreshFailures: number; lastError: { code: string } } }>;
    expect(status[0]!.state).toMatchObject({ refreshFailures: 1, lastError: { code: 'E_IMAP_AUTH' } });
  });

  it('no token, secret or assertion appears in any log line at trace', async () => {
    const d = dir();
    const { clientId, secretFile } = await secretClient(d);
    const certId = `census-cert-${++clientSeq}`;
    const c = certificate(d, certId);
    await idp.addClient({ client_id: certId, token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], scope: 'imap', jwks: { keys: [c.jwk] } });
    idp.grantMailbox(certId, s.user);
    const outputs: string[] = [];
    for (const auth of [
      { grant: 'client_credentials', clientId, clientSecretFile: secretFile },
      { grant: 'client_credentials', clientId: certId, certificateFile: c.certFile, privateKeyFile: c.keyFile, mechanism: 'OAUTHBEARER' },
    ]) {
      const config = cliConfig(d, auth);
      const r = await runCli(['--config', config, '--log-level', 'trace', 'poll', '--once', '--no-worker']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/"level":10/);
      outputs.push(r.stdout + r.stderr);
    }
    const all = outputs.join('\n');
    // The logs did see the login happen.
    expect(all).toMatch(/access token obtained/);
    const secrets = [...idp.secretsSeen, readFileSync(secretFile, 'utf8').trim(), readFileSync(c.keyFile, 'utf8').split('\n')[1]!];
    expect(secrets.length).toBeGreaterThan(4);
    for (const secret of secrets) {
      expect(all.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the log`).toBe(false);
      // Nor base64-encoded (a SASL payload).
      expect(all.includes(Buffer.from(secret).toString('base64').slice(0, 40))).toBe(false);
    }
    expect(existsSync(join(d, 'auth', 'support.json'))).toBe(true);
    expect(readFileSync(join(d, 'auth', 'support.json'), 'utf8')).not.toMatch(/access_token|refresh_token/);
  });
});

