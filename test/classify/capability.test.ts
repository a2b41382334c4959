import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { capabilityReport, defaultRulesDir, lintRules, loadRules } from '../../src/classify/index.js';
import { applyObservation, recommend } from '../../src/policy/index.js';
import { parseYaml } from '../../src/classify/yaml.js';
import type { Verdict } from '../../src/core/index.js';
import { factsOf } from '../../src/app/ingest.js';
import { classifyBlock } from '../helpers/classify.js';

// source: test/fixtures/classify/corpus/blocks is a copy of /work/shared/corpus/blocks (labels.tsv names each
// block's public source); test/fixtures/messages/37-smime-signed-gmail-hosted.eml is corpus message #37
// (linux-watchdog list archive, see its .json), a Google Workspace account's mail signed by hosted S/MIME.
const blocks = fileURLToPath(new URL('../fixtures/classify/corpus/blocks', import.meta.url));
const message37 = fileURLToPath(new URL('../fixtures/messages/37-smime-signed-gmail-hosted.eml', import.meta.url));
const rules = loadRules([defaultRulesDir()]);
const smimeDir = join(defaultRulesDir(), 'smime');

const verdictOf = (bytes: Uint8Array): Verdict => classifyBlock(rules, bytes);

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15);
function strictRecommendation(v: Verdict) {
  // The same facts ingest folds in (no DMARC result known).
  const state = applyObservation(null, 'someone@example.com', factsOf(v, NOW - DAY, null));
  return recommend(state, NOW, { mode: 'strict', windowDays: 180 }).recommendation;
}

describe('Gmail: consumer and Google Workspace accounts (issue 15.4)', () => {
  it('a consumer account (DKIM d=gmail.com, real block 006) is Gmail consumer: tolerate, exact for that platform', () => {
    const v = verdictOf(readFileSync(join(blocks, '006.hdr')));
    expect(v).toMatchObject({ family: 'gmail', platform: 'consumer', smime: 'tolerate' });
    expect(v.references?.some((r) => r.includes('answer/174124'))).toBe(true);
  });

  it('a Workspace account (own-domain DKIM, real blocks 002 and 008) stays tolerate: hosted S/MIME is not visible in headers', () => {
    for (const f of ['002.hdr', '008.hdr']) {
      const v = verdictOf(readFileSync(join(blocks, f)));
      expect(v).toMatchObject({ family: 'gmail', platform: 'Workspace', smime: 'tolerate' });
      expect(v.references?.some((r) => r.includes('mail/answer/6330403'))).toBe(true);
    }
  });

  it('a Workspace domain without its own DKIM key (Google\'s default d=<domain>.<date>.gappssmtp.com, real blocks 003 and 007) is Workspace too', () => {
    // Admin Help 174124: "If you don't generate your own DKIM domain key, Gmail signs all outgoing messages with
    // this default DKIM domain key: d=*.gappssmtp.com" — a Workspace account, never a consumer one.
    for (const f of ['003.hdr', '007.hdr']) {
      const raw = readFileSync(join(blocks, f));
      expect(raw.toString('latin1')).toMatch(/d=[a-z0-9-]+\.\d{8}\.gappssmtp\.com;/);
      const v = verdictOf(raw);
      expect({ f, family: v.family, platform: v.platform, smime: v.smime, ruleId: v.ruleId }).toEqual({
        f, family: 'gmail', platform: 'Workspace', smime: 'tolerate', ruleId: 'gmail-workspace-message-id',
      });
    }
  });

  it('Gmail mail without any DKIM-Signature (block 006 with its two signatures cut out) has no account type and takes the family\'s weakest level', () => {
    const lines = readFileSync(join(blocks, '006.hdr'), 'latin1').split(/\r?\n/);
    const kept: string[] = [];
    let dropping = false;
    for (const line of lines) {
      if (/^[ \t]/.test(line)) { if (!dropping) kept.push(line); continue; }
      dropping = /^dkim-signature:/i.test(line);
      if (!dropping) kept.push(line);
    }
    const stripped = Buffer.from(kept.join('\r\n'), 'latin1');
    expect(stripped.toString('latin1')).not.toMatch(/^dkim-signature:/im);
    const v = verdictOf(stripped);
    expect(v).toMatchObject({ family: 'gmail', ruleId: 'gmail-message-id', smime: 'tolerate' });
    expect(v.platform ?? null).toBeNull();
  });

  it('no Gmail cell is verify: consumer accounts have no hosted S/MIME, and whether a Workspace admin turned it on is not in the headers', () => {
    const cells = capabilityReport(rules).list.filter((c) => c.family === 'gmail');
    expect(cells.length).toBe(3);
    for (const c of cells) expect(c.level).toBe('tolerate');
  });

  it("a Workspace address whose own Gmail mail arrives S/MIME-signed (message 37) is recommended 'sign'; the same headers unsigned are not", () => {
    const raw = readFileSync(message37);
    const v = verdictOf(raw);
    expect(v).toMatchObject({ family: 'gmail', platform: 'Workspace', smimeMessage: 'signed' });
    expect(strictRecommendation(v)).toBe('sign');
    const unsigned = { ...v, smimeMessage: null };
    expect(strictRecommendation(unsigned)).toBe('do-not-sign');
  });
});

