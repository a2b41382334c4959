/** `smime-census rules lint|test|schema`: tooling for the rule data under rules/. */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { ruleDirs } from '../rule-dirs.js';
import { capabilityReport, lintRules, loadRules, ruleFileJsonSchema, testRules, writeShippedVerdicts } from '../../classify/index.js';
import { out, withApp } from '../context.js';
import { AppError } from '../../core/index.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  const rules = program.command('rules').description('check and test the client rules (rules/clients, rules/smime)');
  rules
    .command('lint')
    .description('schema, unique ids, examples, references, field names, regex syntax and ReDoS safety (recheck); exit 1 on problems')
    .option('--rules <dir...>', 'extra rules folders to lint with the shipped ones')
    .option('--only', 'lint only the --rules folders, not the shipped rules')
    .option('--fresh', 'recheck every regex, ignoring cached verdicts (rules/regex-verdicts.json); takes about a minute')
    .option('--write-verdicts', "rewrite rules/regex-verdicts.json from the shipped rules' regexes (after changing a shipped rule)")
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rules?: string[]; only?: boolean; fresh?: boolean; writeVerdicts?: boolean; json?: boolean }) => {
      const dirs = opts.only && opts.rules?.length ? opts.rules : ruleDirs(globals(), opts.rules);
      if (opts.writeVerdicts) {
        const { file, data } = writeShippedVerdicts();
        const bad = Object.values(data.verdicts).filter((v) => v.status !== 'safe').length;
        process.stderr.write(`${file}: ${Object.keys(data.verdicts).length} verdicts (${data.checker}), ${bad} not safe\n`);
      }
      const report = lintRules(dirs, { fresh: opts.fresh });
      if (opts.json) await out(JSON.stringify(report, null, 2) + '\n');
      else {
        const lines = report.problems.map((p) => `${p.file}: ${p.ruleId ? `rule ${p.ruleId}: ` : ''}${p.message}`);
        lines.push(`${report.files} files, ${report.rules} rules, ${report.problems.length} problem(s)`);
        await out(lines.join('\n') + '\n');
      }
      if (report.problems.length) process.exitCode = 1;
    });
  rules
    .command('test')
    .description("run every rule's examples through the engine; exit 1 on a failure")
    .option('--rules <dir...>', 'extra rules folders')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rules?: string[]; json?: boolean }) => {
      const report = testRules(loadRules(ruleDirs(globals(), opts.rules)));
      if (opts.json) await out(JSON.stringify(report, null, 2) + '\n');
      else {
        const lines = report.failures.map((f) => `${f.file}: rule ${f.ruleId}: example ${f.example + 1}: ${f.message}`);
        lines.push(`${report.examples} examples, ${report.passed} passed, ${report.failures.length} failed`);
        await out(lines.join('\n') + '\n');
      }
      if (report.failures.length) process.exitCode = 1;
    });
  rules
    .command('capability')
    .description('S/MIME capability cells (one per rules/smime entry) by level; --unknown lists the cells no source answers yet')
    .option('--rules <dir...>', 'extra rules folders')
    .option('--unknown', 'list only the unknown cells')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rules?: string[]; unknown?: boolean; json?: boolean }) => {
      const report = capabilityReport(loadRules(ruleDirs(globals(), opts.rules)));
      const list = opts.unknown ? report.list.filter((c) => c.level === 'unknown') : report.list;
      if (opts.json) return out(JSON.stringify({ ...report, list }, null, 2) + '\n');
      const range = (c: (typeof list)[number]): string => [c.since ? `>=${c.since}` : '', c.until ? `<${c.until}` : '', c.platform ?? ''].filter(Boolean).join(' ') || 'all';
      const lines = list.map((c) => `${c.level.padEnd(8)} ${c.family} (${range(c)})`);
      const { verify, tolerate, broken, unknown } = report.byLevel;
      lines.push(`${report.cells} capability cells in ${report.families} families: ${verify} verify, ${tolerate} tolerate, ${broken} broken, ${unknown} unknown`);
      return out(lines.join('\n') + '\n');
    });
  rules
    .command('unknown')
    .description('most frequent X-Mailer / User-Agent values in the database that no rule recognised (the to-do list for new rules)')
    .option('--top <n>', 'how many values to list (1-1000)', '20')
    .option('--json', 'print JSON')
    .action(async (opts: { top: string; json?: boolean }) => {
      const top = Number(opts.top);
      // An explicit limit, validated strictly: 0, NaN or 1e9 are usage errors, not silent defaults.
      if (!Number.isInteger(top) || top < 1 || top > 1000) throw new AppError('E_USAGE', `--top must be an integer from 1 to 1000, got ${JSON.stringify(opts.top)}`);
      await withApp(globals(), { readonly: true }, async (ctx) => {
        const rows = await ctx.store.unknownFingerprints(top);
        if (opts.json) return out(JSON.stringify(rows, null, 2) + '\n');
        const lines = rows.map((r) => `${String(r.count).padStart(7)}  ${r.header}: ${r.value}  (e.g. ${r.exampleMessageId})`);
        if (rows.length === 0) lines.push('no unrecognised values');
        return out(lines.join('\n') + '\n');
      });
    });
  rules
    .command('schema')
    .description('print the JSON Schema of a client rule file (rules/schema.json is generated from it)')
    .action(async () => {
      await out(JSON.stringify(ruleFileJsonSchema(), null, 2) + '\n');
    });
}
