/**
 * The configuration table: every key of the config file, with the environment variable and
 * command-line flag that may set it, its type (`path` and `path list` are resolved against the
 * config file's folder when they come from a file) and a one-line description.
 *
 * loadConfig is driven by this table (environment, flags, path resolution); the zod schema in
 * index.ts validates the result and holds the defaults; the README's configuration table is
 * generated from both (`npm run docs:config`) and a test keeps the three in step. Add a key:
 * add it to the schema and here, then regenerate the README table.
 */

/** How a value is written in the environment or on the command line, and whether it is a path. */
export type ConfigValueType = 'string' | 'path' | 'integer' | 'boolean' | 'enum' | 'list' | 'path list';

export interface ConfigFlag {
  /** The option as typed, e.g. `--port` (a `--no-x` flag sets a boolean to false). */
  readonly name: string;
  /** The command that has it; undefined for a global option. */
  readonly command?: string;
}

export interface ConfigKey {
  /** Dotted key as written in the config file; `name[]` stands for each element of a list. */
  readonly key: string;
  readonly type: ConfigValueType;
  readonly env?: string;
  readonly flag?: ConfigFlag;
  readonly description: string;
}

const serve = (name: string): ConfigFlag => ({ name, command: 'serve' });

/** Every config key, in the order the README lists them. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  { key: 'db', type: 'path', env: 'CENSUS_DB', flag: { name: '--db' }, description: 'SQLite database file, or a `postgres://` URL (see "The database")' },
  { key: 'ownDomains', type: 'list', env: 'CENSUS_OWN_DOMAINS', description: "the company's own domains: their mail is skipped (it says nothing about customers)" },
  { key: 'policy.mode', type: 'enum', env: 'CENSUS_POLICY', description: 'how evidence becomes a recommendation (see "The policy")' },
  { key: 'policy.windowDays', type: 'integer', env: 'CENSUS_WINDOW_DAYS', description: 'evidence older than this many days no longer counts' },
  { key: 'rulesDirs', type: 'path list', env: 'CENSUS_RULES_DIRS', description: 'operator rule folders, applied after the shipped rules (same id overrides, new ids extend)' },
  { key: 'trustedAuthservId', type: 'string', env: 'CENSUS_TRUSTED_AUTHSERV_ID', description: 'authserv-id of your receiving server whose Authentication-Results (DMARC) are trusted (RFC 8601); unset = none' },
  { key: 'erasureKeyFile', type: 'path', env: 'CENSUS_ERASURE_KEY_FILE', description: 'key for erasure hashes; default `<db>.key`, created on first use; required with PostgreSQL' },
  { key: 'logLevel', type: 'enum', env: 'CENSUS_LOG_LEVEL', flag: { name: '--log-level' }, description: 'level of the JSON log lines on stderr; addresses appear only at `debug`' },

  { key: 'accounts[].name', type: 'string', description: 'stable id used in checkpoints, source keys and logs (default `user@host`); changing it restarts the backfill' },
  { key: 'accounts[].host', type: 'string', description: 'IMAP server' },
  { key: 'accounts[].port', type: 'integer', description: 'default 993 for implicit TLS, 143 otherwise' },
  { key: 'accounts[].tls', type: 'enum', description: 'how the connection is secured; `plain` needs `allowPlain`' },
  { key: 'accounts[].allowPlain', type: 'boolean', description: 'must be true for `tls: plain`: the credentials cross the wire unencrypted' },
  { key: 'accounts[].user', type: 'string', description: 'login name' },
  { key: 'accounts[].passwordEnv', type: 'string', description: 'environment variable holding the password (exactly one secret source per password account)' },
  { key: 'accounts[].passwordFile', type: 'path', description: 'file holding the password, read at each connect' },
  { key: 'accounts[].accessTokenEnv', type: 'string', description: 'environment variable holding an XOAUTH2 access token' },
  { key: 'accounts[].accessTokenFile', type: 'path', description: 'file holding an XOAUTH2 access token, read at each connect' },
  { key: 'accounts[].auth.type', type: 'enum', description: 'how to log in: `password` (the default: the secret keys above) or `oauth2` (see "IMAP with OAuth2")' },
  { key: 'accounts[].auth.provider', type: 'enum', description: 'oauth2 preset (`generic`: give the endpoints yourself)' },
  { key: 'accounts[].auth.grant', type: 'enum', description: 'the OAuth2 grant' },
  { key: 'accounts[].auth.tokenUrl', type: 'string', description: 'generic only: the token endpoint' },
  { key: 'accounts[].auth.deviceAuthorizationUrl', type: 'string', description: 'generic only: the device authorization endpoint (RFC 8628), for `auth login`' },
  { key: 'accounts[].auth.authorizationUrl', type: 'string', description: 'generic only: the authorization endpoint, for `auth login --browser`' },
  { key: 'accounts[].auth.tenantId', type: 'string', description: 'microsoft only: the directory (tenant) id or a verified domain' },
  { key: 'accounts[].auth.clientId', type: 'string', description: 'the application (client) id' },
  { key: 'accounts[].auth.clientSecretFile', type: 'path', description: 'file holding the client secret' },
  { key: 'accounts[].auth.certificateFile', type: 'path', description: 'certificate (PEM) whose key signs the client assertion (private_key_jwt)' },
  { key: 'accounts[].auth.privateKeyFile', type: 'path', description: 'PEM private key of `certificateFile`, or the assertion signing key' },
  { key: 'accounts[].auth.keyId', type: 'string', description: 'key id (kid) put in signed assertions' },
  { key: 'accounts[].auth.serviceAccountKeyFile', type: 'path', description: "google jwt_bearer: the service account's JSON key file" },
  { key: 'accounts[].auth.assertionIssuer', type: 'string', description: "generic jwt_bearer: the assertion's issuer (default `clientId`)" },
  { key: 'accounts[].auth.subject', type: 'string', description: "jwt_bearer: the assertion's subject (default the account's user)" },
  { key: 'accounts[].auth.tokenFile', type: 'path', description: 'refresh_token: JSON file (mode 0600) with the refresh token, written by `auth login`' },
  { key: 'accounts[].auth.scope', type: 'string', description: 'the scope asked for (presets know theirs)' },
  { key: 'accounts[].auth.mechanism', type: 'enum', description: 'the SASL mechanism' },
  { key: 'accounts[].auth.refreshAheadSeconds', type: 'integer', description: 'a cached token is renewed this long before it expires' },
  { key: 'accounts[].auth.requestTimeoutMs', type: 'integer', description: 'timeout of one token request' },
  { key: 'accounts[].caFile', type: 'path', description: 'PEM of the CA (or self-signed certificate) that signed the server certificate' },
  { key: 'accounts[].insecureSkipTlsVerify', type: 'boolean', description: 'turns certificate verification off (logged as a warning at every connect)' },
  { key: 'accounts[].folders', type: 'list', description: 'folders to read' },
  { key: 'accounts[].connections', type: 'integer', description: 'connections this account may open; folders are split over them' },

  { key: 'poll.batchSize', type: 'integer', description: 'messages per UID FETCH and per transaction' },
  { key: 'poll.backoffInitialMs', type: 'integer', description: 'first reconnect delay after a failure; doubled each time, ±25% jitter' },
  { key: 'poll.backoffMaxMs', type: 'integer', description: 'reconnect delay cap' },
  { key: 'poll.probeIntervalMs', type: 'integer', description: "while a server refuses connections, its port is probed this often and the reconnect follows as soon as it accepts" },
  { key: 'poll.idleRestartMs', type: 'integer', description: 'IDLE is re-issued (with a NOOP in between) after this long, so a silently dead connection fails' },
  { key: 'poll.noopTimeoutMs', type: 'integer', description: 'a NOOP not answered within this time means the connection is dead' },
  { key: 'poll.statusIntervalMs', type: 'integer', description: 'how often folders not watched by IDLE are checked with STATUS' },
  { key: 'poll.noopIntervalMs', type: 'integer', description: 'servers without IDLE are polled with NOOP this often' },
  { key: 'poll.connectTimeoutMs', type: 'integer', description: 'connection and greeting timeout' },
  { key: 'poll.socketTimeoutMs', type: 'integer', description: 'socket inactivity timeout; must exceed `idleRestartMs`' },
  { key: 'poll.onceMaxAttempts', type: 'integer', description: '`poll --once`: consecutive connection failures after which an account is given up' },
  { key: 'poll.progressLogIntervalMs', type: 'integer', description: 'without a TTY: a progress log line per folder this often during backfill' },
  { key: 'poll.leaseTtlMs', type: 'integer', description: 'several pollers on one database: a folder lease lasts this long unless renewed' },
  { key: 'poll.leaseRenewMs', type: 'integer', description: 'how often a poller renews its leases; at most `leaseTtlMs / 2`' },

  { key: 'http.host', type: 'string', env: 'CENSUS_HTTP_HOST', flag: serve('--host'), description: 'address the API binds; anything but loopback needs tokens' },
  { key: 'http.port', type: 'integer', env: 'CENSUS_HTTP_PORT', flag: serve('--port'), description: 'port the API binds; 0 = any free port' },
  { key: 'http.readTokenFile', type: 'path', env: 'CENSUS_READ_TOKEN_FILE', description: 'file holding the read token (lookups, export, stats, metrics)' },
  { key: 'http.adminTokenFile', type: 'path', env: 'CENSUS_ADMIN_TOKEN_FILE', description: 'file holding the admin token (also observations and erasure)' },
  { key: 'http.maxBatch', type: 'integer', description: 'largest POST /v1/recipients/lookup batch' },
  { key: 'http.bodyLimit', type: 'integer', description: 'largest request body, bytes' },
  { key: 'http.maxConnections', type: 'integer', description: 'open connections at most; at the cap the oldest idle one is closed for the new one' },
  { key: 'http.requestTimeoutMs', type: 'integer', description: 'a whole request (headers and body) must arrive within this' },
  { key: 'http.headersTimeoutMs', type: 'integer', description: 'headers must be complete within this' },
  { key: 'http.keepAliveTimeoutMs', type: 'integer', description: 'an idle keep-alive connection is closed after this' },
  { key: 'http.idleTimeoutMs', type: 'integer', description: 'a connection with no traffic either way for this long is closed' },
  { key: 'http.maxMessageBytes', type: 'integer', description: 'largest message accepted by POST /v1/messages' },

  { key: 'serve.poll', type: 'boolean', env: 'CENSUS_SERVE_POLL', flag: serve('--no-poll'), description: '`serve` runs the configured IMAP pollers; false for API-only instances (see "Scaling out")' },

  { key: 'sign.certFile', type: 'path', description: 'signing certificate (PEM) of the outbound signer (relay, /healthz expiry watch)' },
  { key: 'sign.keyFile', type: 'path', description: 'its private key (PEM PKCS#8, optionally encrypted)' },
  { key: 'sign.chainFiles', type: 'path list', description: 'intermediate certificates (PEM)' },
  { key: 'sign.p12File', type: 'path', description: 'PKCS#12 with key and certificate, instead of `certFile`/`keyFile`' },
  { key: 'sign.passphraseFile', type: 'path', description: 'file holding the key or PKCS#12 passphrase' },
  { key: 'sign.passphraseEnv', type: 'string', description: 'environment variable holding the passphrase (instead of `passphraseFile`)' },
  { key: 'sign.trustedCaFiles', type: 'path list', description: 'extra CA certificates (PEM) that harvested customer certificates may chain to' },

  { key: 'relay.listen.host', type: 'string', description: 'address the signing relay listens on' },
  { key: 'relay.listen.port', type: 'integer', description: 'its SMTP port' },
  { key: 'relay.upstream', type: 'string', description: '`smtp://host[:port]` (STARTTLS when offered) or `smtps://host[:port]`' },
  { key: 'relay.upstreamUser', type: 'string', description: 'login at the upstream (password from `upstreamPasswordFile` or CENSUS_RELAY_UPSTREAM_PASSWORD)' },
  { key: 'relay.upstreamPasswordFile', type: 'path', description: 'file holding the upstream password' },
  { key: 'relay.upstreamCaFile', type: 'path', description: "PEM of a private CA that signed the upstream's certificate" },
  { key: 'relay.mode', type: 'enum', description: '`recommended`: sign for recipients the census says `sign`; `always` / `never`: ignore the census' },
  { key: 'relay.unknown', type: 'enum', description: 'what a recipient the census has no answer for gets (mode `recommended`)' },
  { key: 'relay.onSignError', type: 'enum', description: 'when the certificate cannot sign (expired, From not covered): answer 4xx, or pass the mail unsigned' },
  { key: 'relay.dkim.domain', type: 'string', description: 'DKIM signing domain (d=)' },
  { key: 'relay.dkim.selector', type: 'string', description: 'DKIM selector (s=)' },
  { key: 'relay.dkim.keyFile', type: 'path', description: 'DKIM private key (PEM)' },
  { key: 'relay.tls.certFile', type: 'path', description: 'STARTTLS certificate of the listener (needed for SMTP AUTH)' },
  { key: 'relay.tls.keyFile', type: 'path', description: 'its private key' },
  { key: 'relay.usersFile', type: 'path', description: 'client logins: `user:scrypt$…` lines (`relay passwd` makes them)' },
  { key: 'relay.allowNetworks', type: 'list', description: 'client networks that may submit without AUTH; `[]` makes everyone log in' },
  { key: 'relay.maxMessageBytes', type: 'integer', description: 'largest message accepted (SIZE), bytes' },
  { key: 'relay.maxRecipients', type: 'integer', description: 'recipients per message at most' },
  { key: 'relay.maxConnections', type: 'integer', description: 'simultaneous client connections' },
  { key: 'relay.socketTimeoutMs', type: 'integer', description: 'idle client connection timeout' },
  { key: 'relay.upstreamConnections', type: 'integer', description: 'connections to the upstream kept open and used in parallel' },
  { key: 'relay.upstreamTimeoutMs', type: 'integer', description: 'connect and greeting timeout towards the upstream' },
];

/** Environment variables that are not config keys: the config file itself, secrets, and the single-account shortcut. */
export const OTHER_ENV: ReadonlyArray<{ readonly env: string; readonly description: string }> = [
  { env: 'CENSUS_CONFIG', description: 'the config file (YAML or JSON), like `--config`' },
  { env: 'CENSUS_IMAP_URL', description: 'one IMAP account without a config file: `imaps://user@host:993` (`imap://` uses STARTTLS; never a password)' },
  { env: 'CENSUS_IMAP_FOLDERS', description: 'its folders, comma list (default INBOX)' },
  { env: 'CENSUS_IMAP_PASSWORD_FILE', description: 'file holding its password' },
  { env: 'CENSUS_IMAP_PASSWORD', description: 'its password (when no file is given)' },
  { env: 'CENSUS_IMAP_CA_FILE', description: "PEM of the CA that signed its server's certificate" },
  { env: 'CENSUS_DB_PASSWORD_FILE', description: 'file holding the PostgreSQL password (never in the URL)' },
  { env: 'CENSUS_DB_CA_FILE', description: "PEM of the CA that signed PostgreSQL's certificate" },
  { env: 'CENSUS_RELAY_UPSTREAM_PASSWORD', description: "the relay's upstream password (when `relay.upstreamPasswordFile` is not set)" },
  { env: 'CENSUS_SIGN_PASSPHRASE', description: '`sign`: the key or PKCS#12 passphrase (when `--passphrase-file` is not given)' },
  { env: 'CENSUS_DEBUG', description: 'set to print stack traces with errors' },
];

/** The table row of a key (`accounts[].caFile` style), or undefined. */
export function configKey(key: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((k) => k.key === key);
}
