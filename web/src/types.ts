/**
 * The Client API's types, as its own code declares them: the UI imports them (types only, no
 * code) so that a change to the API shows up here as a type error.
 */
export type {
  DownloadProgress,
  PeerInfo,
  SearchHit,
  SearchSummary,
  SharedFile,
  SharedFolder,
  ShareProgress,
  ShareResult,
} from '../../src/client/ports.ts';
export type { PeerStatus, QueuedDownload, QueuedFolder } from '../../src/client/domain/client-app.ts';
export type { NetworkEdge, NetworkView } from '../../src/client/domain/network.ts';

export type DownloadAction = 'pause' | 'resume' | 'cancel';
