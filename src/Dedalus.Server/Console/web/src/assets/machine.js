import {
  api, act, el, showError, confirmAction, formatTime, formatAutosleep, formatBytes, formatSize, phaseBadge, machineLabel,
  setUpHeader, followMachines, numberField, textField,
} from './common.js';

const machineId = decodeURIComponent(location.pathname.split('/')[3] || '');
let current = null;
let resizeFilled = false;

function fact(term, value) {
  return [el('dt', { text: term }), el('dd', {}, value)];
}

function renderMachine(machine) {
  current = machine;
  document.title = `${machineLabel(machine)} · Dedalus Machines`;
  document.getElementById('title').textContent = machineLabel(machine);
  const facts = document.getElementById('facts');
  facts.replaceChildren(
    ...fact('Id', el('span', { class: 'mono', text: machine.machine_id })),
    ...fact('Phase', phaseBadge(machine)),
    ...fact('Size', formatSize(machine)),
    ...fact('Autosleep', formatAutosleep(machine.autosleep_seconds)),
    ...fact('Created', formatTime(machine.created_at)),
    ...(machine.network && machine.network.address ? fact('Address', el('span', { class: 'mono', text: machine.network.address })) : []));
  const destroyed = machine.desired_state === 'destroyed';
  document.getElementById('wake').hidden = destroyed || machine.desired_state !== 'sleeping';
  document.getElementById('sleep').hidden = destroyed || machine.desired_state === 'sleeping';
  document.getElementById('delete').hidden = destroyed;
  const terminal = document.getElementById('terminal');
  terminal.hidden = destroyed;
  terminal.href = `/console/machines/${encodeURIComponent(machine.machine_id)}/terminal`;
  if (!resizeFilled) {
    const form = document.getElementById('resize');
    form.elements.vcpu.value = machine.vcpu;
    form.elements.memory_mib.value = machine.memory_mib;
    form.elements.storage_gib.value = machine.storage_gib;
    resizeFilled = true;
  }
}

function sessionRow(session) {
  const open = ['ready', 'wake_in_progress', 'ssh_in_progress'].includes(session.status);
  const actions = el('td', { class: 'row-actions' });
  if (open) {
    const revoke = el('button', { type: 'button', class: 'danger revoke', text: 'Revoke' });
    revoke.addEventListener('click', () => act(revoke, async () => {
      await api('DELETE', `/machines/${machineId}/ssh/${encodeURIComponent(session.session_id)}`);
      await loadSessions();
    }));
    actions.append(revoke);
  }
  const status = el('td', {}, el('span', { class: 'status status-' + session.status, text: session.status }));
  if (session.error_message) status.append(el('div', { class: 'reason', text: session.error_message }));
  return el('tr', { dataset: { sessionId: session.session_id, status: session.status } },
    el('td', { class: 'mono', text: session.session_id }),
    status,
    el('td', { text: formatTime(session.created_at) }),
    el('td', { text: formatTime(session.expires_at) }),
    actions);
}

async function loadSessions() {
  const list = await api('GET', `/machines/${machineId}/ssh`);
  const items = (list && list.items) || [];
  // Newest first: the one just opened is on top.
  items.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const table = document.getElementById('sessions');
  table.querySelector('tbody').replaceChildren(...items.map(sessionRow));
  table.hidden = items.length === 0;
  document.getElementById('sessions-empty').hidden = items.length !== 0;
}

function fill(tableId, emptyId, rows) {
  const table = document.getElementById(tableId);
  table.querySelector('tbody').replaceChildren(...rows);
  table.hidden = rows.length === 0;
  document.getElementById(emptyId).hidden = rows.length !== 0;
}

async function loadConnections() {
  const data = await api('GET', `/machines/${machineId}/connections`);
  document.getElementById('connections-card').hidden = false;
  fill('live-connections', 'live-empty', (data.live || []).map(c => el('tr', {},
    el('td', { class: 'mono', text: c.peer || '—' }),
    el('td', { text: formatTime(c.started_at) }),
    el('td', { text: formatBytes(c.bytes_in) }),
    el('td', { text: formatBytes(c.bytes_out) }),
    el('td', { class: 'mono', text: c.session_id || '—' }))));
  fill('history', 'history-empty', (data.history || []).map(c => el('tr', {},
    el('td', { class: 'mono', text: c.peer || '—' }),
    el('td', { text: formatTime(c.started_at) }),
    el('td', { text: formatTime(c.ended_at) }),
    el('td', { text: formatBytes(c.bytes_in) }),
    el('td', { text: formatBytes(c.bytes_out) }),
    el('td', { class: 'mono', text: c.session_id || '—' }),
    el('td', { text: c.end_reason || '' }))));
}

async function refresh() {
  try {
    await Promise.all([loadSessions(), loadConnections()]);
  } catch (e) {
    showError(e);
  }
}

document.getElementById('wake').addEventListener('click', event => act(event.target, () => api('POST', `/machines/${machineId}/wake`)));
document.getElementById('sleep').addEventListener('click', event => act(event.target, () => api('POST', `/machines/${machineId}/sleep`)));
document.getElementById('delete').addEventListener('click', async event => {
  const label = current ? machineLabel(current) : machineId;
  if (await confirmAction(`Delete ${label}? Its storage is destroyed with it; this cannot be undone.`, 'Delete')) {
    await act(event.target, () => api('DELETE', `/machines/${machineId}`));
  }
});
document.getElementById('refresh-sessions').addEventListener('click', event => act(event.target, refresh));
document.getElementById('resize').addEventListener('submit', event => {
  event.preventDefault();
  const form = event.target;
  act(form.querySelector('button[type="submit"]'), async () => {
    const changes = {};
    for (const name of ['vcpu', 'memory_mib', 'storage_gib']) {
      const value = numberField(form, name);
      if (value !== undefined && (!current || value !== current[name])) changes[name] = value;
    }
    const autosleep = textField(form, 'autosleep');
    if (autosleep !== undefined) changes.autosleep = autosleep;
    if (Object.keys(changes).length === 0) {
      showError('Nothing to change: edit a size or the autosleep first.');
      return;
    }
    renderMachine(await api('PATCH', `/machines/${machineId}`, changes));
  });
});

setUpHeader();
followMachines('?machine=' + encodeURIComponent(machineId), list => {
  const machine = (list.items || [])[0];
  if (machine) {
    renderMachine(machine);
  } else {
    showError('No such machine in this organization: it may have been deleted.');
  }
});
refresh();
// SSH sessions and connections change without a machine event; a short poll keeps them current (one small query each).
setInterval(refresh, 5000);
