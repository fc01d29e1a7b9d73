import type { stream } from '#proto';
import { checkMatchId, invalidArgument } from '../media/match-id.js';

/** Longest user name, in characters. */
export const MAX_USER_CHARS = 40;

/** Who joins which room, from a session's first message. */
export interface ChatJoin {
  room: string;
  user: string;
}

function invalid(message: string, field: string) {
  return invalidArgument(message, 'INVALID_CHAT_MESSAGE', field);
}

/** Characters as people count them (code points), not UTF-16 units. */
function charCount(text: string): number {
  return [...text].length;
}

/** Reads the room and user of a session's first message, or throws INVALID_ARGUMENT. */
export function readJoin(message: stream.ChatMessage): ChatJoin {
  if (!message.matchId) {
    throw invalid('the first chat message must carry matchId, the room to join', 'match_id');
  }
  const room = checkMatchId(message.matchId, 'match_id');
  const user = message.user.trim();
  // Control characters would let a name forge lines in logs and terminals.
  if (!user || charCount(user) > MAX_USER_CHARS || /\p{Cc}/u.test(user)) {
    throw invalid(
      `the first chat message must carry user: 1-${MAX_USER_CHARS} characters, no control characters`,
      'user',
    );
  }
  return { room, user };
}

/** Returns `text` when it is 1..maxChars characters long, else throws INVALID_ARGUMENT. */
export function checkText(text: string, maxChars: number): string {
  if (!text) throw invalid('a chat message must carry text', 'text');
  // text.length >= characters, so the exact count is needed only above the limit.
  if (text.length > maxChars && charCount(text) > maxChars) {
    throw invalid(`chat message too long: at most ${maxChars} characters`, 'text');
  }
  return text;
}
