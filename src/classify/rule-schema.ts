/**
 * Runtime schemas of the rule data (zod is the authority; rules/schema.json is generated from
 * these by `smime-census rules schema` and checked in sync by the tests).
 */
import * as z from 'zod';

/** Stable kebab-case ids: rule ids, family ids. */
const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Lower-case header names and pseudo-fields (see rules/README.md). */
const FIELD = /^[a-z0-9][a-z0-9-]*$/;
/** Warning codes are `<area>:<detail>` so the policy can match on the prefix. */
const WARNING = /^[a-z]+:[a-z0-9-]+$/;

/**
 * How a study or vendor says S/MIME reaches the client: built in, a third-party plugin, an
 * ActiveX control / browser extension the user installs (OWA), or not at all. The studies'
 * "Support S/MIME" column (native / plugin / n/a) reads straight into it.
 */
export const SMIME_VIA = ['native', 'plugin', 'control', 'none'] as const;
/**
 * Why a `verify` level cannot stand, or null: the entry's own cells or studies say the client does
 * not verify (verify/display N, via none), or verification needs an add-on (plugin, control) that
 * no header shows, so a recipient seen with this client may well lack it.
 */
export function verifyContradiction(e: { verify?: string; display?: string; via?: string; tested?: ReadonlyArray<{ via: string }> }): string | null {
  if (e.verify === 'N') return 'its verify cell is N';
  if (e.display === 'N') return 'its display cell is N';
  if (e.via === 'none') return 'via: none (the client has no S/MIME)';
  if (e.via === 'plugin' || e.via === 'control') return `via: ${e.via} (verification needs an add-on the headers do not show)`;
  if (e.tested?.some((t) => t.via === 'none')) return 'a study tested it without S/MIME (tested[].via none)';
  return null;
}

/**
 * The schemas, built on first use: a one-message `import -` from an MTA takes the shipped rules
 * from the build's precompiled JSON (load.ts) and never validates a rule file, and building these
 * ~100 zod schemas was ~8 ms of its CPU.
 */
