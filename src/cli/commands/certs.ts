import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { checkAddress } from '../../app/index.js';
import { AppError } from '../../core/index.js';
import { withApp, out } from '../context.js';
import { printable } from '../light.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('certs')
    .description("a customer's certificates harvested from their signed mail, newest first, with key-continuity status")
    .argument('<address>')
    .option('--pem', "print only the current certificate as PEM (for encrypting to the customer)")
    .option('--json', 'print JSON')
    .action(async (address: string, opts: { pem?: boolean; json?: boolean }) => {
      const a = checkAddress(address);
      await withApp(globals(), { existing: true }, async (ctx) => {
        const rows = await ctx.store.certificatesOf(a);
        if (opts.pem) {
          if (rows.length === 0) throw new AppError('E_NOT_FOUND', `no certificate harvested for ${a}`);
          return out(String(rows[0]!.pem));
        }
        const iso = (t: unknown): string => new Date(Number(t)).toISOString();
        const list = rows.map((r) => ({
          fingerprint: String(r.fingerprint),
          subject: String(r.subject),
          issuer: String(r.issuer),
          serial: String(r.serial),
          notBefore: iso(r.not_before),
          notAfter: iso(r.not_after),
          keyAlgorithm: String(r.key_algorithm),
          capabilities: JSON.parse(String(r.capabilities)) as string[],
          trusted: String(r.trusted),
          continuity: String(r.continuity),
          firstSeen: iso(r.first_seen),
          lastSeen: iso(r.last_seen),
        }));
        if (opts.json) return out(JSON.stringify({ address: a, keyChanged: (await ctx.store.getState(a))?.keyChanged ?? false, certificates: list }, null, 2) + '\n');
        if (list.length === 0) return out(`no certificate harvested for ${a}\n`);
        const lines = list.map((c, i) => `${i === 0 ? '*' : ' '} ${c.fingerprint.slice(0, 16)}…  ${c.continuity.padEnd(11)} ${c.keyAlgorithm.padEnd(10)} valid ${c.notBefore.slice(0, 10)}..${c.notAfter.slice(0, 10)}  trusted:${c.trusted}  ${printable(c.subject)}`);
        return out(lines.join('\n') + '\n');
      });
    });
}
