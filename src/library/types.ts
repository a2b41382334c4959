import type { LookupResult } from '../app/index.js';

/** Options of a lookup. */
export interface RecommendOptions {
  /** Include the per-client list (one more query per address). Default false: the hot path skips it. */
  clients?: boolean;
}

/**
 * What a sender needs: the in-process census (openCensus) and the HTTP client
 * (createCensusClient) both implement it, and the nodemailer plugin consumes it.
 * Results keep input order; a syntactically invalid address rejects with AppError E_ADDRESS.
 */
export interface CensusRecommender {
  recommend(address: string, options?: RecommendOptions): Promise<LookupResult>;
  recommendMany(addresses: readonly string[], options?: RecommendOptions): Promise<LookupResult[]>;
}
