import { createRequire } from 'node:module';
import type { DocumentOptions, ParseOptions, SchemaOptions, ToJSOptions } from 'yaml';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
/**
 * The YAML parser, loaded on first use (~120 ms of CPU at start-up otherwise): most processes
 * never parse YAML: the shipped rules come precompiled (load.ts), and lint reads YAML only when run.
 */
export function parseYaml(text: string, options: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions): unknown {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule.parse(text, options);
}
