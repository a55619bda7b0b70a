import {
  api, act, el, showError, confirmAction, formatTime, formatAutosleep, formatSize, phaseBadge, machineLabel,
  setUpHeader, followMachines, numberField, textField,
} from './common.js';

const table = document.getElementById('machines');
const body = table.querySelector('tbody');
const empty = document.getElementById('empty');

function row(machine) {
  const id = machine.machine_id;
  const link = el('a', { href: `/console/machines/${encodeURIComponent(id)}`, class: 'machine-name', text: machineLabel(machine) });
  const nameCell = el('td', {}, link);
  if (machine.name) nameCell.append(el('div', { class: 'muted mono', text: id }));

  const actions = el('td', { class: 'row-actions' });
  if (machine.desired_state !== 'destroyed') {
    if (machine.desired_state === 'sleeping') {
      const wake = el('button', { type: 'button', text: 'Wake', class: 'wake' });
      wake.addEventListener('click', () => act(wake, () => api('POST', `/machines/${id}/wake`)));
      actions.append(wake);
    } else {
      const sleep = el('button', { type: 'button', text: 'Sleep', class: 'sleep' });
      sleep.addEventListener('click', () => act(sleep, () => api('POST', `/machines/${id}/sleep`)));
      actions.append(sleep);
    }
    const remove = el('button', { type: 'button', text: 'Delete', class: 'danger delete' });
    remove.addEventListener('click', async () => {
      if (await confirmAction(`Delete ${machineLabel(machine)}? Its storage is destroyed with it; this cannot be undone.`, 'Delete')) {
        await act(remove, () => api('DELETE', `/machines/${id}`));
      }
    });
    actions.append(remove);
  }

  return el('tr', { dataset: { machineId: id, phase: machine.phase } },
    nameCell,
    el('td', {}, phaseBadge(machine)),
    el('td', { text: formatSize(machine) }),
    el('td', { text: formatAutosleep(machine.autosleep_seconds) }),
    el('td', { text: formatTime(machine.created_at) }),
    actions);
}

function render(list) {
  const machines = list.items || [];
  body.replaceChildren(...machines.map(row));
  table.hidden = machines.length === 0;
  empty.hidden = machines.length !== 0;
}

document.getElementById('create').addEventListener('submit', event => {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector('button[type="submit"]');
  act(button, async () => {
    const request = {
      name: textField(form, 'name'),
      vcpu: numberField(form, 'vcpu'),
      memory_mib: numberField(form, 'memory_mib'),
      storage_gib: numberField(form, 'storage_gib'),
      autosleep: textField(form, 'autosleep'),
    };
    await api('POST', '/machines', request);
    form.elements.name.value = '';
    document.getElementById('create-panel').open = false;
  });
});

setUpHeader();
followMachines('', render);
showError(null);
