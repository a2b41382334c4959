import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { classify, defaultRulesDir, loadRules, capabilityOf, compareVersions, FINGERPRINT_FIELDS, PSEUDO_FIELDS, PSEUDO_SOURCES } from '../../src/classify/index.js';
import { fieldView } from '../../src/classify/engine.js';
import { isAppError } from '../../src/core/index.js';

const fx = (p: string): string => fileURLToPath(new URL(`../fixtures/classify/${p}`, import.meta.url));
const min = loadRules([fx('rules-min')]);
const shipped = loadRules([defaultRulesDir()]);

describe('engine: ambiguity and S/MIME level', () => {
  it('a versioned match takes the level of the entry whose range contains the version', () => {
    const v = classify(min, { 'user-agent': ['Alpha/2.1'] });
    expect(v).toMatchObject({ family: 'alpha', version: '2.1', smime: 'verify', ruleId: 'alpha-ua' });
    expect(v.references).toEqual(['https://example.invalid/alpha-new']);
    expect(classify(min, { 'user-agent': ['Alpha/1.9'] }).smime).toBe('tolerate');
  });

  it('an unknown version takes the weakest level that could apply', () => {
    expect(capabilityOf(min.smime, 'alpha', null, null).level).toBe('tolerate');
  });

  it('ambiguous headers name every candidate and take the weakest candidate level, never the strongest', () => {
    const v = classify(min, { 'message-id': ['<x@shared.example>'] });
    expect(v.family).toBe('alpha');
    expect(v.candidates).toEqual(['alpha', 'beta']);
    expect(v.smime).toBe('broken');
    expect(v.references).toContain('https://example.invalid/beta');
  });

  it('a family without an S/MIME file is unknown', () => {
    const v = classify(min, { 'x-mailer': ['Beta 3'] });
    expect(v.smime).toBe('broken');
    expect(capabilityOf(min.smime, 'nobody', '1.0', null).level).toBe('unknown');
  });

  it('Exchange Online ids are microsoft-365 with all Outlook candidates, weakest level among them', () => {
    const v = classify(shipped, { 'message-id': ['<TY0PR04MB63282B4D6BAEF754115502548152A@TY0PR04MB6328.apcprd04.prod.outlook.com>'] });
    expect(v.family).toBe('microsoft-365');
    expect(v.candidates).toEqual(expect.arrayContaining(['outlook-web', 'outlook-windows', 'outlook-mobile', 'outlook-new']));
    let weakest = capabilityOf(shipped.smime, 'microsoft-365', null, null).level;
    const order = ['broken', 'unknown', 'tolerate', 'verify'];
    for (const c of v.candidates!) {
      const l = capabilityOf(shipped.smime, c, null, null).level;
      if (order.indexOf(l) < order.indexOf(weakest)) weakest = l;
    }
    expect(v.smime).toBe(weakest);
  });

  it('uses the original Message-ID Outlook.com keeps when it rewrote the id', () => {
    const v = classify(shipped, {
      'message-id': ['<SYBPR01MB78819C794EC3532E5E7FCB3CAF252@SYBPR01MB7881.ausprd01.prod.outlook.com>'],
      'x-microsoft-original-message-id': ['<6e03e9e5-f02e-480c-a4ea-3dd72d645766@Spark>'],
    });
    expect(v.family).toBe('spark');
  });

  it('dotted versions compare numerically', () => {
    expect(compareVersions('102.10.0', '102.9.1')).toBe(1);
    expect(compareVersions('5', '5.0')).toBe(0);
    expect(compareVersions('1.13.1r5676', '1.14')).toBe(-1);
  });
});

describe('engine: automated senders', () => {
  it.each([
    ['x-mailer', 'PHPMailer 6.1.7 (https://github.com/PHPMailer/PHPMailer)'],
    ['x-mailer', 'git-send-email 2.39.2'],
    ['x-mailer', 'b4 0.13.0'],
    ['user-agent', 'StGit/2.4.1'],
    ['x-mailer', 'MIME::Lite 3.033 (F2.85; T2.17; A2.21; B3.15; Q3.13)'],
    ['x-ses-outgoing', '2023.01.01-1.2.3.4'],
    ['x-mailer', 'WPMailSMTP/Mailer/smtp 4.1.0'],
    ['auto-submitted', 'auto-generated'],
  ])('%s: %s is automated with no family and unknown S/MIME', (name, value) => {
    const v = classify(shipped, { [name]: [value] });
    expect(v.kind).toBe('automated');
    expect(v.family).toBeNull();
    expect(v.smime).toBe('unknown');
  });

  it('a person client through a bulk service still wins when it names itself', () => {
    expect(classify(shipped, { 'x-mailer': ['Amazon WorkMail'], 'message-id': ['<0101@us-west-2.amazonses.com>'] }).family).toBe('amazon-workmail');
  });
});

