/** `smime-census eval DIR`: accuracy of the current rules on a labelled corpus. */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { ruleDirs } from '../rule-dirs.js';
import { loadRules } from '../../classify/index.js';
import { crossValidate, evaluateCorpus, type CrossValidation, type EvalScore } from '../../app/evaluate.js';
import { AppError } from '../../core/index.js';
import { out } from '../context.js';

const pct = (x: number): string => (100 * x).toFixed(1) + '%';

function scoreLines(r: EvalScore): string[] {
  return [
    `overall accuracy     ${pct(r.accuracy)}  (${r.correct}/${r.total}, families + automated)`,
    `family accuracy      ${pct(r.familyAccuracy)}  (${r.familyCorrect}/${r.familyTotal})`,
    `automated recall     ${pct(r.automated.recall)}  (${r.automated.recalled}/${r.automated.total} automated rows called automated)`,
    `person -> automated  ${r.personCalledAutomated.count}/${r.personCalledAutomated.total} (person rows called automated; must be 0)`,
    `forged -> confident person verdict: ${r.forged.confidentPersonVerdicts}/${r.forged.total}; confident verify: ${r.forged.confidentVerify} (lower is better)`,
    `verify claimed for families known not to verify: ${r.verifyForNonVerifying}`,
    `OTHER rows correct   ${r.other.correct}/${r.other.total}`,
    'top labels:',
    ...r.byLabel.map((g) => `  ${pct(g.accuracy).padStart(6)}  ${String(g.correct).padStart(3)}/${String(g.total).padEnd(3)}  ${g.label}`),
    r.confusions.length ? 'confusions (expected -> got):' : 'confusions: none',
    ...r.confusions.map((c) => `  ${String(c.count).padStart(3)}  ${c.expected} -> ${c.got}`),
  ];
}

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('eval')
    .description('family accuracy and automated recall of the rules on a corpus folder (headers.tsv, messages/*.eml + .json, blocks/*.hdr + labels.tsv)')
    .argument('<dir>', 'corpus folder')
    .option('--rules <dir...>', 'extra rules folders')
    .option('--json', 'print the full report (with every failure) as JSON')
    .option('--failures', 'list every wrong verdict')
    .option('--cv <folds>', 'k-fold cross-validation: score each fold without the rules written only from its items (an estimate on unseen mail)')
    .action(async (dir: string, opts: { rules?: string[]; json?: boolean; failures?: boolean; cv?: string }) => {
      const cv = opts.cv === undefined ? null : Number(opts.cv);
      if (cv !== null && !/^\d+$/.test(opts.cv ?? '')) throw new AppError('E_USAGE', `--cv: folds must be an integer from 2 to 50, got ${JSON.stringify(opts.cv)}`);
      const r = cv !== null ? crossValidate(ruleDirs(globals(), opts.rules), dir, cv) : evaluateCorpus(loadRules(ruleDirs(globals(), opts.rules)), dir);
      if (opts.json) return out(JSON.stringify(r, null, 2) + '\n');
      const lines = [
        `corpus: ${r.sources.headersRows} header rows, ${r.sources.messages} messages, ${r.sources.blocks} whole blocks`,
        ...('folds' in r ? [`cross-validated: ${r.folds} folds; rules dropped per fold (written only from that fold's items): ${(r as CrossValidation).removedPerFold.join(', ')}`] : []),
        '',
        '== single values (headers.tsv) + messages/',
        ...scoreLines(r),
      ];
      if (r.blocks) lines.push('', '== whole header blocks (blocks/, each fed as {"raw": …})', ...scoreLines(r.blocks));
      const parts: Array<[string, EvalScore]> = [['single values + messages', r]];
      if (r.blocks) parts.push(['blocks', r.blocks]);
      if (opts.failures) {
        lines.push('', 'failures:');
        for (const [, s] of parts) for (const f of s.failures) lines.push(`  ${f.source} ${f.where}: expected ${f.expected}, got ${f.verdict.family ?? '(null)'}/${f.verdict.kind} conf ${f.verdict.confidence} rule ${f.verdict.ruleId ?? '-'} | ${f.input.slice(0, 160)}`);
      } else {
        const n = parts.reduce((a, [, s]) => a + s.failures.length, 0);
        if (n) lines.push('', `${n} wrong verdicts (--failures lists them)`);
      }
      return out(lines.join('\n') + '\n');
    });
}
