// Shared by the console's pages. Every piece of text that comes from the server (names, reasons, errors) reaches the
// page through textContent: nothing the machines or their users control is ever parsed as HTML.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');

/** The browser session's anti-forgery token, from the page the server rendered for this session. */
export const csrfToken = csrfMeta ? csrfMeta.content : '';

/** An error answered by the server, with its DCS error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the console's JSON API; mutations carry the CSRF token. Throws ApiError with the server's message. */
export async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrfToken;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch('/console/api' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached: check your connection and try again.');
  }
  if (response.status === 401) {
    location.assign('/console/login');
    throw new ApiError(401, 'AUTH_REQUIRED', 'Your session ended: sign in again.');
  }
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok) {
    const message = json && typeof json.message === 'string' ? json.message : `The server answered HTTP ${response.status}.`;
    throw new ApiError(response.status, json && json.error_code, message);
  }
  return json;
}

/** Creates an element; string children become text nodes (never markup). */
export function el(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** Shows an error (or clears it with null) in the page's banner. */
export function showError(error) {
  const banner = document.getElementById('banner');
  if (!banner) return;
  if (!error) {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
}

/** Runs an action with its button disabled; errors go to the banner. */
export async function act(button, action) {
  if (button) button.disabled = true;
  try {
    showError(null);
    await action();
  } catch (e) {
    showError(e);
  } finally {
    if (button) button.disabled = false;
  }
}

/** Asks for confirmation in the page's dialog; resolves true when confirmed. */
export function confirmAction(text, okLabel) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise(resolve => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

export function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? String(value) : value.toFixed(1)) + ' ' + units[unit];
}

export function formatAutosleep(seconds) {
  if (!seconds) return 'never';
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function formatSize(machine) {
  return `${machine.vcpu} vCPU · ${machine.memory_mib} MiB · ${machine.storage_gib} GiB`;
}

/** The phase as a badge; a machine on its way shows where it goes. */
export function phaseBadge(machine) {
  const phase = machine.phase;
  const badge = el('span', { class: 'phase phase-' + phase, text: phase });
  const target = machine.desired_state;
  const wrap = el('span', { class: 'phase-cell' }, badge);
  if (target && target !== phase && !(target === 'sleeping' && phase === 'sleeping')) {
    wrap.append(el('span', { class: 'muted', text: ' → ' + target }));
  }
  const status = machine.status || {};
  if (status.last_error && (phase === 'failed' || status.reason)) {
    wrap.append(el('div', { class: 'reason', text: status.last_error }));
  } else if (status.reason && phase !== 'running' && phase !== 'sleeping') {
    wrap.append(el('div', { class: 'reason', text: status.reason }));
  }
  return wrap;
}

export function machineLabel(machine) {
  return machine.name || machine.machine_id;
}

/** Wires the header: the org of the session and the sign-out button. */
export async function setUpHeader() {
  const signout = document.getElementById('signout');
  if (signout) {
    signout.addEventListener('click', () => act(signout, async () => {
      await api('DELETE', '/session');
      location.assign('/console/login');
    }));
  }
  try {
    const session = await api('GET', '/session');
    const org = document.getElementById('org');
    if (org && session) org.textContent = session.org_name ? `${session.org_name}` : session.org_id;
  } catch (e) {
    showError(e);
  }
}

/**
 * Follows the console's machine stream (server-sent events): calls onList with the machines each time they change.
 * EventSource reconnects by itself; the indicator says whether changes are live.
 */
export function followMachines(query, onList) {
  const live = document.getElementById('live');
  const source = new EventSource('/console/api/machines/stream' + query);
  source.addEventListener('machines', event => {
    if (live) { live.textContent = 'live'; live.className = 'live on'; }
    onList(JSON.parse(event.data));
  });
  source.addEventListener('error', () => {
    if (live) { live.textContent = 'reconnecting…'; live.className = 'live off'; }
  });
  window.addEventListener('pagehide', () => source.close());
  return source;
}

/** Reads a number input: undefined when empty. */
export function numberField(form, name) {
  const value = form.elements[name].value.trim();
  return value === '' ? undefined : Number(value);
}

export function textField(form, name) {
  const value = form.elements[name].value.trim();
  return value === '' ? undefined : value;
}
