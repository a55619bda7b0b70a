// The browser terminal: xterm.js over the console's WebSocket (binary frames are terminal bytes both ways; text frames
// are JSON control objects: status, ready and closed from the server, resize from here).
import { Terminal } from './xterm.mjs';
import { FitAddon } from './addon-fit.mjs';

const machineId = decodeURIComponent(location.pathname.split('/')[3] || '');
const banner = document.getElementById('banner');
document.getElementById('machine').textContent = machineId;

function say(text, kind) {
  banner.textContent = text;
  banner.className = 'banner' + (kind ? ' ' + kind : '');
  banner.dataset.state = kind || 'info';
}

const term = new Terminal({
  cursorBlink: true,
  convertEol: false,
  fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  fontSize: 14,
  scrollback: 5000,
  theme: { background: '#0f172a', foreground: '#e2e8f0' },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById('terminal'));
fit.fit();

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const url = `${scheme}//${location.host}/console/api/machines/${encodeURIComponent(machineId)}/terminal?cols=${term.cols}&rows=${term.rows}`;
const socket = new WebSocket(url);
socket.binaryType = 'arraybuffer';
const encoder = new TextEncoder();
let closedSaid = false;

socket.addEventListener('open', () => say('connecting to the machine…'));
socket.addEventListener('message', event => {
  if (typeof event.data !== 'string') {
    term.write(new Uint8Array(event.data));
    return;
  }
  let message;
  try {
    message = JSON.parse(event.data);
  } catch (e) {
    return;
  }
  if (message.type === 'status') {
    say(String(message.text || ''));
  } else if (message.type === 'ready') {
    say(`connected (session ${message.session_id || ''})`, 'ok');
    term.focus();
  } else if (message.type === 'closed') {
    closedSaid = true;
    say(`closed: ${message.reason || 'the session ended'}`, 'closed');
    banner.dataset.code = String(message.code || '');
  }
});
socket.addEventListener('close', event => {
  if (!closedSaid) {
    say(event.code === 1006 || !event.reason
      ? 'closed: the connection to the server was lost (or refused); reload to try again'
      : `closed: ${event.reason}`, 'closed');
  }
  term.options.disableStdin = true;
});

term.onData(data => {
  if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
});
term.onBinary(data => {
  if (socket.readyState !== WebSocket.OPEN) return;
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  socket.send(bytes);
});
term.onResize(({ cols, rows }) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'resize', cols, rows }));
});

let pending = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(() => fit.fit());
});
// Closing the tab closes the WebSocket, which ends ssh and deletes the terminal's session on the server.
window.addEventListener('pagehide', () => socket.close(1000, 'page closed'));
