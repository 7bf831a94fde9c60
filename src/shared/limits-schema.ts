/** A bandwidth cap on the wire of the services' /limits routes: bytes per second, 0 for none. */
import { Type } from 'typebox';

export const BytesPerSecond = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'bytes per second; 0: no cap',
});