describe('engine: genuineness checks', () => {
  it.each(['Cmdcc 8', 'Dlekwn 0', 'Aexxlpf 2'])('random-word X-Mailer %s is no client and warns', (x) => {
    const v = classify(shipped, { 'x-mailer': [x] });
    expect(v.family).toBeNull();
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.warnings).toContain('forged:random-x-mailer');
  });

  it('a claimed Outlook without an Outlook Message-ID has low confidence and a forged: warning', () => {
    const v = classify(shipped, { 'x-mailer': ['Microsoft Outlook 16.0'], 'message-id': ['<20240825195828.99ADBCC387@host.example>'] });
    expect(v.family).toBe('outlook-windows');
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.warnings).toContain('forged:outlook-message-id');
  });

  it('an iPhone Mail value whose build does not fit the pattern is flagged', () => {
    const v = classify(shipped, { 'x-mailer': ['iPhone Mail (hello)'], 'message-id': ['<B03AB93A-A912-4997-AA6C-4E3C49B05CDC@x.org>'] });
    expect(v.warnings).toContain('forged:ios-build');
    expect(v.confidence).toBeLessThan(0.5);
  });

  it('Thunderbird in X-Mailer is flagged', () => {
    const v = classify(shipped, { 'x-mailer': ['Thunderbird 102.0'] });
    expect(v.warnings).toContain('forged:thunderbird-x-mailer');
    expect(v.confidence).toBeLessThan(0.5);
  });

  it.each(['\r\nBcc: victim@example.com', '\n', '\u0000', '\u001b[31m'])('a control character in a value (%j) lowers confidence and warns', (inj) => {
    const v = classify(shipped, { 'user-agent': [`Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0${inj}`], 'message-id': ['<059bfc62-c2a5-df57-dceb-669585fad4d5@roeck-us.net>'] });
    expect(v.warnings).toContain('forged:header-injection');
    expect(v.confidence).toBeLessThan(0.5);
  });
});

describe('engine: folded values and replaced Message-IDs', () => {
  // source: linux-mailinglist-archives/blinux-list.redhat.com.0@beec9480a25b:m (Thunderbird folded its
  // User-Agent; unfolding keeps the tab, RFC 5322 2.2.3)
  it('a User-Agent folded with a tab reads like one with a space', () => {
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:91.0) Gecko/20100101\tThunderbird/91.6.1';
    const v = classify(shipped, { 'user-agent': [ua], 'message-id': ['<8682c221-924e-6c20-8595-4f4fd9c3ff37@gmail.com>'] });
    expect(v).toMatchObject({ family: 'thunderbird', version: '91.6.1', platform: 'Linux/Unix', ruleId: 'thunderbird-gecko-ua' });
    expect(v.confidence).toBeGreaterThanOrEqual(0.5);
    expect(v.warnings).not.toContain('forged:header-injection');
  });

  it('a blank run with a tab in a raw block folds to one space too', () => {
    const raw = 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) Gecko/20100101\r\n \tThunderbird/102.4.2\r\n\r\n';
    const lines = raw.split('\r\n');
    const value = (lines[0]! + lines[1]!).slice('User-Agent: '.length);
    expect(classify(shipped, { 'user-agent': [value] })).toMatchObject({ family: 'thunderbird', version: '102.4.2', platform: 'Windows' });
  });

  it('folding turns each blank run that holds a tab into one space and keeps runs of spaces alone, in linear time', () => {
    const view = (v: string): string => fieldView({ 'user-agent': [v] }).get('user-agent')![0]!;
    expect(view('a \t b\tc  d\t\t e')).toBe('a b c  d e');
    expect(view('\t a \t')).toBe('a');
    // Spaces before a tab far along: each blank is looked at a bounded number of times (a regex
    // that searched each run for its tab took quadratic time here).
    const long = 'x' + ' '.repeat(500) + 'y' + ' '.repeat(300) + '\t' + ' '.repeat(200) + 'z';
    expect(view(long)).toBe('x' + ' '.repeat(500) + 'y z');
  });

  // source: linux-mailinglist-archives/blinux-list.redhat.com.0@63bdb63571cd:m
  it('a Message-ID a list re-issued does not make the program look forged; one an MTA added still does', () => {
    const listed = classify(shipped, { 'user-agent': ['Mozilla Thunderbird'], 'message-id': ['<mailman.408.1697484687.843864.blinux-list@redhat.com>'] });
    expect(listed).toMatchObject({ family: 'thunderbird', ruleId: 'thunderbird-115-plus' });
    expect(listed.confidence).toBeGreaterThanOrEqual(0.5);
    expect(listed.warnings).toContain('provider:list-assigned-message-id');
    expect(listed.warnings).not.toContain('forged:thunderbird-message-id');
    // Postfix added an id because the "Thunderbird" wrote none: a real Thunderbird always writes one.
    const added = classify(shipped, { 'user-agent': ['Mozilla Thunderbird'], 'message-id': ['<20240627163811.05F6140875@relay.example.net>'] });
    expect(added.warnings).toContain('forged:thunderbird-message-id');
    expect(added.confidence).toBeLessThan(0.5);
  });
});

