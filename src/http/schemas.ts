/**
 * JSON schemas of the HTTP API. Requests are validated by ajv; responses are serialised by
 * fast-json-stringify from these schemas (precompiled, several times faster than
 * JSON.stringify on the lookup hot path, and nothing outside the schema can leak out).
 */
import * as z from 'zod';
import { ClientSummarySchema, LookupResultSchema } from '../app/lookup.js';
import { tokenHealthSchema } from './token-health.js';

const nullableString = { type: ['string', 'null'] } as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
} as const;

/** The error responses every API route may give, for its `response` schema. */
export const withErrors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema, 503: errorSchema } as const;

/** JSON Schema (draft-07: what fastify's ajv and fast-json-stringify read) of a zod type, for embedding. */
export function jsonSchemaOf(type: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(type, { target: 'draft-7', io: 'output' });
  return schema;
}

/** ClientSummary and LookupResult of src/app/lookup.ts (the same object as `lookup --json`), derived from its zod schema. */
export const clientSummarySchema = jsonSchemaOf(ClientSummarySchema);
export const lookupResultSchema = jsonSchemaOf(LookupResultSchema);

export const addressParamsSchema = {
  type: 'object',
  properties: { address: { type: 'string', minLength: 1, maxLength: 400 } },
  required: ['address'],
} as const;

export const batchBodySchema = {
  type: 'object',
  properties: {
    addresses: { type: 'array', items: { type: 'string', maxLength: 400 } },
    /** Include the per-client list (a second query per address); off by default for speed. */
    clients: { type: 'boolean', default: false },
  },
  required: ['addresses'],
  additionalProperties: false,
} as const;

export const batchResponseSchema = {
  type: 'object',
  properties: { results: { type: 'array', items: lookupResultSchema } },
  required: ['results'],
} as const;

export const exportQuerySchema = {
  type: 'object',
  properties: {
    recommendation: { type: 'string', enum: ['sign', 'do-not-sign', 'unknown'] },
    family: { type: 'string', minLength: 1, maxLength: 100 },
    since: { type: 'string', minLength: 1, maxLength: 40 },
  },
  additionalProperties: false,
} as const;

export const folderStatusSchema = {
  type: 'object',
  properties: {
    account: { type: 'string' },
    folder: { type: 'string' },
    state: { type: 'string' },
    lastSyncAt: nullableString,
    /** Last time the folder's connection worked (a sync pass or a watch round). */
    lastSuccessAt: nullableString,
    /** The last error with its time, kept after recovery; `healthy` says whether it still applies. */
    lastError: { anyOf: [{ type: 'null' }, { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, at: { type: 'string' } } }] },
    /** The verdict about now: false while failing or in back-off, or with no success since the last error. */
    healthy: { type: 'boolean' },
    lag: { type: ['integer', 'null'] },
    counts: {
      type: 'object',
      properties: {
        read: { type: 'integer' },
        stored: { type: 'integer' },
        duplicates: { type: 'integer' },
        skipped: { type: 'object', additionalProperties: { type: 'integer' } },
      },
    },
  },
  required: ['account', 'folder', 'state', 'healthy', 'lastSyncAt', 'lastSuccessAt', 'lastError', 'lag'],
} as const;

export const checkpointSchema = {
  type: 'object',
  properties: {
    account: { type: 'string' },
    folder: { type: 'string' },
    uidValidity: { type: 'string' },
    lastUid: { type: 'integer' },
    updatedAt: { type: 'string' },
  },
} as const;

export const pollersResponseSchema = {
  type: 'object',
  properties: {
    /** False when this process runs no pollers (`--no-poll`, or no accounts configured). */
    polling: { type: 'boolean' },
    pollers: { type: 'array', items: folderStatusSchema },
    /** Committed IMAP checkpoints, whoever wrote them (also a poller in another process). */
    checkpoints: { type: 'array', items: checkpointSchema },
  },
  required: ['polling', 'pollers', 'checkpoints'],
} as const;

