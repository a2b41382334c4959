/**
 * The surface of oidc-provider (a test-only dependency that ships no TypeScript types) used by
 * test/helpers/oidc.ts.
 */
declare module 'oidc-provider' {
  export interface OidcClient {
    clientId: string;
    metadata(): Record<string, unknown>;
    grantTypeAllowed(type: string): boolean;
  }
  interface TokenModel {
    new (init: Record<string, unknown>): { save(): Promise<string>; expiration: number; scope: string };
    find(value: string): Promise<{ destroy(): Promise<void> } | undefined>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    use(middleware: (ctx: never, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: never[]) => void): void;
    callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
    registerGrantType(name: string, handler: (ctx: never) => Promise<void>, params?: string | string[]): void;
    Client: unknown;
    AccessToken: TokenModel;
    ClientCredentials: TokenModel;
  }
  export const errors: Record<string, new (description?: string) => Error>;
}
