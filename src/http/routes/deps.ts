/**
 * What the route modules are given: the app context and the process's own parts (pollers,
 * signer, relay), already reduced to the views the routes read. Built once by server.ts.
 */
import type { AppContext } from '../../app/index.js';
import type { FolderStatus, TokenHealth } from '../../app/poll.js';
import type { Metrics } from '../metrics.js';

/** The outbound signing certificate's state (sign/signerStatus), when this process signs. */
export interface SignerStatus {
  notAfter: Date;
  daysLeft: number;
  expiringSoon: boolean;
  subject: string;
}

/** The signing relay, when this process runs one: its health (with the upstream's) and metrics text. */
export interface RelayStatusSource {
  status(): Promise<object>;
  metrics: { render(): Promise<string> };
}

export interface RouteDeps {
  readonly app: AppContext;
  readonly metrics: Metrics;
  /** The clock of every decision a route makes (lookups, erasure time, export day); Date.now in production. */
  readonly now: () => number;
  /** True when this process runs pollers (`--no-poll` or no accounts: false). */
  readonly polling: boolean;
  pollerStatus(): FolderStatus[];
  tokenStatus(): TokenHealth[];
  signer(): SignerStatus | null;
  readonly relay: RelayStatusSource | undefined;
}

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** A poller's status as the API shows it (times as ISO strings). */
export function folderView(f: FolderStatus) {
  return { ...f, lastSyncAt: iso(f.lastSyncAt), lastSuccessAt: iso(f.lastSuccessAt) };
}
