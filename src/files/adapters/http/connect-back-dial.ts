/**
 * The holder's side of PUSH when Search runs in another process (split mode, docs/ARCHITECTURE.md
 * "Peers behind NAT"): Search's guard decided on a Push for this peer, and asks File Management,
 * on its plaintext side (this host's admin only), to dial the requester at the address given,
 * pinned to the requester's id with ALPN peershare-push/1, and serve it there as if accepted
 * (the same routes and per-route access as any peer's connection). Answers once connected, or
 * with the dial's error.
 */
import { Type } from 'typebox';
import type { AdminGuard } from '../../../shared/admin-guard.ts';
import { PeershareError } from '../../../shared/errors.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { PEER_ID_PATTERN } from '../../../shared/ids.ts';
import { isAddress } from '../../../shared/peer-address.ts';

const ErrorRef = Type.Ref('Error');
const DialBody = Type.Object(
  {
    peerId: Type.String({ pattern: PEER_ID_PATTERN, description: 'the requester: the id its connection must prove' }),
    address: Type.String({ minLength: 3, maxLength: 270, description: "the requester's files address in use" }),
  },
  { additionalProperties: false },
);

export function registerConnectBackDial(
  app: HttpApp,
  o: { admin: AdminGuard; connect(peerId: string, address: string): Promise<void> },
): void {
  app.post(
    '/connect-backs',
    {
      onRequest: o.admin,
      schema: {
        summary:
          "Connect back to a requester that pushed (this peer's Search in another process decided): dial it pinned to its id and serve it",
        body: DialBody,
        response: {
          200: Type.Object({ connected: Type.Literal(true) }),
          400: ErrorRef,
          401: ErrorRef,
          403: ErrorRef,
          502: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (request) => {
      const { peerId, address } = request.body;
      // (`address` is `never` past the check, the schema having typed it a string: the message reads the body)
      if (!isAddress(address))
        throw new PeershareError('BAD_REQUEST', `not a host:port address: ${request.body.address}`);
      await o.connect(peerId, address);
      return { connected: true as const };
    },
  );
}
