/**
 * Filters usable in rule templates as `$<group|filter>`: they turn a captured token into the
 * version/platform a person would recognise (build trains, hex versions, UA platform tokens).
 * Vendor facts behind each mapping are cited in rules/README.md.
 */

import { createRequire } from 'node:module';
import type UAParserModule from 'ua-parser-js';

export type Filter = (value: string) => string | null;

/** iOS build train -> iOS major: 7 = iOS 3 … 21 = iOS 17, 22 = iOS 18; 23 = iOS 26 (Apple renumbered in 2025). */
function iosMajor(build: string): string | null {
  const m = /^(\d{1,2})[A-Z]/.exec(build);
  if (!m) return null;
  const train = Number(m[1]);
  if (train < 7 || train > 40) return null;
  return String(train >= 23 ? train + 3 : train - 4);
}

/** Apple Mail build (the part after "2.") -> macOS release. Build trains per macOS release. */
const MAIL_BUILDS: ReadonlyArray<readonly [number, string, string]> = [
  // [first build of the next release, macOS release, Mail marketing version]
  [900, '10.4', '2'],
  [1000, '10.5', '3'],
  [1200, '10.6', '4'],
  [1400, '10.7', '5'],
  [1700, '10.8', '6'],
  [1950, '10.9', '7'],
  [3000, '10.10', '8'],
  [3200, '10.11', '9'],
  [3400, '10.12', '10'],
  [3500, '10.13/10.14', '11/12'],
  [3650, '10.15', '13'],
  [3690, '11', '14'],
  [3720, '12', '15/16'],
  [3760, '13', '16.0'],
  [3800, '14', '16.0'],
  [3850, '15', '16.0'],
  [Infinity, '26', '16.0'],
];

function mailBuild(build: string): { os: string; mail: string } | null {
  const m = /^(?:2\.)?(\d{3,4})(?:\.(\d+))?/.exec(build);
  if (!m) return null;
  const n = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  // High Sierra and Mojave share build 3445; Mojave's Mail 12 is 3445.100 and later.
  if (n === 3445) return minor >= 100 ? { os: '10.14', mail: '12' } : { os: '10.13', mail: '11' };
  for (const [limit, os, mail] of MAIL_BUILDS) if (n < limit) return { os, mail };
  return null;
}

/** Outlook for Mac 16.26 - 16.3x sent hex-encoded versions: 10.1a.0.190609 = 16.26. */
function macOutlookVersion(v: string): string | null {
  const m = /^10\.([0-9a-f]{1,2})(\.\d+)*(?:\.(\d+))?/i.exec(v);
  if (m) return `16.${parseInt(m[1]!, 16)}`;
  const d = /^(\d+\.\d+)/.exec(v);
  return d ? d[1]! : null;
}

/** The operating system named in a Mozilla-style platform comment or UA string (regex fallback). */
function osFromUaTokens(v: string): string | null {
  if (/iPhone|iPad|iOS/i.test(v)) return 'iOS';
  if (/Android/i.test(v)) return 'Android';
  if (/Windows|Win(?:NT|95|98|32|64)|\bWin\b/i.test(v)) return 'Windows';
  if (/Macintosh|Mac ?OS|\bMac\b|Darwin|\bOSX\b/i.test(v)) return 'macOS';
  if (/Linux|X11|BSD|SunOS|IRIX|gnu/i.test(v)) return 'Linux/Unix';
  return null;
}

/** ua-parser-js OS names -> the platform names verdicts and rules/smime entries use. */
function platformName(os: string): string | null {
  const n = os.toLowerCase();
  if (n === 'ios' || n === 'ipados') return 'iOS';
  if (n === 'android') return 'Android';
  if (n.startsWith('windows')) return 'Windows';
  if (n === 'mac os' || n === 'macos') return 'macOS';
  if (n === 'chromium os' || n === 'chrome os') return 'ChromeOS';
  if (/linux|ubuntu|debian|fedora|mint|arch|gentoo|suse|centos|red ?hat|mandriva|slackware|bsd|solaris|sunos|aix|hp-ux|irix|unix|gnu|elementary|manjaro|kubuntu|xubuntu|zenwalk|pclinuxos|deepin|raspbian|sailfish/.test(n)) return 'Linux/Unix';
  return null;
}

