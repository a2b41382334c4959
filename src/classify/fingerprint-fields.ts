import { fingerprintValue } from '../core/index.js';

/**
 * The header fields classify looks at. The parse stage keeps exactly these in the fingerprint
 * and the IMAP poller fetches exactly these (plus from/date/message-id/content-type), so every
 * field a shipped rule or check names must be listed here (a test enforces it).
 */
export const FINGERPRINT_FIELDS: readonly string[] = Object.freeze([
  // the mail program names itself
  'x-mailer',
  'user-agent',
  'x-newsreader',
  'x-mimeole',
  'mime-version',
  // Message-ID shape, and the original one Outlook.com and Brevo's SMTP relay keep when they rewrite it
  'message-id',
  'x-microsoft-original-message-id',
  'origin-messageid',
  // Microsoft / Apple client markers
  'x-ms-has-attach',
  'x-ms-reactions',
  'x-msmail-priority',
  'x-apple-base-url',
  'x-apple-mail-remote-attachments',
  'x-apple-windows-friendly',
  'x-apple-mail-signature',
  'x-apple-message-smime-encrypt',
  'x-universally-unique-identifier',
  'x-superhuman-id',
  // webmail / provider markers (they name the service, not the app)
  'x-gm-message-state',
  'feedback-id',
  'x-provags-id',
  'x-ui-message-type',
  'x-yandex-fwd',
  'x-mailru-msgtype',
  'x-pm-message-id',
  'x-originating-client',
  // bulk senders and tools
  'x-mailgun-sid',
  'x-ses-outgoing',
  'x-mc-user',
  'x-sg-eid',
  'x-sfdc-emailcategory',
  'x-sfdc-lk',
  'x-mandrill-user',
  'x-campaign-uid',
  'x-csa-complaints',
  'x-google-appengine-app-id',
  'x-msfbl',
  'x-zendesk-from-account-id',
  'x-freshdesk-ticket-id',
  'x-jenkins-job',
  'x-hubspot-mta',
  'x-php-originating-script',
  'x-marketoid',
  'x-hs-cid',
  'x-roving-id',
  'x-mj-mid',
  'x-mailin-eid',
  'auto-submitted',
  'content-type',
  // whole-block signals (issue 15): bulk/list infrastructure, provider submission, signing domain
  'list-unsubscribe-post',
  'x-report-abuse',
  'x-sfmc-stack',
  'return-path',
  // without its per-message b= and bh= (src/core/dkim.ts)
  'dkim-signature',
  // presence only (src/core/fingerprint-value.ts)
  'x-ymail-osg',
  'x-sonic-mf',
  'savedfromemail',
  'x-mailman-version',
  'x-mailing-list',
  // each hop as `by <host> with <protocol>` only (src/core/received.ts): who accepted the submission
  'received',
].filter((v, i, a) => a.indexOf(v) === i));

/** Pseudo-fields computed by the engine (rules may match them like headers); see rules/README.md. */
export const PSEUDO_FIELDS: readonly string[] = Object.freeze(['mua', 'msgid', 'msgid-local', 'msgid-host', 'boundary', 'dkim-d']);

/** The headers each pseudo-field is derived from (a rule on the pseudo-field uses them). */
export const PSEUDO_SOURCES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  mua: ['x-mailer', 'user-agent', 'x-newsreader'],
  msgid: ['message-id', 'x-microsoft-original-message-id', 'origin-messageid'],
  'msgid-local': ['message-id', 'x-microsoft-original-message-id', 'origin-messageid'],
  'msgid-host': ['message-id', 'x-microsoft-original-message-id', 'origin-messageid'],
  boundary: ['content-type'],
  'dkim-d': ['dkim-signature'],
});

const FIELD_SET = new Set(FINGERPRINT_FIELDS);

/** The fingerprint (lower-case name -> values) of parsed header fields, keeping FINGERPRINT_FIELDS only, each value as parse keeps it (core/fingerprint-value.ts). */
export function fingerprintFromFields(fields: ReadonlyArray<{ readonly name: string; readonly value: string }>): Record<string, string[]> {
  const fp: Record<string, string[]> = {};
  for (const f of fields) {
    const n = f.name.toLowerCase();
    if (!FIELD_SET.has(n)) continue;
    const v = fingerprintValue(n, f.value);
    if (v !== null) (fp[n] ??= []).push(v);
  }
  return fp;
}
