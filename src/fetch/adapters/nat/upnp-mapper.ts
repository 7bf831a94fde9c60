/**
 * PortMapper over UPnP IGD (@achingbrain/nat-port-mapper, what js-libp2p uses): find the home
 * router by SSDP on the local network, ask its external address, ask it to forward each peer port
 * from the same port, and judge the answers (domain/port-mapping.ts); what is not kept is undone
 * at once. Mappings carry a lease (MAPPING_TTL_MS) that the library renews while the peer runs,
 * and are removed at stop. Every step has a deadline. The library sends nothing beyond the local
 * network: SSDP multicast on the LAN and HTTP to the router it found.
 */
import { createSocket } from 'node:dgram';
import { upnpNat, type Gateway, type UPnPNAT } from '@achingbrain/nat-port-mapper';
import type { Logger } from '../../../shared/logging.ts';
import { judgeMappings, type MappingAnswer, type PortMappingStatus } from '../../domain/port-mapping.ts';
import type { PortMapper } from '../../ports.ts';

/** How long to look for a router, and to wait for each of its answers. */
export const GATEWAY_SEARCH_MS = 10_000;
export const GATEWAY_ANSWER_MS = 10_000;
/** Lease asked for each mapping; renewed by the library a minute before it ends. */
export const MAPPING_TTL_MS = 60 * 60_000;
const DESCRIPTION = 'peershare';

export class UpnpPortMapper implements PortMapper {
  readonly #nat: UPnPNAT;
  #gateway: Gateway | undefined;

  constructor(private readonly logger: Logger) {
    this.#nat = upnpNat({ description: DESCRIPTION, ttl: MAPPING_TTL_MS, autoRefresh: true });
  }

  async map(ports: readonly number[], signal: AbortSignal): Promise<PortMappingStatus> {
    const gateway = await this.#find(signal);
    if (!gateway)
      return {
        state: 'failed',
        reason: `no UPnP router answered within ${GATEWAY_SEARCH_MS / 1000} s on the local network`,
      };
    this.#gateway = gateway;
    const label = `${gateway.host}:${gateway.port}`;
    const answerDeadline = () => AbortSignal.any([signal, AbortSignal.timeout(GATEWAY_ANSWER_MS)]);
    let externalIp: string;
    try {
      externalIp = await gateway.externalIp({ signal: answerDeadline() });
    } catch (err) {
      return {
        state: 'failed',
        gateway: label,
        reason: `the router at ${label} did not tell its external address: ${(err as Error).message}`,
      };
    }
    const internalHost = await localAddressTowards(gateway.host);
    const answers: MappingAnswer[] = [];
    for (const port of ports) {
      try {
        const mapping = await gateway.map(port, internalHost, {
          protocol: 'tcp',
          externalPort: port,
          signal: answerDeadline(),
        });
        answers.push({ internalPort: port, externalPort: mapping.externalPort });
      } catch (err) {
        answers.push({ internalPort: port, error: (err as Error).message });
      }
    }
    const { status, undo } = judgeMappings(label, externalIp, answers);
    for (const port of undo) await gateway.unmap(port, { signal: answerDeadline() }).catch(() => undefined);
    if (status.state === 'mapped')
      this.logger.info(
        { gateway: label, externalIp, internalHost, ports },
        'the router forwards the peer ports; the address is advertised once another host dials this peer back there',
      );
    return status;
  }

  async close(): Promise<void> {
    const gateway = this.#gateway;
    this.#gateway = undefined;
    if (!gateway) return;
    await gateway.stop({ signal: AbortSignal.timeout(GATEWAY_ANSWER_MS) }).catch((err: unknown) => {
      this.logger.warn(
        { err: (err as Error).message },
        'could not remove the port mappings from the router (they end with their lease)',
      );
    });
  }

  /** The first IPv4 gateway SSDP finds, or undefined by the deadline. */
  async #find(signal: AbortSignal): Promise<Gateway | undefined> {
    const search = AbortSignal.any([signal, AbortSignal.timeout(GATEWAY_SEARCH_MS)]);
    try {
      for await (const gateway of this.#nat.findGateways({ signal: search })) {
        if (gateway.family === 'IPv4') return gateway;
      }
    } catch (err) {
      if (!search.aborted) this.logger.debug({ err: (err as Error).message }, 'UPnP gateway search failed');
    }
    return undefined;
  }
}

/** The local address this host sends from towards `host` (the interface facing the router): what the router forwards to. */
async function localAddressTowards(host: string): Promise<string> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(9, host, () => resolve()); // no packet is sent: connecting a UDP socket only picks the route
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}
