import { ApiError, chatUrl, describeError, sayInChat, type ChatMessage } from './api.js';
import { byId, h, say } from './dom.js';

/** Messages kept on screen; older ones are dropped. */
const MAX_SHOWN = 200;

/** What soccer-service accepts as a name: 1-40 characters, no control characters. */
function nameProblem(name: string): string | undefined {
  if (!name) return 'Type a name to join.';
  if ([...name].length > 40) return 'A name has at most 40 characters.';
  if (/\p{Cc}/u.test(name)) return 'A name cannot contain control characters.';
  return undefined;
}

/**
 * The "Chat" card: GET /v1/matches/:id/chat?user=NAME as an EventSource
 * (`joined` gives the session id, `message` brings what everyone says, one's
 * own messages included), and POST /v1/matches/:id/chat to speak.
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
  private user?: string;
  private source?: EventSource;
  private sessionId?: string;

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
      void this.send();
    });
    addEventListener('pagehide', () => this.source?.close());
  }

  /** Moves to the room of match `id`; someone who had joined joins there too. */
  setRoom(id: string): void {
    if (id === this.matchId) return;
    const user = this.source ? this.user : undefined;
    this.leave();
    this.matchId = id;
    this.messages.replaceChildren();
    this.room.textContent = `Room: ${id}. Everyone watching it can read you.`;
    this.nameInput.disabled = this.joinButton.disabled = false;
    say(this.status, '');
    if (user) this.join(user);
  }

  /** Opens the chat stream as `user`; `focus` moves the focus to the message box once in. */
  private join(user: string, focus = false): void {
    const matchId = this.matchId;
    if (!matchId) return;
    this.leave();
    this.user = user;
    this.joinButton.disabled = true;
    say(this.status, `Joining ${matchId}…`);
    const source = new EventSource(chatUrl(matchId, user));
    this.source = source;

    source.addEventListener('joined', (event) => {
      const { sessionId } = JSON.parse((event as MessageEvent<string>).data) as {
        sessionId: string;
      };
      this.sessionId = sessionId;
      this.showJoined(true);
      this.who.textContent = `You are ${user}.`;
      say(this.status, '');
      if (focus) this.textInput.focus();
      focus = false;
    });
    source.addEventListener('message', (event) => {
      this.show(JSON.parse((event as MessageEvent<string>).data) as ChatMessage);
    });
    source.addEventListener('error', (event) => {
      const data = (event as MessageEvent<unknown>).data;
      if (typeof data === 'string' && data) {
        // The gateway ended the session (a reader too slow, say) and said why.
        this.leave();
        say(this.status, `The chat ended: ${describeError(ApiError.from(0, data))}.`, 'error');
      } else if (source.readyState === EventSource.CONNECTING && this.sessionId) {
        // Dropped: EventSource reconnects by itself, which joins again.
        this.sessionId = undefined;
        say(this.status, 'Connection lost; joining again…', 'error');
      } else {
        const joinedBefore = this.sessionId !== undefined;
        this.leave();
        say(
          this.status,
          joinedBefore
            ? 'The chat connection was closed.'
            : `Could not join the chat of ${matchId} as ${user}.`,
          'error',
        );
      }
    });
  }

  /** Closes the chat stream: the gateway cancels the call and the room sees "left". */
  private leave(): void {
    this.source?.close();
    this.source = undefined;
    this.sessionId = undefined;
    this.showJoined(false);
    this.joinButton.disabled = this.matchId === undefined;
  }

  private showJoined(joined: boolean): void {
    this.joinForm.hidden = joined;
    this.joined.hidden = !joined;
    this.sendForm.hidden = !joined;
  }

  private async send(): Promise<void> {
    const text = this.textInput.value;
    if (!this.matchId || !this.sessionId || !text.trim()) return;
    const button = this.sendForm.querySelector('button')!;
    button.disabled = true;
    try {
      await sayInChat(this.matchId, this.sessionId, text);
      this.textInput.value = '';
      say(this.status, '');
    } catch (err) {
      say(this.status, `Not sent: ${describeError(err)}.`, 'error');
    } finally {
      button.disabled = false;
      this.textInput.focus();
    }
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
