// Operator console: the settings pages — the page, its helpers, and the Close reasons and
// Canned replies sections; settings-team.js adds Operators and Channels, settings-queues.js
// Queues. Loaded after console-parts.js and before console.js, which opens the page with
// window.InboxSettings.open(ctx, section) from the header's Settings / My canned replies
// buttons. docs/console-ui.md, "Settings".
//
// The server decides who may do what (inbox/usecases/operators.py, close_reasons.py,
// canned.py, routing/admin.py, operator_ws/rest/channels.py); this page only hides or
// disables what the role may not do and shows the server's answer — a 403 included — next
// to the form that caused it. Everything that came from the server (names, logins, texts)
// goes in with text nodes only (el() from console-parts.js).
'use strict';

window.InboxSettings = (() => {
  const P = window.InboxParts;
  const I18N = window.InboxI18n;
  const tr = I18N.t;
  const { el, clear, setText } = P;

  const SECTIONS = ['operators', 'channels', 'queues', 'reasons', 'canned'];
  const T = {
    ctx: null,          // {api, me, onCannedChanged, onReasonsChanged, openBots, close}
    section: null,
    seq: 0,             // drops answers for a page no longer shown
    operators: [],
    channels: [],
    queues: [],
    reasons: [],
    canned: [],
    openQueue: null,    // the id of the queue whose form is open
  };

  const $ = (id) => document.getElementById(id);
  const me = () => (T.ctx && T.ctx.me()) || {};
  const role = () => me().role || 'operator';
  const isAdmin = () => role() === 'admin';
  const isSuper = () => role() === 'supervisor' || role() === 'admin';
  const api = (...args) => T.ctx.api(...args);

  // ---------------------------------------------------------------- small builders

  function field(label, input, hint, cls) {
    return el('label', { class: `settings-field${cls ? ` ${cls}` : ''}` },
      el('span', { class: 'settings-label' }, label), input,
      hint ? el('small', { class: 'settings-hint' }, hint) : null);
  }

  function check(label, input) {
    return el('label', { class: 'settings-check' }, input, el('span', null, label));
  }

  function input(attrs) {
    return el('input', Object.assign({ autocomplete: 'off', spellcheck: 'false' }, attrs));
  }

  function select(values, labels, value, attrs) {
    const s = el('select', attrs || null);
    values.forEach((v, i) => s.appendChild(el('option', { value: v }, labels[i])));
    s.value = value == null ? values[0] : String(value);
    return s;
  }

  function errorBox(testid) {
    return el('div', { class: 'settings-error', 'data-testid': testid, role: 'alert', hidden: true });
  }

  /** The server's message; a refusal says so first (the role may not do it). */
  function showError(box, e) {
    if (!e) { box.hidden = true; setText(box, ''); return; }
    const message = e.message || String(e);
    box.hidden = false;
    box.dataset.status = String(e.status || '');
    setText(box, e.status === 403 ? tr('settings.forbidden', { message }) : message);
  }

  function saved(node, text) {
    node.hidden = false;
    setText(node, text || tr('settings.saved'));
    clearTimeout(node.timer);
    node.timer = setTimeout(() => { node.hidden = true; }, 4000);
  }

  /** Runs `work` with the form's buttons disabled; its error lands in `box`. */
  async function submitting(form, box, work) {
    const buttons = Array.from(form.querySelectorAll('button'));
    buttons.forEach((b) => { b.disabled = true; });
    showError(box, null);
    try {
      await work();
      return true;
    } catch (e) {
      if (e && e.status === 401) return false;
      showError(box, e);
      return false;
    } finally {
      buttons.forEach((b) => { if (b.isConnected) b.disabled = !!b.dataset.locked; });
    }
  }

  /** "ru, lenses=3" → {ru: 1, lenses: 3}; a level that is not a number goes as written,
   * so the server names it in its error. */
  function parseSkills(text) {
    const out = {};
    for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = item.indexOf('=');
      const name = (at < 0 ? item : item.slice(0, at)).trim();
      const level = at < 0 ? '' : item.slice(at + 1).trim();
      out[name] = level === '' ? 1 : (/^\d+$/.test(level) ? Number(level) : level);
    }
    return out;
  }

  function skillsText(skills) {
    if (typeof skills === 'string') return skills;
    if (!skills || typeof skills !== 'object') return '';
    return Object.entries(skills).map(([k, v]) => (v === 1 ? k : `${k}=${v}`)).join(', ');
  }

  /** A number input's value: null when empty; a typed-in non-number is refused here
   * (the browser reports it as empty otherwise). */
  function numberOf(node, label) {
    if (node.validity && node.validity.badInput) throw new Error(tr('settings.not_a_number', { field: label }));
    const raw = node.value.trim();
    return raw === '' ? null : Number(raw);
  }

  function numberInput(value, attrs) {
    return input(Object.assign({ type: 'number', step: 'any', min: '0', inputmode: 'decimal',
      value: typeof value === 'number' ? String(value) : '' }, attrs));
  }

  async function copy(text, button) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); ok = true; }
    } catch (_) { ok = false; }
    if (!ok) {
      const box = el('textarea', { class: 'visually-hidden' }, text);
      document.body.appendChild(box);
      box.select();
      try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
      box.remove();
    }
    button.dataset.copied = String(ok);
    setText(button, ok ? tr('settings.copied') : tr('settings.copy_failed'));
    setTimeout(() => { if (button.isConnected) setText(button, tr('settings.copy')); }, 2500);
  }

  // ---------------------------------------------------------------- the page

  function sectionsFor() {
    return isSuper() ? SECTIONS : ['canned'];
  }

  /** Opens the page (ctx from console.js); `section` one of SECTIONS, else the first. */
  function open(ctx, section) {
    T.ctx = ctx;
    const allowed = sectionsFor();
    T.section = allowed.includes(section) ? section : (allowed.includes(T.section) ? T.section : allowed[0]);
    renderFrame();
    load(T.section);
  }

  function close() {
    T.seq += 1;
    T.openQueue = null;
  }

  function renderFrame() {
    const root = $('settings-view');
    clear(root);
    const allowed = sectionsFor();
    const title = isSuper() ? tr('settings.title') : tr('settings.my_canned');
    const nav = el('nav', { class: 'settings-nav', 'data-testid': 'settings-nav', 'aria-label': title },
      allowed.length > 1 ? allowed.map((name) => el('button', {
        class: 'btn btn-sm settings-tab', type: 'button', 'data-testid': `settings-tab-${name}`,
        'aria-current': name === T.section ? 'page' : null,
        onclick: () => { T.section = name; renderFrame(); load(name); },
      }, tr(`settings.section_${name}`))) : null,
      isSuper() && T.ctx.openBots ? el('button', {
        class: 'btn btn-sm btn-ghost settings-tab', type: 'button', 'data-testid': 'settings-tab-bots',
        onclick: () => T.ctx.openBots(),
      }, tr('page.bot_hours')) : null);
    root.appendChild(el('div', { class: 'settings-head' },
      el('h2', { id: 'settings-title' }, title),
      el('span', { id: 'settings-state', class: 'settings-state', 'data-testid': 'settings-state', 'aria-live': 'polite' }),
      el('button', { class: 'btn btn-sm', type: 'button', 'data-testid': 'settings-reload', onclick: () => load(T.section) }, tr('page.reload')),
      el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'settings-close', onclick: () => T.ctx.close() }, tr('page.close'))));
    if (allowed.length > 1 || isSuper()) root.appendChild(nav);
    root.appendChild(errorBox('settings-load-error'));
    root.appendChild(el('div', { id: 'settings-body', class: 'settings-body', 'data-testid': `settings-${T.section}`, 'data-section': T.section }));
  }

  async function load(section) {
    const seq = ++T.seq;
    const state = $('settings-state');
    setText(state, tr('console.loading'));
    const box = document.querySelector('[data-testid="settings-load-error"]');
    showError(box, null);
    const needs = {
      operators: ['operators'],
      channels: ['channels'],
      queues: ['queues', 'operators', 'channels'],
      reasons: ['reasons'],
      canned: ['canned'],
    }[section];
    const urls = {
      operators: ['/api/v1/operators', (d) => d.operators],
      channels: ['/api/v1/channels', (d) => d.channels],
      queues: ['/api/v1/queues', (d) => d.queues],
      reasons: ['/api/v1/close-reasons', (d) => d.reasons],
      canned: ['/api/v1/canned-replies', (d) => d.replies],
    };
    try {
      const answers = await Promise.all(needs.map((k) => api('GET', urls[k][0])));
      if (seq !== T.seq) return;
      needs.forEach((k, i) => { T[k] = Array.isArray(urls[k][1](answers[i])) ? urls[k][1](answers[i]) : []; });
    } catch (e) {
      if (seq !== T.seq) return;
      setText(state, '');
      showError(box, e);
      return;
    }
    setText(state, '');
    render();
  }

  /** Section name → function(body) that fills it; settings-team.js and
   * settings-queues.js add theirs with register(). */
  const RENDERERS = {};
  function register(name, fn) { RENDERERS[name] = fn; }

  function render() {
    const body = $('settings-body');
    if (!body || !RENDERERS[T.section]) return;
    clear(body);
    RENDERERS[T.section](body);
  }

  // ---------------------------------------------------------------- close reasons

  function renderReasons(body) {
    const editable = isAdmin();
    const list = el('ol', { class: 'settings-rows settings-reasons', 'data-testid': 'reason-list' });
    const box = errorBox('reasons-error');
    const ok = el('span', { class: 'settings-saved', role: 'status', 'data-testid': 'reasons-saved', hidden: true });
    const move = (row, step) => {
      const to = step < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (!to) return;
      if (step < 0) list.insertBefore(row, to); else list.insertBefore(to, row);
      row.querySelector('input').focus();
    };
    const addRow = (text) => {
      const name = input({ value: text, 'data-testid': 'reason-input', maxlength: '60', disabled: !editable, 'aria-label': tr('settings.reason') });
      const row = el('li', { class: 'settings-row', 'data-testid': 'reason-row' }, name);
      if (editable) {
        row.append(
          el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'reason-up', 'aria-label': tr('settings.move_up'), title: tr('settings.move_up'), onclick: () => move(row, -1) }, '↑'),
          el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'reason-down', 'aria-label': tr('settings.move_down'), title: tr('settings.move_down'), onclick: () => move(row, 1) }, '↓'),
          el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'reason-remove', 'aria-label': tr('settings.remove'), title: tr('settings.remove'), onclick: () => row.remove() }, '×'));
      }
      list.appendChild(row);
      return name;
    };
    T.reasons.forEach(addRow);
    const fresh = input({ 'data-testid': 'reason-new', maxlength: '60', placeholder: tr('settings.new_reason'), 'aria-label': tr('settings.new_reason') });
    const addBtn = el('button', { class: 'btn btn-sm', type: 'button', 'data-testid': 'reason-add' }, tr('settings.add'));
    const addNew = () => {
      if (!fresh.value.trim()) { fresh.focus(); return; }
      addRow(fresh.value.trim());
      fresh.value = '';
      fresh.focus();
    };
    addBtn.addEventListener('click', addNew);
    fresh.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); addNew(); } });
    const form = el('form', { class: 'settings-card', 'data-testid': 'reasons-form', novalidate: true },
      el('h3', null, tr('settings.section_reasons')),
      el('p', { class: 'settings-hint' }, editable ? tr('settings.reasons_hint') : tr('settings.reasons_admins_note')),
      list,
      editable ? el('div', { class: 'settings-row' }, fresh, addBtn) : null,
      box,
      editable ? el('div', { class: 'settings-actions' },
        el('button', { class: 'btn btn-primary btn-sm', type: 'submit', 'data-testid': 'reasons-save' }, tr('page.save')), ok) : null);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const done = await submitting(form, box, async () => {
        const reasons = Array.from(list.querySelectorAll('input')).map((n) => n.value);
        T.reasons = (await api('PUT', '/api/v1/close-reasons', { reasons })).reasons || [];
      });
      if (!done) return;
      render();
      saved($('settings-body').querySelector('[data-testid="reasons-saved"]'));
      if (T.ctx.onReasonsChanged) T.ctx.onReasonsChanged();
    });
    body.appendChild(form);
  }

  // ---------------------------------------------------------------- canned replies

  function mayChange(reply) {
    return !reply.shared || isSuper();
  }

  function renderCanned(body) {
    body.appendChild(cannedForm(null));
    const mine = T.canned.filter((r) => !r.shared);
    const shared = T.canned.filter((r) => r.shared);
    for (const [title, items, testid] of [[tr('settings.canned_personal'), mine, 'canned-personal'], [tr('settings.canned_shared'), shared, 'canned-shared-list']]) {
      const list = el('ul', { class: 'settings-list', 'data-testid': testid });
      for (const r of items) list.appendChild(cannedRow(r));
      if (!items.length) list.appendChild(el('li', { class: 'settings-empty' }, tr('work.no_canned')));
      body.append(el('h3', { class: 'settings-subtitle' }, title), list);
    }
  }

  function cannedRow(r) {
    const box = errorBox('canned-row-error');
    const row = el('li', { class: 'settings-item', 'data-testid': 'canned-item', 'data-shortcut': r.shortcut, 'data-shared': String(!!r.shared) });
    const form = cannedForm(r);
    form.hidden = true;
    const edit = el('button', { class: 'btn btn-sm', type: 'button', 'data-testid': 'canned-edit', 'aria-expanded': 'false',
      onclick: () => { form.hidden = !form.hidden; edit.setAttribute('aria-expanded', String(!form.hidden)); } }, tr('settings.edit'));
    const del = el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'canned-item-delete' }, tr('settings.delete'));
    del.addEventListener('click', async () => {
      if (!window.confirm(tr('settings.delete_canned_confirm', { shortcut: r.shortcut }))) return;
      const done = await submitting(row, box, async () => {
        await api('DELETE', `/api/v1/canned-replies/${encodeURIComponent(r.id)}`);
      });
      if (!done) return;
      T.canned = T.canned.filter((x) => x.id !== r.id);
      render();
      if (T.ctx.onCannedChanged) T.ctx.onCannedChanged();
    });
    row.append(
      el('div', { class: 'settings-item-main' },
        el('strong', { class: 'settings-name', 'data-testid': 'canned-item-shortcut' }, r.shortcut),
        el('span', { class: 'badge' }, r.shared ? tr('work.shared') : tr('settings.personal'))),
      el('div', { class: 'settings-item-text', 'data-testid': 'canned-item-text' }, r.text),
      mayChange(r) ? el('div', { class: 'settings-item-actions' }, edit, del) : el('div', { class: 'settings-muted' }, tr('settings.shared_by_supervisors')),
      box, mayChange(r) ? form : null);
    return row;
  }

  /** The add form (reply null) or a reply's edit form. */
  function cannedForm(reply) {
    const prefix = reply ? 'canned-edit' : 'canned-new';
    const shortcut = input({ value: reply ? reply.shortcut : '', 'data-testid': `${prefix}-shortcut`, maxlength: '32', placeholder: '/price', required: true });
    const text = el('textarea', { rows: '3', 'data-testid': `${prefix}-text`, maxlength: '4000', required: true }, reply ? reply.text : '');
    const shared = el('input', { type: 'checkbox', 'data-testid': `${prefix}-shared` });
    const box = errorBox(`${prefix}-error`);
    const ok = el('span', { class: 'settings-saved', role: 'status', 'data-testid': `${prefix}-saved`, hidden: true });
    const form = el('form', { class: reply ? 'settings-form' : 'settings-card', 'data-testid': `${prefix}-form`, novalidate: true },
      reply ? null : el('h3', null, tr('settings.add_canned')),
      el('div', { class: 'settings-grid settings-grid-wide' },
        field(tr('work.shortcut'), shortcut, tr('settings.shortcut_hint')),
        field(tr('work.text'), text, tr('work.variables_hint'))),
      !reply && isSuper() ? check(tr('settings.shared_for_everyone'), shared) : null,
      box,
      el('div', { class: 'settings-actions' },
        el('button', { class: 'btn btn-primary btn-sm', type: 'submit', 'data-testid': `${prefix}-submit` }, reply ? tr('page.save') : tr('settings.add')), ok));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let sc = shortcut.value.trim();
      if (sc && !sc.startsWith('/')) sc = `/${sc}`;
      let result = null;
      const done = await submitting(form, box, async () => {
        if (reply) {
          const patch = {};
          if (sc !== reply.shortcut) patch.shortcut = sc;
          if (text.value !== reply.text) patch.text = text.value;
          result = Object.keys(patch).length
            ? (await api('PATCH', `/api/v1/canned-replies/${encodeURIComponent(reply.id)}`, patch)).reply : reply;
        } else {
          result = (await api('POST', '/api/v1/canned-replies', { shortcut: sc, text: text.value, shared: isSuper() && shared.checked })).reply;
        }
      });
      if (!done) return;
      if (reply) T.canned = T.canned.map((x) => (x.id === reply.id ? result : x));
      else T.canned.push(result);
      T.canned.sort((a, b) => a.shortcut.localeCompare(b.shortcut));
      render();
      saved($('settings-body').querySelector('[data-testid="canned-new-saved"]'),
        tr(reply ? 'settings.canned_saved' : 'settings.canned_added', { shortcut: result.shortcut }));
      if (T.ctx.onCannedChanged) T.ctx.onCannedChanged();
    });
    return form;
  }

  register('reasons', renderReasons);
  register('canned', renderCanned);

  /** What the other settings files build with. */
  const kit = {
    T, P, tr, el, clear, setText, $, api, me, isAdmin, isSuper, render, load,
    field, check, input, select, errorBox, showError, saved, submitting,
    parseSkills, skillsText, numberOf, numberInput, copy,
  };

  return { open, close, register, kit, SECTIONS };
})();
