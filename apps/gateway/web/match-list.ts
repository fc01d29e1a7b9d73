import { describeError, listMatches, type Match } from './api.js';
import { byId, formatBytes, formatClock, h, say } from './dom.js';

/** "Live · 640×360 · 25 fps", "File · 0:02 · 320×180 · 25 fps · 1.2 MB". */
function describeMatch(m: Match): string {
  const parts = [m.live ? 'Live' : m.source === 'FILE' ? 'File' : 'Built in'];
  if (!m.live && m.durationMs > 0) parts.push(formatClock(m.durationMs));
  if (m.width && m.height) parts.push(`${m.width}×${m.height}`);
  if (m.fps) parts.push(`${Math.round(m.fps)} fps`);
  if (m.sizeBytes) parts.push(formatBytes(m.sizeBytes));
  return parts.join(' · ');
}

/** The "Matches" card: GET /v1/matches as a list of buttons; one is selected. */
export class MatchList {
  private readonly list = byId('match-list', HTMLUListElement);
  private readonly status = byId('matches-status', HTMLParagraphElement);
  private matches: Match[] = [];
  private selected?: string;

  constructor(private readonly onSelect: (match: Match) => void) {
    byId('matches-refresh', HTMLButtonElement).addEventListener('click', () => void this.refresh());
  }

  /** Loads the list again, keeping the selection. */
  async refresh(): Promise<void> {
    this.list.setAttribute('aria-busy', 'true');
    try {
      this.matches = await listMatches();
      this.render();
      say(this.status, this.matches.length ? '' : 'No matches yet.');
    } catch (err) {
      say(this.status, `Could not load the matches: ${describeError(err)}.`, 'error');
    } finally {
      this.list.removeAttribute('aria-busy');
    }
  }

  select(id: string): void {
    const match = this.matches.find((m) => m.id === id);
    if (!match) return;
    this.selected = id;
    for (const button of this.list.querySelectorAll<HTMLButtonElement>('button.match')) {
      button.setAttribute('aria-pressed', String(button.dataset.matchId === id));
    }
    this.onSelect(match);
  }

  private render(): void {
    // Keep the keyboard focus on the same match across a refresh.
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.matchId;
    this.list.replaceChildren(
      ...this.matches.map((m) => {
        const button = h(
          'button',
          { className: 'match' },
          h('span', { className: 'match-id', text: m.id }),
          h('span', { className: 'match-meta', text: describeMatch(m) }),
        );
        button.type = 'button';
        button.dataset.matchId = m.id;
        button.setAttribute('aria-pressed', String(m.id === this.selected));
        button.addEventListener('click', () => this.select(m.id));
        return h('li', {}, button);
      }),
    );
    if (focused) this.list.querySelector<HTMLElement>(`[data-match-id="${focused}"]`)?.focus();
  }
}