function tempRules(entry: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'caps-'));
  mkdirSync(join(dir, 'smime'));
  mkdirSync(join(dir, 'clients'));
  writeFileSync(join(dir, 'smime', 'some-client.yaml'), `family: some-client\nname: Some client\nentries:\n${entry}`);
  return dir;
}

describe('a verify level that its own entry contradicts is impossible (issue 15 target: 0 verify claims for families known not to verify)', () => {
  const cases: Array<[string, string]> = [
    ['verify cell N', "    verify: N\n"],
    ['display cell N', "    display: N\n"],
    ['via none', "    via: none\n"],
    ['via plugin', "    via: plugin\n"],
    ['via control', "    via: control\n"],
    ['a study that tested it without S/MIME', "    tested:\n      - { version: '1.0', platform: 'web', via: none, source: 'https://example.org/study' }\n"],
  ];
  for (const [why, extra] of cases) {
    it(`lint and the loader refuse level verify with ${why}`, () => {
      const dir = tempRules(`  - level: verify\n${extra}    references: ['https://example.org/vendor-doc']\n`);
      try {
        const r = lintRules([dir]);
        expect(r.problems.map((p) => p.message).join('\n')).toMatch(/level verify is impossible here/);
        expect(() => loadRules([dir])).toThrow(/level verify is impossible here/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('the same entry at level tolerate or unknown is accepted (the fields describe, only verify is constrained)', () => {
    const dir = tempRules(`  - level: tolerate\n    via: none\n    verify: N\n    references: ['https://example.org/vendor-doc']\n`);
    try {
      expect(lintRules([dir]).problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rules/smime.schema.json (ajv, strict) agrees: it rejects a contradicted verify and accepts every shipped file', () => {
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv/dist/2020').default as new (o: object) => { compile(s: unknown): ((d: unknown) => boolean) & { errors?: unknown } };
    const validate = new Ajv({ strict: true }).compile(JSON.parse(readFileSync(join(defaultRulesDir(), 'smime.schema.json'), 'utf8')));
    const bad = { family: 'x', name: 'X', entries: [{ level: 'verify', via: 'plugin', references: ['https://example.org/vendor-doc'] }] };
    expect(validate(bad)).toBe(false);
    for (const f of readdirSync(smimeDir).filter((n) => n.endsWith('.yaml'))) {
      const ok = validate(parseYaml(readFileSync(join(smimeDir, f), 'utf8'), { version: '1.2' }));
      expect({ f, ok }).toEqual({ f, ok: true });
    }
  });
});

describe('capability data from the published studies', () => {
  it('every tested[] source is among the references of its entry', () => {
    for (const f of readdirSync(smimeDir).filter((n) => n.endsWith('.yaml'))) {
      const data = parseYaml(readFileSync(join(smimeDir, f), 'utf8'), { version: '1.2' }) as { entries: Array<{ tested?: Array<{ source: string }>; references?: string[] }> };
      for (const e of data.entries) {
        for (const t of e.tested ?? []) expect({ f, cited: (e.references ?? []).some((r) => r.startsWith(t.source)) }).toEqual({ f, cited: true });
      }
    }
  });

  it('the plugin/control clients of the studies (Airmail, MailDroid, Claws, OWA) stay below verify: headers do not show the add-on', () => {
    for (const family of ['airmail', 'maildroid', 'claws-mail', 'outlook-web']) {
      const cells = capabilityReport(rules).list.filter((c) => c.family === family);
      expect(cells.length).toBeGreaterThan(0);
      for (const c of cells) expect(c.level).not.toBe('verify');
    }
  });

  it('rules capability counts every entry once, by level', () => {
    const r = capabilityReport(rules);
    const { verify, tolerate, broken, unknown } = r.byLevel;
    expect(verify + tolerate + broken + unknown).toBe(r.cells);
    expect(r.cells).toBe([...rules.smime.values()].reduce((n, f) => n + f.entries.length, 0));
    expect(r.families).toBe(rules.smime.size);
  });
});

describe("capability read from the clients' own source trees and trackers (round 6)", () => {
  // Each header names a family whose level was unknown before this round and now rests on source code read
  // at a pinned commit. Header values and Message-IDs are taken from, or shaped like, the rules' public examples (rules/clients/*.yaml).
  const cases: Array<[string, string]> = [
    ['geary', 'X-Mailer: geary/46.0\r\n'],
    ['mailspring', 'X-Mailer: Mailspring\r\nMessage-ID: <0B7A1C2D-3E4F-4A5B-8C6D-7E8F9A0B1C2D@getmailspring.com>\r\n'],
    ['claws-mail', 'User-Agent: Claws Mail 4.3.1 (GTK 3.24.43; x86_64-pc-linux-gnu)\r\nMessage-ID: <20260316161050.01c82973@shazbot.org>\r\n'],
    ['squirrelmail', 'User-Agent: SquirrelMail/1.4.22\r\n'],
    ['zimbra', 'X-Mailer: Zimbra 10.0.6_GA_4627 (ZimbraWebClient - GC120 (Linux)/10.0.6_GA_4627)\r\nMessage-ID: <44070249.6474090.1637569415965.JavaMail.zimbra@intecs.it>\r\n'],
    ['notmuch', 'User-Agent: alot/0.12\r\n'],
    ['mu4e', 'User-Agent: mu4e 1.4.15; emacs 27.1\r\n'],
    ['mailx', 'User-Agent: s-nail v14.9.25\r\nMessage-ID: <202607140924.McYso1vl-lkp@intel.com>\r\n'],
    ['mh', 'X-Mailer: exmh version 2.9.0 11/07/2018 with nmh-1.7+dev\r\n'],
    ['emacs-other', 'X-Mailer: Mew version 6.8 on Emacs 26.3\r\n'],
  ];
  // Proton's level rests on issue threads (its server rewrites multipart/signed as multipart/mixed), not on a
  // source tree; its verdicts carry no platform, so they take the weakest of the Android and iOS entries.
  const proton: [string, string] = ['proton-mail', 'Feedback-ID: 166659585:user:proton\r\nMessage-ID: <DGJJRT1BJV4H.1JGMNMC4SGKT7@pm.me>\r\n'];
  for (const [family, header] of [...cases, proton]) {
    it(`${family}: tolerate (readable, not verified), so the strict policy does not sign`, () => {
      const v = verdictOf(new TextEncoder().encode(`${header}From: a@example.org\r\n\r\n`));
      expect(v).toMatchObject({ family, smime: 'tolerate' });
      expect(strictRecommendation(v)).toBe('do-not-sign');
    });
  }

  it('each of those families cites a source file pinned at a commit, not a moving branch', () => {
    for (const [family] of cases) {
      const refs = (rules.smime.get(family)?.entries ?? []).flatMap((e) => e.references ?? []);
      expect({ family, pinned: refs.some((r) => /^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/[0-9a-f]{40}\//.test(r)) }).toEqual({ family, pinned: true });
    }
  });
});

describe('Entourage 2008 (Microsoft-Entourage/12.x) verifies; older Entourage stays unknown', () => {
  it('12.x is verify from Microsoft\'s Entourage 2008 IT-pro pages; 11.x matches the unknown entry below 12', () => {
    const v12 = verdictOf(new TextEncoder().encode('User-Agent: Microsoft-Entourage/12.20.0.090605\r\nFrom: a@example.org\r\n\r\n'));
    expect(v12).toMatchObject({ family: 'outlook-mac', smime: 'verify' });
    expect(v12.references?.some((r) => r.includes('microsoft.com/uk/mac/itpros'))).toBe(true);
    const v11 = verdictOf(new TextEncoder().encode('User-Agent: Microsoft-Entourage/11.4.0.080122\r\nFrom: a@example.org\r\n\r\n'));
    expect(v11).toMatchObject({ family: 'outlook-mac', smime: 'unknown' });
  });
});

describe('round 7 audit: verify only where a default install checks the signature (issue 15 target: 0 verify claims for families known not to verify)', () => {
  // Header values are the rules' own public examples (rules/clients/*.yaml: lore.kernel.org Mutt and NeoMutt mail,
  // Sylpheed and Horde IMP examples, Debian's Alpine on lore.kernel.org).
  const configuredOnly: Array<[string, string, RegExp]> = [
    ['mutt', 'User-Agent: Mutt/1.12.0 (2019-05-25)\r\nMessage-ID: <20190616071439.GA11880@kroah.com>\r\n', /muttmua\/mutt\/blob\/[0-9a-f]{40}\/init\.h/],
    ['neomutt', 'User-Agent: NeoMutt/20170113 (1.7.2)\r\nMessage-ID: <20191114190848.f6tlqpnybagez76g@kili.mountain>\r\n', /neomutt\/neomutt\/blob\/[0-9a-f]{40}\/auto\.def/],
    ['sylpheed', 'X-Mailer: Sylpheed 3.5.1 (GTK+ 2.24.31; x86_64-pc-linux-gnu)\r\n', /sylpheed\/blob\/[0-9a-f]{40}\/src\/sigstatus\.c/],
    ['horde', 'User-Agent: Horde Application Framework 5\r\nMessage-ID: <20201210081522.Horde.GEA1j18D53oi4VTUxYWD_87@ridecals.com>\r\n', /horde\/imp\/blob\/[0-9a-f]{40}\/config\/prefs\.php/],
  ];
  for (const [family, header, source] of configuredOnly) {
    it(`${family}: tolerate, not verify: it checks S/MIME only once configured, which the headers cannot show; the cell cites the default in the source tree`, () => {
      const v = verdictOf(new TextEncoder().encode(`${header}From: a@example.org\r\n\r\n`));
      expect(v).toMatchObject({ family, smime: 'tolerate' });
      expect(strictRecommendation(v)).toBe('do-not-sign');
      expect(v.references?.some((r) => source.test(r))).toBe(true);
      for (const c of capabilityReport(rules).list.filter((x) => x.family === family)) expect(c.level).not.toBe('verify');
    });
  }

  it('a Mutt user whose own mail arrives S/MIME-signed has shown a configured install: that mail alone is verify evidence', () => {
    const header = 'User-Agent: Mutt/1.12.0 (2019-05-25)\r\nMessage-ID: <20190616071439.GA11880@kroah.com>\r\n' +
      'Content-Type: multipart/signed; micalg=sha-256; protocol="application/pkcs7-signature"; boundary="b"\r\n';
    const v = verdictOf(new TextEncoder().encode(`${header}From: a@example.org\r\n\r\n`));
    expect(v).toMatchObject({ family: 'mutt', smime: 'tolerate', smimeMessage: 'signed' });
    expect(strictRecommendation(v)).toBe('sign');
  });

  it('Alpine stays verify: S/MIME is on by default in OpenSSL builds and checks against the system CA directory (configure.ac, smkeys.c at a pinned commit)', () => {
    const v = verdictOf(new TextEncoder().encode("User-Agent: Alpine 2.22 (DEB 394 2020-01-19)\r\nMessage-ID: <alpine.DEB.2.22.394.2010172016370.9440@hadrien>\r\nFrom: a@example.org\r\n\r\n"));
    expect(v).toMatchObject({ family: 'alpine', smime: 'verify' });
    const refs = v.references ?? [];
    expect(refs.some((r) => /alpinemail\/alpine\/blob\/[0-9a-f]{40}\/configure\.ac/.test(r))).toBe(true);
    expect(refs.some((r) => /alpinemail\/alpine\/blob\/[0-9a-f]{40}\/pith\/smkeys\.c/.test(r))).toBe(true);
  });

  it('FairEmail stays verify and records how it shows a signature (a tap on the signature icon, FAQ at a pinned commit)', () => {
    // The loader keeps only what the engine uses; via and shows are read from the file itself.
    const data = parseYaml(readFileSync(join(smimeDir, 'fairemail.yaml'), 'utf8'), { version: '1.2' }) as { entries: Array<{ level: string; via?: string; shows?: string; references: string[] }> };
    expect(data.entries[0]).toMatchObject({ level: 'verify', via: 'native' });
    expect(data.entries[0]?.shows).toMatch(/tap/);
    expect(data.entries[0]?.references.some((r) => /FairEmail\/blob\/[0-9a-f]{40}\/FAQ\.md/.test(r))).toBe(true);
  });

  it('Outlook on the web is broken without the S/MIME control (OWA 2010 help), the weakest sourced case of its family', () => {
    const v = verdictOf(new TextEncoder().encode('Message-ID: <DUB102-W192C6E94759954C4885B92B14C0@phx.gbl>\r\nFrom: a@example.org\r\n\r\n'));
    expect(v).toMatchObject({ family: 'outlook-web', smime: 'broken' });
    expect(strictRecommendation(v)).toBe('do-not-sign');
  });

  it('Outlook for iOS and Android is broken: with its S/MIME setting off (the default) Microsoft says S/MIME content cannot be consumed', () => {
    expect(capabilityReport(rules).list.filter((c) => c.family === 'outlook-mobile').map((c) => c.level)).toEqual(['broken']);
    const refs = rules.smime.get('outlook-mobile')?.entries[0]?.references ?? [];
    expect(refs.some((r) => r.includes('smime-outlook-for-ios-and-android'))).toBe(true);
  });

  it('AOSP Email is broken: its Exchange app asks EAS for HTML bodies without MIMESupport (source at a pinned commit)', () => {
    const cells = capabilityReport(rules).list.filter((c) => c.family === 'android-email');
    expect(cells.map((c) => c.level)).toEqual(['broken']);
    const refs = rules.smime.get('android-email')?.entries[0]?.references ?? [];
    expect(refs.some((r) => /android_packages_apps_Exchange\/blob\/[0-9a-f]{40}\/src\/com\/android\/exchange\/eas\/EasSyncMail\.java/.test(r))).toBe(true);
  });
});

describe('families that only say "some Exchange client" take the weakest reader (round 7)', () => {
  it('microsoft-365 and exchange-server are broken, since Outlook on the web without the control and EAS clients without MIME are', () => {
    for (const family of ['microsoft-365', 'exchange-server']) {
      expect({ family, levels: capabilityReport(rules).list.filter((c) => c.family === family).map((c) => c.level) }).toEqual({ family, levels: ['broken'] });
    }
    // source: the Exchange Online Message-ID of test/classify/engine.test.ts (a real apcprd04 id).
    const v = verdictOf(new TextEncoder().encode('Message-ID: <TY0PR04MB63282B4D6BAEF754115502548152A@TY0PR04MB6328.apcprd04.prod.outlook.com>\r\nFrom: a@example.org\r\n\r\n'));
    expect(v).toMatchObject({ family: 'microsoft-365', smime: 'broken' });
    expect(strictRecommendation(v)).toBe('do-not-sign');
  });
});

describe('round 8 audit: verify needs a default install that checks the signature, and every member of the family sourced', () => {
  // Header values are the client rules' own examples (rules/clients/desktop.yaml blackberry-*, groupware.yaml hcl-notes-web).
  const blackberry: string[] = [
    'X-Mailer: BlackBerry Email (10.3.3.2205)\r\n',
    'Message-ID: <1262304000-1234567-cardhu_decombobulator_blackberry.rim.net-1456789-@bda052.bisx.produk.on.blackberry>\r\n',
  ];
  for (const header of blackberry) {
    it(`BlackBerry is not verify: S/MIME needs the Support Package and a BES (BB OS) or the S/MIME switch (BB10) — ${header.split(':')[0]}`, () => {
      const v = verdictOf(new TextEncoder().encode(`${header}From: a@example.org\r\n\r\n`));
      expect(v).toMatchObject({ family: 'blackberry', smime: 'unknown' });
      expect(strictRecommendation(v)).not.toBe('sign');
      expect(v.references?.some((r) => r.includes('docs.blackberry.com/en/admin/deliverables/20839/'))).toBe(true);
    });
  }

  const notesWeb: string[] = [
    'X-Mailer: IBM Verse Build 17652-1660 | IBM Domino Build SCN1812108_20180501T0841_FP61 October 18, 2019 at 15:11\r\n',
    'X-Mailer: Lotus Domino Web Server Release 9.0.1FP10 January  15, 2018\r\n',
  ];
  for (const header of notesWeb) {
    it(`iNotes / Verse is not verify: iNotes S/MIME is a server setting and Verse on the web is unsourced — ${header.slice(10, 30)}`, () => {
      const v = verdictOf(new TextEncoder().encode(`${header}From: a@example.org\r\n\r\n`));
      expect(v).toMatchObject({ family: 'hcl-notes-web', smime: 'unknown' });
      expect(strictRecommendation(v)).not.toBe('sign');
      expect(v.references?.some((r) => r.includes('conf_securemailforlotusinotes_c.html'))).toBe(true);
    });
  }

  it('iOS Mail stays verify and records how it shows a signature: blue check mark, red question mark when untrusted (Apple HT202345)', () => {
    const data = parseYaml(readFileSync(join(smimeDir, 'ios-mail.yaml'), 'utf8'), { version: '1.2' }) as { entries: Array<{ level: string; shows?: string; references: string[] }> };
    expect(data.entries[0]?.level).toBe('verify');
    expect(data.entries[0]?.shows).toMatch(/blue check mark.*red question mark/);
    expect(data.entries[0]?.references).toContain('https://support.apple.com/en-sg/HT202345');
  });

  it('Amazon WorkMail stays unknown but records that its web app does not verify (WorkMail User Guide at a pinned commit)', () => {
    const data = parseYaml(readFileSync(join(smimeDir, 'amazon-workmail.yaml'), 'utf8'), { version: '1.2' }) as { entries: Array<{ level: string; verify?: string; references?: string[] }> };
    expect(data.entries[0]).toMatchObject({ level: 'unknown', verify: 'N' });
    expect(data.entries[0]?.references?.some((r) => /amazon-workmail-user-guide\/blob\/[0-9a-f]{40}\/doc_source\/send_encrypted_email\.md/.test(r))).toBe(true);
  });
});

describe('Eudora for Windows 7.1 verifies: its installer ships the S/MIME plug-in, which checks signatures on display (source tree at a pinned commit, round 8)', () => {
  it('X-Mailer "QUALCOMM Windows Eudora Version 7.1.0.9" (a real 2023 list post) is verify and cites SignTran.cpp and the installer project at the commit', () => {
    const v = verdictOf(new TextEncoder().encode('X-Mailer: QUALCOMM Windows Eudora Version 7.1.0.9\r\nFrom: a@example.org\r\n\r\n'));
    expect(v).toMatchObject({ family: 'eudora', version: '7.1.0.9', platform: 'Windows', smime: 'verify' });
    const refs = v.references ?? [];
    expect(refs.some((r) => /evilneuro\/eudora-win\/blob\/[0-9a-f]{40}\/plugins\/SMIME\/SignTran\.cpp/.test(r))).toBe(true);
    expect(refs.some((r) => /evilneuro\/eudora-win\/blob\/[0-9a-f]{40}\/InstallersForEudora\/Eudora7\.1\/EudoraProject\.ism/.test(r))).toBe(true);
  });

  it('older Windows Eudora (4.2, before the plug-in) and an X-Mailer without the platform word stay unknown', () => {
    const old = verdictOf(new TextEncoder().encode('X-Mailer: QUALCOMM Windows Eudora Pro Version 4.2.0.58 \r\nFrom: a@example.org\r\n\r\n'));
    expect(old).toMatchObject({ family: 'eudora', platform: 'Windows', smime: 'unknown' });
    const bare = verdictOf(new TextEncoder().encode('X-Mailer: Eudora Version 7.1.0.9\r\nFrom: a@example.org\r\n\r\n'));
    expect(bare).toMatchObject({ family: 'eudora', smime: 'unknown' });
    expect(strictRecommendation(bare)).not.toBe('sign');
  });
});
