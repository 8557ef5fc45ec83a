import type { IncomingMessage } from 'node:http';
import type { RequestOrigin } from '../access/access-recorder.port';

/** The header a client may name its device with (an id it chose; shown to auditors as given). */
export const DEVICE_ID_HEADER = 'x-ledgerline-device-id';

const USER_AGENT_MAX = 256;
const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Where an HTTP request or WebSocket upgrade came from, for access records: the peer address, the
 * user agent (capped, control characters removed) and the client's device id when it is well
 * formed (otherwise left out rather than stored as sent).
 */
export function requestOriginOf(
  request: Pick<IncomingMessage, 'headers' | 'socket'>,
  transport: RequestOrigin['transport'],
  deviceId?: string,
): RequestOrigin {
  const address = request.socket?.remoteAddress;
  const agent = request.headers['user-agent'];
  const device = deviceId ?? headerValue(request.headers[DEVICE_ID_HEADER]);
  return {
    transport,
    ...(address ? { clientAddress: address } : {}),
    ...(agent ? { userAgent: withoutControlCharacters(agent).slice(0, USER_AGENT_MAX) } : {}),
    ...(device !== undefined && DEVICE_ID.test(device) ? { deviceId: device } : {}),
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function withoutControlCharacters(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? ' ' : ch;
  }
  return out;
}
