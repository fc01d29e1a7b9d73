import { stream } from '#proto';
import type { ApiErrorBody, ChatJoinedView, ChatMessageView } from '../../openapi/models.js';
import { BoundedQueue } from '../../http-streaming/backpressure.js';
import type { SseWriter } from '../../http-streaming/sse-writer.js';
import type { StreamSink } from '../../http-streaming/stream-relay.js';

/** A chat message as the SSE `message` event's JSON and the chat WebSocket's frames carry it. */
export function toChatMessageView(m: stream.ChatMessage): ChatMessageView {
  return {
    seq: m.seq,
    sentAtMs: m.sentAtMs,
    user: m.user,
    text: m.text,
    event: stream.ChatEvent[m.event] ?? String(m.event),
  };
}

/**
 * One member's SSE stream: `joined` with the session id first (the session
 * token of the member's own JOINED, the stream's first message), then a
 * `message` per room message, in order; a reader more than `maxPending`
 * messages behind is dropped (BoundedQueue) rather than buffered.
 */
export class ChatSseSink implements StreamSink<stream.ChatMessage> {
  private readonly messages: BoundedQueue<stream.ChatMessage>;
  private joined = false;

  constructor(
    private readonly sse: SseWriter,
    maxPending: number,
    onOverflow: () => void,
  ) {
    this.messages = new BoundedQueue(
      sse.res,
      (m) => sse.send('message', toChatMessageView(m)),
      maxPending,
      onOverflow,
    );
  }

  open(): void {
    this.sse.open();
  }

  next(message: stream.ChatMessage): void {
    if (!this.joined) {
      this.joined = true;
      this.sse.send('joined', { sessionId: message.sessionToken } satisfies ChatJoinedView);
    }
    this.messages.offer(message);
  }

  end(): void {
    this.messages.flush();
    this.sse.end('end', {});
  }

  fail(error: ApiErrorBody): void {
    this.messages.flush();
    this.sse.end('error', error);
  }

  release(): void {
    this.sse.release();
  }
}