function buildSchemas() {
  const Kind = z.enum(['client', 'webmail', 'automated', 'server', 'unknown']);
  const Level = z.enum(['verify', 'tolerate', 'broken', 'unknown']);

  const FieldName = z.string().regex(FIELD, 'a lower-case header name or pseudo-field');
  const FamilyId = z.string().regex(KEBAB, 'a kebab-case family id');

  const ClientSchema = z
    .object({
      family: FamilyId.nullable(),
      kind: Kind,
      product: z.string().max(200).nullable().optional(),
      version: z.string().max(200).nullable().optional(),
      platform: z.string().max(200).nullable().optional(),
    })
    .strict();

  const CheckSchema = z
    .object({
      /** Warning code added when the check FAILS, e.g. forged:outlook-message-id. */
      code: z.string().regex(WARNING),
      /** A field or pseudo-field; `$name` refers to a named group captured by `match`. */
      field: z.string().regex(/^\$?[a-z0-9][a-z0-9-]*$/i),
      /** The value must match this regex (case-insensitive unless the rule is caseSensitive). */
      pattern: z.string().optional(),
      /** The field must be absent (true) / present (false) instead. */
      absent: z.boolean().optional(),
      note: z.string().optional(),
    })
    .strict()
    .refine((c) => (c.pattern === undefined) !== (c.absent === undefined), { message: 'a check has exactly one of pattern / absent' });

  const HeaderValues = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

  const ExampleSchema = z
    .object({
      headers: HeaderValues,
      expect: z
        .object({
          family: FamilyId.nullable().optional(),
          kind: Kind.optional(),
          product: z.string().nullable().optional(),
          version: z.string().nullable().optional(),
          platform: z.string().nullable().optional(),
          ruleId: z.string().optional(),
          candidates: z.array(FamilyId).optional(),
          /** Warning codes that must be present (prefix match on `code`). */
          warnings: z.array(z.string()).optional(),
          /** The verdict must be (un)confident: confidence < 0.5 when true, >= 0.5 when false. */
          lowConfidence: z.boolean().optional(),
        })
        .strict(),
      source: z.string().optional(),
    })
    .strict();

  const RuleSchema = z
    .object({
      id: z.string().regex(KEBAB),
      priority: z.number().int().min(0).max(10000),
      description: z.string().optional(),
      /** All must hold; each value is a regex tested against every value of the field. */
      match: z.record(FieldName, z.string()).optional(),
      /** Fields that must be absent. */
      absent: z.array(FieldName).optional(),
      caseSensitive: z.boolean().optional(),
      client: ClientSchema,
      confidence: z.number().min(0).max(1).optional(),
      /** The headers also fit these families (the chosen family first). */
      candidates: z.array(FamilyId).min(2).optional(),
      /** Warnings always added when this rule matches. */
      warnings: z.array(z.string().regex(WARNING)).optional(),
      /** Genuineness checks; a failing check adds its code and caps confidence. */
      checks: z.array(CheckSchema).optional(),
      /** Where the header values were seen (archive URLs, source paths). */
      references: z.array(z.string().min(1)).optional(),
      examples: z.array(ExampleSchema).optional(),
      /**
       * A provider stamp: this header value was written by the provider's server, not the client
       * (names the `match` field). Matching values are hidden and the other rules decide; this
       * rule's verdict is the answer only when no other rule matches.
       */
      stamp: FieldName.optional(),
      /**
       * With `stamp`: the server REPLACED the program's own value (a mailing list re-issuing a post
       * under its own Message-ID) instead of adding a missing one. The program did write one, so the
       * winning rule's genuineness checks on that field are not run (a missing value proves nothing).
       */
      stampReplaces: z.literal(true).optional(),
      /**
       * Why the rule rightly matches a constant the program always writes (a product name with a digit,
       * a fixed MIME-Version): exempts it from the generalisation check of `rules lint`.
       */
      fixedValue: z.string().min(10).optional(),
      disabled: z.literal(false).optional(),
    })
    .strict()
    .refine((r) => r.stamp === undefined || (r.match !== undefined && r.stamp in r.match), { message: 'stamp must name one of the match fields' })
    .refine((r) => r.stampReplaces === undefined || r.stamp !== undefined, { message: 'stampReplaces needs stamp' })
    .refine((r) => (r.match && Object.keys(r.match).length > 0) || (r.absent && r.absent.length > 0), {
      message: 'a rule needs at least one match or absent condition',
    });

  /** An operator override that removes a shipped rule. */
  const DisabledRuleSchema = z.object({ id: z.string().regex(KEBAB), disabled: z.literal(true), note: z.string().optional() }).strict();

  const RuleFileSchema = z.array(z.union([DisabledRuleSchema, RuleSchema]));

  const Cell = z.enum(['Y', 'N', 'P', '?']);

  const Via = z.enum(SMIME_VIA);

  /** One client test in a published study: what was tested, where, and what it found. */
  const TestedSchema = z
    .object({
      version: z.string().min(1),
      platform: z.string().min(1),
      via: Via,
      source: z.string().min(8),
    })
    .strict();

  const SmimeEntrySchema = z
    .object({
      since: z.string().nullable().optional(),
      until: z.string().nullable().optional(),
      platform: z.string().nullable().optional(),
      level: Level,
      display: Cell.optional(),
      verify: Cell.optional(),
      send: Cell.optional(),
      harvest: Cell.optional(),
      via: Via.optional(),
      shows: z.string().min(1).optional(),
      tested: z.array(TestedSchema).optional(),
      references: z.array(z.string().min(1)).optional(),
      note: z.string().optional(),
    })
    .passthrough()
    .refine((e) => e.level === 'unknown' || (e.references !== undefined && e.references.length > 0), {
      message: 'every level other than unknown needs at least one reference',
    })
    .superRefine((e, ctx) => {
      const why = e.level === 'verify' ? verifyContradiction(e) : null;
      if (why) ctx.addIssue({ code: 'custom', path: ['level'], message: `level verify is impossible here: ${why} (rules/smime/README.md "Consistency")` });
    });

  const SmimeFileSchema = z
    .object({
      family: FamilyId,
      name: z.string().optional(),
      entries: z.array(SmimeEntrySchema),
    })
    .passthrough();
  return { ClientSchema, CheckSchema, ExampleSchema, RuleSchema, DisabledRuleSchema, RuleFileSchema, SmimeEntrySchema, SmimeFileSchema };
}

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;

/** The rule and S/MIME file schemas (built once, on first call). */
export function ruleSchemas(): Schemas {
  return (schemas ??= buildSchemas());
}

export type RuleInput = z.infer<Schemas['RuleSchema']>;
export type DisabledRuleInput = z.infer<Schemas['DisabledRuleSchema']>;
export type RuleFileInput = z.infer<Schemas['RuleFileSchema']>;
export type ExampleInput = z.infer<Schemas['ExampleSchema']>;
export type SmimeFileInput = z.infer<Schemas['SmimeFileSchema']>;
export type SmimeEntryInput = z.infer<Schemas['SmimeEntrySchema']>;

/** The JSON Schema of a client rule file, generated from RuleFileSchema (written to rules/schema.json). */
export function ruleFileJsonSchema(): unknown {
  const s = z.toJSONSchema(ruleSchemas().RuleFileSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...s, $id: 'https://smime-census.invalid/rules/schema.json', title: 'smime-census client rule file (rules/clients/*.yaml)' };
}