// A bare platform comment ("X11; Linux x86_64; rv:102.0") is parsed as the UA it came from. The
// Gecko "rv:" token says nothing about the OS and varies with every release: it is dropped, so the
// filter memo (compileTemplateParts) sees a handful of distinct platform strings, not one per version.
const RV_TOKEN = /;\s*rv:[0-9.a-z]{1,20}/g;
// ua-parser-js on first use (a CommonJS package: require is synchronous, as filters are): most
// messages never reach a platform filter, and an MTA's one-process-per-message `import -`
// should not pay for compiling its regex tables at start-up.
// The parser, not its getResult(): each getter runs only its own regex table, and filters need the
// OS (and the browser), never the device, engine and CPU tables, which were most of a parse
// (~60 ms of a one-message `import -` whose platform comes from a User-Agent).
let UAParser: typeof UAParserModule | undefined;
function parseUa(v: string): UAParserModule.UAParserInstance {
  UAParser ??= createRequire(import.meta.url)('ua-parser-js') as typeof UAParserModule;
  return new UAParser(/^Mozilla\//.test(v) ? v : `Mozilla/5.0 (${v})`);
}
function platformKey(v: string): string {
  return v.indexOf('rv:') >= 0 ? v.replace(RV_TOKEN, '') : v;
}

/** OS of a Mozilla-style UA or platform comment: ua-parser-js first, the token regex when it gives nothing. */
const OS_MEMO = new Map<string, string | null>();
function osFromUa(v: string): string | null {
  const key = platformKey(v);
  let r = OS_MEMO.get(key);
  if (r === undefined) {
    const os = parseUa(key).getOS().name;
    r = (os ? platformName(os) : null) ?? osFromUaTokens(key);
    if (OS_MEMO.size >= FILTER_MEMO_MAX) OS_MEMO.clear();
    OS_MEMO.set(key, r);
  }
  return r;
}

/** "Android 4.2.2", "Windows 7", "macOS 10.15": the OS with its version, when the UA carries one. */
function osVersionFromUa(v: string): string | null {
  const os = parseUa(v).getOS();
  const name = os.name ? platformName(os.name) : null;
  if (!name) return osFromUaTokens(v);
  return os.version ? `${name} ${os.version}` : name;
}

/** A webmail's browser UA -> "Android 4.2.2, Chrome 71" (platform and browser, as far as the UA says). */
function browserPlatform(v: string): string | null {
  const ua = parseUa(v);
  const r = { os: ua.getOS(), browser: ua.getBrowser() };
  const os = r.os.name ? platformName(r.os.name) : osFromUaTokens(v);
  const osText = os && r.os.version && os !== 'Linux/Unix' ? `${os} ${r.os.version}` : os;
  const b = r.browser.name && r.browser.name !== 'Mozilla' && r.browser.name !== 'WebKit' ? `${r.browser.name}${r.browser.major ? ' ' + r.browser.major : ''}` : null;
  const parts = [osText, b].filter((x): x is string => !!x);
  return parts.length ? parts.join(', ') : null;
}

export const FILTERS: Readonly<Record<string, Filter>> = {
  'ios-major': iosMajor,
  'macos-from-mail-build': (b) => {
    const r = mailBuild(b);
    return r ? `macOS ${r.os}` : null;
  },
  'mail-version-from-build': (b) => mailBuild(b)?.mail ?? null,
  'mac-outlook-version': macOutlookVersion,
  'os-from-ua': osFromUa,
  'os-version-from-ua': osVersionFromUa,
  'browser-platform': browserPlatform,
  /** Foxmail writes "7, 2, 5, 140": make it dotted. */
  'commas-to-dots': (v) => v.replace(/\s+/g, '').replace(/,/g, '.') || null,
  /** Trailing distribution suffixes: "3.46.4-2" -> "3.46.4". */
  'dotted-prefix': (v) => /^\d+(?:\.\d+)*/.exec(v)?.[0] ?? null,
  lower: (v) => v.toLowerCase(),
  trim: (v) => v.trim() || null,
};

/** Expands `$<name>` / `$<name|filter>` in a template with the captured groups; null when a group is missing. */
export function expandTemplate(template: string, groups: Readonly<Record<string, string | undefined>>): string | null {
  let missing = false;
  const out = template.replace(/\$<([a-zA-Z][a-zA-Z0-9]*)(?:\|([a-z-]+))?>/g, (_m, name: string, filter: string | undefined) => {
    const raw = groups[name];
    if (raw === undefined || raw === '') {
      missing = true;
      return '';
    }
    if (!filter) return raw;
    const f = FILTERS[filter];
    const v = f ? f(raw) : null;
    if (v === null) missing = true;
    return v ?? '';
  });
  if (missing) return null;
  const t = out.trim();
  return t === '' ? null : t;
}

/** Template placeholders (group name, filter) used by a template string. */
export function templateRefs(template: string): Array<{ name: string; filter: string | undefined }> {
  return [...template.matchAll(/\$<([a-zA-Z][a-zA-Z0-9]*)(?:\|([a-z-]+))?>/g)].map((m) => ({ name: m[1]!, filter: m[2] }));
}

/** Filters are pure; their inputs repeat a lot (UA platform comments, builds), so remember a bounded number. */
const FILTER_MEMO_MAX = 1024;

function memo(f: Filter): Filter {
  const cache = new Map<string, string | null>();
  return (v) => {
    let r = cache.get(v);
    if (r === undefined) {
      r = f(v);
      if (cache.size >= FILTER_MEMO_MAX) cache.clear();
      cache.set(v, r);
    }
    return r;
  };
}

/** Compiles a template into a function of the captured groups (see expandTemplate). */
export function compileTemplateParts(template: string): (groups: Readonly<Record<string, string | undefined>>) => string | null {
  const parts: Array<string | { name: string; filter: Filter | null }> = [];
  let last = 0;
  for (const m of template.matchAll(/\$<([a-zA-Z][a-zA-Z0-9]*)(?:\|([a-z-]+))?>/g)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push({ name: m[1]!, filter: m[2] ? memo(FILTERS[m[2]] ?? (() => null)) : null });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return (groups) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      const raw = groups[p.name];
      if (raw === undefined || raw === '') return null;
      const v = p.filter ? p.filter(raw) : raw;
      if (v === null) return null;
      out += v;
    }
    const t = out.trim();
    return t === '' ? null : t;
  };
}