export const statsResponseSchema = {
  type: 'object',
  properties: {
    generatedAt: { type: 'string' },
    addresses: { type: 'integer' },
    messages: { type: 'integer' },
    byRecommendation: {
      type: 'object',
      properties: { sign: { type: 'integer' }, 'do-not-sign': { type: 'integer' }, unknown: { type: 'integer' } },
      required: ['sign', 'do-not-sign', 'unknown'],
    },
    byFamily: {
      type: 'array',
      items: { type: 'object', properties: { family: nullableString, smime: nullableString, addresses: { type: 'integer' }, sign: { type: 'integer' } } },
    },
    byMonth: {
      type: 'array',
      items: { type: 'object', properties: { month: { type: 'string' }, messages: { type: 'integer' }, activeAddresses: { type: 'integer' }, signable: { type: 'integer' } } },
    },
    counters: { type: 'object', additionalProperties: { type: 'integer' } },
    pollers: { type: 'array', items: folderStatusSchema },
  },
  required: ['generatedAt', 'addresses', 'messages', 'byRecommendation', 'byFamily', 'byMonth', 'counters', 'pollers'],
} as const;

export const unknownQuerySchema = {
  type: 'object',
  properties: { top: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
  additionalProperties: false,
} as const;

export const unknownResponseSchema = {
  type: 'object',
  properties: {
    unknown: {
      type: 'array',
      items: { type: 'object', properties: { header: { type: 'string' }, value: { type: 'string' }, count: { type: 'integer' }, exampleMessageId: { type: 'string' } } },
    },
  },
  required: ['unknown'],
} as const;

/** POST /v1/messages: what became of the pushed message. */
export const pushCountsSchema = {
  type: 'object',
  required: ['stored', 'duplicates', 'skipped'],
  properties: {
    stored: { type: 'integer' },
    duplicates: { type: 'integer' },
    skipped: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

export const pingResponseSchema = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;

export const forgetResponseSchema = {
  type: 'object',
  properties: { address: { type: 'string' }, rowsDeleted: { type: 'integer' }, erasedAt: { type: 'string' } },
  required: ['address', 'rowsDeleted', 'erasedAt'],
} as const;

/** Right of access: everything stored, passed through as stored (the shape follows the store). */
export const showResponseSchema = {
  type: 'object',
  properties: {
    address: { type: 'string' },
    state: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: true }] },
    clients: { type: 'array', items: { type: 'object', additionalProperties: true } },
    observations: { type: 'array', items: { type: 'object', additionalProperties: true } },
    certificates: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  required: ['address', 'state', 'clients', 'observations', 'certificates'],
} as const;

export const healthResponseSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    db: { type: 'object', properties: { readable: { type: 'boolean' }, error: { type: 'string' } }, required: ['readable'] },
    uptimeSeconds: { type: 'number' },
    pollers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          account: { type: 'string' },
          folder: { type: 'string' },
          state: { type: 'string' },
          healthy: { type: 'boolean' },
          lastSyncAt: nullableString,
          lastSuccessAt: nullableString,
          lastError: folderStatusSchema.properties.lastError,
        },
      },
    },
    signer: {
      type: 'object',
      properties: { notAfter: { type: 'string' }, daysLeft: { type: 'number' }, expiringSoon: { type: 'boolean' }, subject: { type: 'string' } },
    },
    oauth: tokenHealthSchema,
    relay: {
      type: 'object',
      properties: {
        listening: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'number' },
        mode: { type: 'string' },
        connections: { type: 'number' },
        upstream: {
          type: 'object',
          properties: { url: { type: 'string' }, reachable: { type: ['boolean', 'null'] }, checkedAt: nullableString, lastError: nullableString },
        },
      },
    },
  },
  required: ['status', 'db', 'pollers'],
} as const;
