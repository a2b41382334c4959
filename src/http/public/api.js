// API access of the dashboard: same-origin fetches with the bearer token, which is asked for once
// (a dialog) and kept in session storage only (or in memory when session storage is disabled).
import { $ } from './dom.js';

const TOKEN_KEY = 'smime-census.token';

export class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fallback when session storage is disabled: the token then lives for this page only. */
let memoryToken = null;

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export function authHeaders() {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Fetches a same-origin API path; a 401 opens the token prompt and retries once it is answered. */
export async function api(path, { raw = false } = {}) {
  for (;;) {
    const sent = token();
    const res = await fetch(path, { headers: { accept: raw ? '*/*' : 'application/json', ...authHeaders() }, cache: 'no-store' });
    if (res.status === 401) {
      // Another request may have obtained a token meanwhile: retry with it before asking.
      if (token() !== sent) continue;
      await askToken(sent ? 'The token was not accepted. Enter a valid token.' : null);
      continue;
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`;
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = await res.json();
        if (body && body.error) ({ code, message } = body.error);
      } catch {
        /* not a JSON error body */
      }
      throw new HttpError(res.status, code, message);
    }
    return raw ? res : res.json();
  }
}

let pendingToken = null;

/** Shows the token dialog (once, however many requests are waiting) and resolves when a token is entered. */
function askToken(error) {
  const dialog = $('#token-dialog');
  const err = $('#token-error');
  if (error) {
    err.textContent = error;
    err.hidden = false;
  } else err.hidden = true;
  if (!pendingToken) {
    pendingToken = new Promise((resolve) => {
      const form = $('#token-form');
      const onSubmit = (ev) => {
        ev.preventDefault();
        const value = $('#token-input').value.trim();
        if (!value) return;
        try {
          sessionStorage.setItem(TOKEN_KEY, value);
        } catch {
          memoryToken = value;
        }
        form.removeEventListener('submit', onSubmit);
        $('#token-input').value = '';
        dialog.close();
        pendingToken = null;
        $('#forget-token').hidden = false;
        resolve();
      };
      form.addEventListener('submit', onSubmit);
    });
  }
  if (!dialog.open) dialog.showModal();
  $('#token-input').focus();
  return pendingToken;
}

/** Drops the token (the "Forget token" button); the page is reloaded after. */
export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore */
  }
  memoryToken = null;
}

/** Rows of the unrecognised-values report, the `top` most frequent. */
export async function fetchUnknown(top) {
  const body = await api(`/v1/unknown-headers?top=${top}`);
  return Array.isArray(body) ? body : (body.unknown ?? []);
}

/** Poller states, or null when the service has no pollers route (they are then in the stats). */
export async function fetchPollers() {
  try {
    const body = await api('/v1/pollers');
    return Array.isArray(body) ? body : (body.pollers ?? []);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return null;
    throw e;
  }
}

/** Certificates live behind an admin route; a read token simply does not see them (optional panel). */
export async function fetchCertificates(address, result) {
  if (Array.isArray(result.certificates)) return result.certificates;
  try {
    const res = await fetch(`/v1/recipients/${encodeURIComponent(address)}/observations`, { headers: { accept: 'application/json', ...authHeaders() }, cache: 'no-store' });
    if (!res.ok) return null;
    const body = await res.json();
    return Array.isArray(body?.certificates) ? body.certificates : null;
  } catch {
    return null;
  }
}
