// A confirmation in a modal <dialog> before an action that cannot be undone (purge, delete, revoke).
import { h } from './dom.js';

/** Resolves true when the user confirms, false on Cancel or Escape. */
export function confirmAction(title: string, text: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (yes: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(yes);
    };
    const dialog = h('dialog', { class: 'confirm' },
      h('h2', {}, title),
      h('p', {}, text),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'danger solid', 'data-confirm': '', onclick: () => done(true) }, action)));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
