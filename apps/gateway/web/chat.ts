import {
  CHAT_CLOSED_OK,
  CHAT_SUBPROTOCOL,
  chatClosedError,
  chatMayRejoin,
  chatSocketUrl,
  describeError,
  type ChatMessage,
} from './api.js';
import { byId, h, say } from './dom.js';

/** Messages kept on screen; older ones are dropped. */
const MAX_SHOWN = 200;
/** Joining again after a lost connection: tries, and the first and longest pause between them. */
const MAX_REJOINS = 10;
const FIRST_REJOIN_DELAY_MS = 500;
const MAX_REJOIN_DELAY_MS = 8000;

/** What soccer-service accepts as a name: 1-40 characters, no control characters. */
function nameProblem(name: string): string | undefined {
  if (!name) return 'Type a name to join.';
  if ([...name].length > 40) return 'A name has at most 40 characters.';
  if (/\p{Cc}/u.test(name)) return 'A name cannot contain control characters.';
  return undefined;
}

/**
 * The "Chat" card: one WebSocket to the chat's URL (`?user=NAME`), which is
 * one Soccer.Chat call: each message typed is one text frame, and every
 * message of the room (one's own included) comes back as a JSON frame. A
 * lost connection (the gateway shut down, say, with close code 4014
 * UNAVAILABLE) is joined again by itself, with growing pauses, through
 * whichever gateway replica the load balancer picks.
 */
export class Chat {
  private readonly room = byId('chat-room', HTMLParagraphElement);
  private readonly joinForm = byId('chat-join', HTMLFormElement);
  private readonly nameInput = byId('chat-name', HTMLInputElement);
  private readonly joinButton = this.joinForm.querySelector('button')!;
  private readonly joined = byId('chat-joined', HTMLDivElement);
  private readonly who = byId('chat-who', HTMLParagraphElement);
  private readonly log = byId('chat-log', HTMLDivElement);
  private readonly messages = byId('chat-messages', HTMLOListElement);
  private readonly sendForm = byId('chat-send', HTMLFormElement);
  private readonly textInput = byId('chat-text', HTMLInputElement);
  private readonly status = byId('chat-status', HTMLParagraphElement);

  private matchId?: string;
  /** Who joined (also while joining again); undefined once left. */
  private user?: string;
  private socket?: WebSocket;
  /** The socket's own JOINED came: the member is in the room. */
  private inRoom = false;
  /** Failed tries to join again since the connection was lost. */
  private rejoins = 0;
  private rejoinTimer?: number;

  constructor() {
    this.joinForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = this.nameInput.value.trim();
      const problem = nameProblem(name);
      if (problem) say(this.status, problem, 'error');
      else this.join(name, true);
    });
    byId('chat-leave', HTMLButtonElement).addEventListener('click', () => {
      this.leave();
      say(this.status, 'You left the chat.');
      this.nameInput.focus();
    });
    this.sendForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    addEventListener('pagehide', () => this.leave());
  }

  /** Moves to the room of match `id`; someone who had joined joins there too. */
  setRoom(id: string): void {
    if (id === this.matchId) return;
    const user = this.user;
    this.leave();
    this.matchId = id;
    this.messages.replaceChildren();
    this.room.textContent = `Room: ${id}. Everyone watching it can read you.`;
    this.nameInput.disabled = this.joinButton.disabled = false;
    say(this.status, '');
    if (user) this.join(user);
  }

  /** Opens the chat socket as `user`; `focus` moves the focus to the message box once in. */
  private join(user: string, focus = false, rejoining = false): void {
    const matchId = this.matchId;
    if (!matchId) return;
    this.leave(rejoining);
    this.user = user;
    this.joinButton.disabled = true;
    if (!rejoining) say(this.status, `Joining ${matchId}…`);
    const socket = new WebSocket(chatSocketUrl(matchId, user), [CHAT_SUBPROTOCOL]);
    this.socket = socket;

    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as ChatMessage;
      if (!this.inRoom) {
        // The first frame is one's own JOINED: in the room.
        this.inRoom = true;
        this.rejoins = 0;
        this.showJoined(true);
        this.who.textContent = `You are ${user}.`;
        say(this.status, '');
        if (focus) this.textInput.focus();
      }
      this.show(message);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.socket) return; // left, or replaced
      const wasIn = this.inRoom;
      this.socket = undefined;
      this.inRoom = false;
      if ((wasIn || rejoining) && chatMayRejoin(event.code) && this.rejoins < MAX_REJOINS) {
        const delay = Math.min(FIRST_REJOIN_DELAY_MS * 2 ** this.rejoins, MAX_REJOIN_DELAY_MS);
        this.rejoins++;
        say(this.status, 'Connection lost; joining again…', 'error');
        this.rejoinTimer = window.setTimeout(() => this.join(user, false, true), delay);
        return;
      }
      this.leave();
      if (event.code === CHAT_CLOSED_OK) say(this.status, 'The chat ended.');
      else if (event.reason) {
        say(
          this.status,
          `The chat ended: ${describeError(chatClosedError(event.code, event.reason))}.`,
          'error',
        );
      } else {
        say(
          this.status,
          wasIn || rejoining
            ? 'The chat connection was closed.'
            : `Could not join the chat of ${matchId} as ${user}.`,
          'error',
        );
      }
    });
  }

  /**
   * Closes the chat socket (1000): the gateway cancels the call and the room
   * sees "left". `keepJoined`: only the socket goes (a rejoin follows).
   */
  private leave(keepJoined = false): void {
    window.clearTimeout(this.rejoinTimer);
    const socket = this.socket;
    this.socket = undefined;
    this.inRoom = false;
    socket?.close(CHAT_CLOSED_OK);
    if (keepJoined) return;
    this.user = undefined;
    this.rejoins = 0;
    this.showJoined(false);
    this.joinButton.disabled = this.matchId === undefined;
  }

  private showJoined(joined: boolean): void {
    this.joinForm.hidden = joined;
    this.joined.hidden = !joined;
    this.sendForm.hidden = !joined;
  }

  private send(): void {
    const text = this.textInput.value;
    if (!text.trim()) return;
    if (this.socket?.readyState !== WebSocket.OPEN || !this.inRoom) {
      say(this.status, 'Not sent: not connected to the chat.', 'error');
      return;
    }
    this.socket.send(text);
    this.textInput.value = '';
    say(this.status, '');
    this.textInput.focus();
  }

  private show(message: ChatMessage): void {
    const time = new Date(message.sentAtMs);
    const stamp = h('time', {
      text: time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    });
    stamp.dateTime = time.toISOString();
    let item: HTMLLIElement;
    if (message.event === 'MESSAGE') {
      item = h(
        'li',
        { className: message.user === this.user ? 'message own' : 'message' },
        h('span', { className: 'user', text: message.user }),
        stamp,
        h('p', { text: message.text }),
      );
    } else {
      const what = message.event === 'JOINED' ? 'joined' : 'left';
      item = h('li', { className: 'event', text: `${message.user} ${what} ` }, stamp);
    }
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.messages.append(item);
    while (this.messages.children.length > MAX_SHOWN) this.messages.firstElementChild?.remove();
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}
