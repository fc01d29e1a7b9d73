import { expect, vi } from 'vitest';
import {
  Metadata,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { stream } from '#proto';

const { MESSAGE, JOINED } = stream.ChatEvent;

type ChatCall = ClientDuplexStream<Partial<stream.ChatMessage>, stream.ChatMessage>;

/** The grpc-js client's chat methods (untyped at runtime). */
interface ChatCalls {
  chat(metadata: Metadata): ChatCall;
  say(
    request: Partial<stream.SayRequest>,
    metadata: Metadata,
    options: { deadline: number },
    done: (err: ServiceError | null, value?: stream.SayResponse) => void,
  ): void;
}

/** A client, or a running service that has one (a connection of its own). */
type ChatVia = Client | { client: Client };

/** One chat client (a `Soccer.Chat` call): what it received, and how its call ended. */
export class ChatMember {
  readonly received: stream.ChatMessage[] = [];
  readonly ended: Promise<StatusObject>;
  readonly call: ChatCall;
  /** `performance.now()` when its call ended. */
  endedAt?: number;

  constructor(
    via: ChatVia,
    readonly user: string,
  ) {
    const client = 'client' in via ? via.client : via;
    this.call = (client as unknown as ChatCalls).chat(new Metadata());
    this.call.on('data', (m: stream.ChatMessage) => this.received.push(m));
    // 'error' must be listened to; 'status' comes for every ending, OK or not.
    this.call.on('error', () => undefined);
    this.ended = new Promise((resolve) =>
      this.call.on('status', (s: StatusObject) => {
        this.endedAt = performance.now();
        resolve(s);
      }),
    );
  }

  /** Connects, joins `room` and waits for its own JOINED. */
  static async join(via: ChatVia, user: string, room: string): Promise<ChatMember> {
    const member = new ChatMember(via, user);
    member.call.write({ matchId: room, user });
    await member.waitFor((m) => m.event === JOINED && m.user === user);
    return member;
  }

  /** The session token its own JOINED carried. */
  get token(): string {
    return this.received.find((m) => m.event === JOINED && m.user === this.user)!.sessionToken;
  }

  say(text: string): void {
    this.call.write({ text });
  }

  messages(): stream.ChatMessage[] {
    return this.received.filter((m) => m.event === MESSAGE);
  }

  async waitFor(match: (m: stream.ChatMessage) => boolean, timeout = 30_000): Promise<void> {
    await vi.waitFor(() => expect(this.received.some(match)).toBe(true), { timeout, interval: 5 });
  }
}

/** `Soccer.Say` on `client`: its answer, or the error it ended with. */
export function say(
  client: Client,
  request: Partial<stream.SayRequest>,
): Promise<stream.SayResponse | ServiceError> {
  return new Promise((resolve) =>
    (client as unknown as ChatCalls).say(
      request,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, value) => resolve(err ?? value!),
    ),
  );
}

/** Seqs a member saw must be consecutive: nothing lost, nothing twice, nothing reordered. */
export function expectConsecutive(messages: stream.ChatMessage[]): void {
  const seqs = messages.map((m) => m.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
}

/** A session token is only ever on the member's own JOINED, on its own stream. */
export function expectOwnTokenOnly(member: ChatMember): void {
  const carrying = member.received.filter((m) => m.sessionToken !== '');
  expect(carrying).toHaveLength(1);
  expect(carrying[0]).toMatchObject({ event: JOINED, user: member.user });
  expect(carrying[0].sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
}
