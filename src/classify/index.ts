/** classify stage: rule loading + engine (Fingerprint -> Verdict). Pure apart from loading rule files. */
export { loadRules, compileRuleSet, defaultRulesDir, readRuleInputs, precompileRules, buildRuleSet, builtRuleSetUses } from './load.js';
export { classify } from './engine.js';
export type { ClassifyOptions } from './engine.js';
export { FINGERPRINT_FIELDS, PSEUDO_FIELDS, PSEUDO_SOURCES, fingerprintFromFields } from './fingerprint-fields.js';
export { lintRules, testRules, ruleRegexes, writeShippedVerdicts } from './lint.js';
export type { LintReport, LintProblem, TestReport, TestFailure, RuleRegex } from './lint.js';
export { checkRegex, redosProblem, regexKey, readVerdictFile, recheckRuns, VERDICT_FILE, CHECKER } from './regex-safety.js';
export type { RegexVerdict, VerdictFile } from './regex-safety.js';
export { capabilityOf, compareVersions } from './smime.js';
export { ruleFileJsonSchema } from './rule-schema.js';
export { capabilityReport } from './capability-report.js';
export type { CapabilityReport, CapabilityCell } from './capability-report.js';
export type { RuleSet, CompiledRule } from './rule-types.js';
