import type { stream } from '#proto';

/** A `ChatMessage` for soccer-service's Chat call: `fields`, every other field at its proto default. */
export function chatMessage(fields: Partial<stream.ChatMessage>): stream.ChatMessage {
  return {
    matchId: '',
    user: '',
    text: '',
    seq: 0,
    sentAtMs: 0,
    event: 0,
    sessionToken: '',
    ...fields,
  };
}
