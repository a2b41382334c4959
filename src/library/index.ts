export { openCensus } from './census.js';
export type { Census, OpenCensusOptions } from './census.js';
export { createCensusClient } from './client.js';
export type { CensusClient, CensusClientOptions } from './client.js';
export type { CensusRecommender, RecommendOptions } from './types.js';
