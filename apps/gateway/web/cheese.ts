import { describeError, listCheeseTypes, orderCheese } from './api.js';
import { byId, h, say, titleCase } from './dom.js';

/** Weeks and months read better than hundreds of days. */
function describeAge(days: number): string {
  if (days < 60) return `${days} days (about ${Math.round(days / 7)} weeks)`;
  return `${days} days (about ${Math.round(days / 30.4)} months)`;
}

/** The "Order cheese" card: the types from GET /v1/cheeses, orders by POST /v1/cheese/orders. */
export async function setUpCheese(): Promise<void> {
  const form = byId('cheese-form', HTMLFormElement);
  const select = byId('cheese-type', HTMLSelectElement);
  const button = form.querySelector('button')!;
  const result = byId('cheese-result', HTMLDivElement);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const type = select.value;
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const started = performance.now();
    orderCheese(type)
      .then((cheese) => {
        const ms = Math.round(performance.now() - started);
        result.replaceChildren(
          h('p', { className: 'cheese-name', text: titleCase(cheese.type) }),
          h('p', { text: `Aged ${describeAge(cheese.age)}.` }),
          h('p', { className: 'hint', text: `Served by cheese-service in ${ms} ms.` }),
        );
        result.dataset.kind = 'ok';
      })
      .catch((err: unknown) => {
        result.replaceChildren(h('p', { text: `Could not order: ${describeError(err)}.` }));
        result.dataset.kind = 'error';
      })
      .finally(() => {
        button.disabled = false;
        form.removeAttribute('aria-busy');
      });
  });

  try {
    const types = await listCheeseTypes();
    select.replaceChildren(
      ...types.map((t) => {
        const option = h('option', { text: titleCase(t.name) });
        option.value = t.name;
        return option;
      }),
    );
    select.disabled = button.disabled = false;
  } catch (err) {
    select.replaceChildren(h('option', { text: 'Unavailable' }));
    say(result, `Could not load the cheese types: ${describeError(err)}.`, 'error');
  }
}
