/**
 * Port mapping on a home router (`--nat upnp`): what the router answered, judged. A peer's record
 * names one port per service, the one it is bound to, so a mapping is worth keeping only if every
 * peer port (files, search, fetch) is forwarded from the same port number on an external address
 * that is itself public. Anything less is undone and said in one line: a router that picks other
 * external ports, one behind another NAT (its "external" address private: double or carrier-grade
 * NAT), or one that refuses a port. Even a kept mapping is only a candidate: the peer advertises an
 * address only once another host dialled it back there (reachability.ts), so a router that
 * claims a mapping it does not forward changes nothing.
 */

export type PortMappingStatus =
  /** --nat off (the default): no router is asked. */
  | { state: 'off' }
  /** Looking for a gateway, or asking it. */
  | { state: 'mapping' }
  /** Every peer port is forwarded from the same port at `externalIp`. */
  | { state: 'mapped'; gateway: string; externalIp: string; ports: number[] }
  /** No gateway answered, or its mapping was undone: `reason` says why, for people. */
  | { state: 'failed'; reason: string; gateway?: string };

/** What the gateway answered for one port. */
export type MappingAnswer = { internalPort: number; externalPort: number } | { internalPort: number; error: string };

/** The verdict on a gateway's answers: the status to show, and the ports to unmap (all that were mapped, unless all is well). */
export function judgeMappings(
  gateway: string,
  externalIp: string,
  answers: readonly MappingAnswer[],
): { status: PortMappingStatus; undo: number[] } {
  const mapped = answers.filter((a): a is { internalPort: number; externalPort: number } => 'externalPort' in a);
  const failed = (reason: string) => ({
    status: { state: 'failed' as const, reason, gateway },
    undo: mapped.map((a) => a.internalPort),
  });
  if (isPrivateIpv4(externalIp)) {
    return failed(
      `the router's external address ${externalIp} is private: another NAT is in front of it (double or carrier-grade NAT), so a mapping on this router cannot make the peer reachable`,
    );
  }
  const refused = answers.find((a): a is { internalPort: number; error: string } => 'error' in a);
  if (refused) return failed(`the router refused to map port ${refused.internalPort}: ${refused.error}`);
  const moved = mapped.find((a) => a.externalPort !== a.internalPort);
  if (moved) {
    return failed(
      `the router mapped port ${moved.internalPort} from external port ${moved.externalPort}; a peer's record names the port it is bound to, so the mapping was undone (free port ${moved.internalPort} on the router, or bind other ports)`,
    );
  }
  return { status: { state: 'mapped', gateway, externalIp, ports: mapped.map((a) => a.internalPort) }, undo: [] };
}

/** Whether an IPv4 address is one no other host on the internet could reach (RFC 1918, CGNAT, loopback, link-local, unspecified). */
export function isPrivateIpv4(address: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return true; // not an IPv4 address: nothing we could advertise from a UPnP answer
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254)
  );
}
