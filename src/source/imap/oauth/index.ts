export { OAuthTokenProvider } from './provider.js';
export type { OAuthCredentials, TokenProviderOptions } from './provider.js';
export { deviceLogin } from './device.js';
export { browserLogin } from './browser.js';
export type { BrowserPrompt, BrowserLoginOptions } from './browser.js';
export type { DevicePrompt, DeviceLoginResult } from './device.js';
export { readTokenState, readRefreshToken, tokenStatePath, writeFileAtomic } from './files.js';
export type { TokenState, StoredRefreshToken } from './files.js';
