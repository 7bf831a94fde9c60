/**
 * The picture of the network the web UI draws: every peer this peer knows and the overlay links
 * between them, as far as the peers that answered tell. A link is reported by both of its ends,
 * so one undirected edge is kept per pair; an edge to a peer nobody here knows is left out.
 */
import type { OverlayLink, PeerInfo } from '../ports.ts';

/** Most peers asked for their links in one picture, the most recently heard from first. */
export const MAX_PEERS_MAPPED = 32;

export interface NetworkEdge {
  /** The two ends, `a` < `b`. */
  a: string;
  b: string;
}

export interface NetworkView {
  self: string;
  /** Every peer this peer knows, not itself. */
  peers: PeerInfo[];
  links: NetworkEdge[];
  /** Peers whose links are drawn (this peer included); the others did not answer in time. */
  mapped: string[];
}

/** The alive peers to ask for their links, most recently heard from first, at most `max`. */
export function peersToMap(peers: PeerInfo[], max = MAX_PEERS_MAPPED): PeerInfo[] {
  return peers
    .filter((p) => p.state === 'alive')
    .sort((x, y) => y.lastSeen - x.lastSeen || (x.peerId < y.peerId ? -1 : 1))
    .slice(0, max);
}

/** One view from the known peers and the links each answering peer reported. */
export function networkView(self: string, peers: PeerInfo[], reported: Map<string, OverlayLink[]>): NetworkView {
  const known = new Set([self, ...peers.map((p) => p.peerId)]);
  const edges = new Map<string, NetworkEdge>();
  for (const [from, links] of reported) {
    for (const link of links) {
      if (link.peerId === from || !known.has(link.peerId) || !known.has(from)) continue;
      const [a, b] = from < link.peerId ? [from, link.peerId] : [link.peerId, from];
      edges.set(`${a} ${b}`, { a, b });
    }
  }
  const links = [...edges.values()].sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1));
  return { self, peers, links, mapped: [...reported.keys()] };
}
