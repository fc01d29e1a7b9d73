/** Small DOM helpers: typed look-ups that fail loudly, and text formatting. */

/** The element with `id`, checked to be a `type` (the page's markup is fixed). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

/** A new element with its text (never HTML: what users type stays text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  element.append(...children);
  return element;
}

/** "1.2 MB", "850 kB", "12 B". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** "1:05" for 65 000 ms. */
export function formatClock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** "Emmental" for "EMMENTAL". */
export function titleCase(name: string): string {
  return name.charAt(0) + name.slice(1).toLowerCase();
}

/** Shows `text` in a status element, styled as an error or not. */
export function say(element: HTMLElement, text: string, kind: 'info' | 'error' | 'ok' = 'info') {
  element.textContent = text;
  element.dataset.kind = kind;
}
