// The login page: POST /api/login with the form's user and password, then the root again, which
// now (with the session cookie) answers the dashboard.

const form = document.getElementById('login') as HTMLFormElement;
const error = document.getElementById('login-error') as HTMLElement;

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const data = new FormData(form);
  error.hidden = true;
  const button = form.querySelector('button');
  if (button !== null) button.disabled = true;
  fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-requested-with': 'celeriac-dashboard' },
    credentials: 'same-origin',
    body: JSON.stringify({ user: String(data.get('user') ?? ''), password: String(data.get('password') ?? '') }),
  }).then(async (res) => {
    if (res.ok) {
      // The same URL again: the root now answers the dashboard, and the hash keeps the view asked for.
      location.reload();
      return;
    }
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(body?.error?.message ?? `login failed (HTTP ${res.status})`);
  }).catch((err: Error) => {
    error.textContent = err.message;
    error.hidden = false;
    if (button !== null) button.disabled = false;
  });
});
