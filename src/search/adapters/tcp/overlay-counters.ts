/**
 * What the overlay has refused, evicted and closed, for the Search service's /health JSON: an
 * eclipse attempt shows up here (many inbound links refused per address or subnet, evictions,
 * links closed for trickling a frame), and what query routing tables cost in bytes.
 */

export interface OverlayCounters {
  /** Inbound connections closed before becoming links, by why. */
  inboundRefused: {
    /** Over maxLinksPerIp links or handshakes from that address. */
    perIp: number;
    /** Over maxLinksPerSubnet inbound links or handshakes from that subnet. */
    perSubnet: number;
    /** More handshakes in progress than twice maxLinks. */
    pending: number;
    /** Every inbound slot taken by a link that may not be evicted. */
    full: number;
  };
  /** Inbound links that carried nothing useful, closed to make room for another peer. */
  evictions: number;
  /** Links closed because a frame they began did not complete within the frame deadline. */
  frameDeadlineCloses: number;
  /** Query routing tables (feature "qrp"): messages and their deflated data bytes, each way. */
  routeTables: {
    sent: number;
    bytesSent: number;
    received: number;
    bytesReceived: number;
    /** Tables that did not decode, each closing its link. */
    refused: number;
  };
}

export function newOverlayCounters(): OverlayCounters {
  return {
    inboundRefused: { perIp: 0, perSubnet: 0, pending: 0, full: 0 },
    evictions: 0,
    frameDeadlineCloses: 0,
    routeTables: { sent: 0, bytesSent: 0, received: 0, bytesReceived: 0, refused: 0 },
  };
}

/** A shuffled copy (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