describe('engine: hostile input never throws', () => {
  it.each([
    ['empty', {}],
    ['non-string values', { 'x-mailer': [5, null, {}] }],
    ['a string instead of an array', { 'x-mailer': 'Mutt/1.5.20' }],
    ['prototype keys', JSON.parse('{"__proto__": ["x"], "constructor": ["y"]}')],
    ['a huge value', { 'x-mailer': ['a'.repeat(5_000_000)], 'message-id': ['<' + '@'.repeat(100_000) + '>'] }],
    ['not an object', null],
  ])('%s', (_n, h) => {
    const v = classify(shipped, h as never);
    expect(v).toHaveProperty('kind');
    expect(Array.isArray(v.warnings)).toBe(true);
  });

  it('upper-case header names are still read', () => {
    expect(classify(shipped, { 'User-Agent': ['Mutt/1.12.0 (2019-05-25)'] } as never).family).toBe('mutt');
  });

  it('no rule matching gives kind unknown, confidence 0', () => {
    expect(classify(shipped, { 'x-mailer': ['Totally Unknown Program v1.0'] })).toMatchObject({ family: null, kind: 'unknown', ruleId: null, confidence: 0, smime: 'unknown' });
  });
});

describe('loading: override folders and errors', () => {
  it('a later folder replaces a rule with the same id, removes a disabled one and adds new ones', () => {
    const rs = loadRules([fx('rules-min'), fx('rules-override')]);
    expect(classify(rs, { 'x-mailer': ['Beta 4'] }).product).toBe('Beta (local override)');
    expect(classify(rs, { 'x-mailer': ['Gamma'] }).family).toBe('gamma');
    expect(classify(rs, { 'message-id': ['<x@shared.example>'] }).ruleId).toBeNull();
    expect(rs.rules.map((r) => r.id)).not.toContain('alpha-beta-shape');
  });

  it('an unsafe regex is refused at load with E_RULE_UNSAFE naming the file and the rule id', () => {
    try {
      loadRules([fx('rules-bad-unsafe')]);
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e) && e.code).toBe('E_RULE_UNSAFE');
      expect((e as Error).message).toMatch(/bad\.yaml: rule nested-quantifier/);
    }
  });

  it('a capability claim without a reference is refused with E_RULE_INVALID naming the file', () => {
    try {
      loadRules([fx('rules-bad-reference')]);
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e) && e.code).toBe('E_RULE_INVALID');
      expect((e as Error).message).toMatch(/delta\.yaml.*reference/);
    }
  });

  it('a missing rules folder is an E_RULE_INVALID error', () => {
    expect(() => loadRules([fx('no-such-folder')])).toThrow(/does not exist/);
  });

  it('FINGERPRINT_FIELDS lists every header a shipped rule matches, and no duplicates', () => {
    const fields = new Set(FINGERPRINT_FIELDS);
    expect(fields.size).toBe(FINGERPRINT_FIELDS.length);
    const pseudo = new Set(PSEUDO_FIELDS);
    for (const r of shipped.rules) for (const c of r.conditions) expect(fields.has(c.field) || pseudo.has(c.field), `${r.id}: ${c.field}`).toBe(true);
    for (const f of ['x-mailer', 'user-agent', 'message-id', 'x-microsoft-original-message-id', 'mime-version']) expect(fields.has(f)).toBe(true);
  });
});

describe('FINGERPRINT_FIELDS stays minimal', () => {
  it('every listed field is used by a shipped rule or check (the IMAP poller fetches exactly these)', () => {
    const used = new Set<string>(['message-id', 'x-mailer', 'user-agent', 'x-newsreader', 'x-microsoft-original-message-id']);
    for (const r of shipped.rules) {
      for (const c of r.conditions) used.add(c.field);
      for (const f of r.absent) used.add(f);
      for (const c of r.checks) if (c.field) used.add(c.field);
    }
    for (const r of shipped.stamps) for (const c of r.conditions) used.add(c.field);
    // A rule on a pseudo-field uses the headers it is derived from.
    for (const [p, sources] of Object.entries(PSEUDO_SOURCES)) if (used.has(p)) for (const f of sources) used.add(f);
    expect(FINGERPRINT_FIELDS.filter((f) => !used.has(f))).toEqual([]);
  });
});
