// Operator console, settings: the Queues section — every routing setting of
// routing/queues.py (docs/routing.md) in one form per queue. The page and its helpers:
// static/settings.js; docs/console-ui.md, "Settings".
'use strict';

(() => {
  const {
    T, P, tr, el, api, load,
    field, check, input, select, errorBox, saved, submitting, parseSkills, skillsText, numberOf,
    numberInput,
  } = window.InboxSettings.kit;

  const STRATEGIES = ['least_loaded', 'longest_idle', 'round_robin', 'ring_all'];
  const TARGETS = ['last_operator', 'skills', 'any', 'overflow'];
  const RULES = ['returning', 'unpaid_order', 'tag'];
  const SLA_WARNING_DEFAULT = 60;

  // ---------------------------------------------------------------- queues

  function renderQueues(body) {
    body.appendChild(addQueueForm());
    const list = el('ul', { class: 'settings-list', 'data-testid': 'queue-settings-list' });
    for (const q of T.queues) list.appendChild(queueRow(q));
    if (!T.queues.length) list.appendChild(el('li', { class: 'settings-empty' }, tr('console.no_queues_yet')));
    body.appendChild(list);
  }

  function queueRow(q) {
    const row = el('li', { class: 'settings-item', 'data-testid': 'queue-settings-row', 'data-queue-id': q.id, 'data-queue-name': q.name });
    const open = T.openQueue === q.id;
    const edit = el('button', { class: 'btn btn-sm', type: 'button', 'data-testid': 'queue-edit', 'aria-expanded': String(open) }, tr('settings.edit'));
    edit.addEventListener('click', () => {
      T.openQueue = T.openQueue === q.id ? null : q.id;
      row.replaceWith(queueRow(q));
    });
    const st = q.settings || {};
    row.append(
      el('div', { class: 'settings-item-main' },
        el('strong', { class: 'settings-name' }, q.name),
        q.is_default ? el('span', { class: 'badge' }, tr('settings.default_queue')) : null,
        el('span', { class: 'settings-muted' }, tr(`settings.strategy_${String(st.strategy || 'least_loaded').replace(/-/g, '_')}`))),
      el('div', { class: 'settings-item-actions' }, edit),
      open ? queueForm(q) : null);
    return row;
  }

  function addQueueForm() {
    const name = input({ 'data-testid': 'new-queue-name', maxlength: '100', required: true });
    const isDefault = el('input', { type: 'checkbox', 'data-testid': 'new-queue-default' });
    const box = errorBox('new-queue-error');
    const form = el('form', { class: 'settings-card settings-inline', 'data-testid': 'new-queue-form', novalidate: true },
      el('h3', null, tr('settings.add_queue')),
      el('div', { class: 'settings-row' }, field(tr('settings.name'), name), check(tr('settings.make_default'), isDefault),
        el('button', { class: 'btn btn-primary btn-sm', type: 'submit', 'data-testid': 'new-queue-submit' }, tr('settings.add'))),
      box);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let created = null;
      const done = await submitting(form, box, async () => {
        created = (await api('POST', '/api/v1/queues', { name: name.value, settings: {}, is_default: isDefault.checked })).queue;
      });
      if (!done) return;
      T.openQueue = created.id;
      load('queues');
    });
    return form;
  }

  /** Rows of a list setting (escalation steps, SLA targets, priority rules). */
  function rowsEditor(testid, items, makeRow, addLabel) {
    const list = el('ol', { class: 'settings-rows', 'data-testid': testid });
    const add = (item) => {
      const row = makeRow(item || {});
      row.appendChild(el('button', { class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': `${testid}-remove`,
        'aria-label': tr('settings.remove'), onclick: () => row.remove() }, '×'));
      list.appendChild(row);
    };
    items.forEach(add);
    const button = el('button', { class: 'btn btn-sm', type: 'button', 'data-testid': `${testid}-add`, onclick: () => add({}) }, addLabel);
    return { node: el('div', { class: 'settings-rows-box' }, list, button), rows: () => Array.from(list.children) };
  }

  function queueForm(q) {
    const st = q.settings || {};
    const others = T.queues.filter((x) => x.id !== q.id);
    const queueOptions = (value, attrs) => select(['', ...others.map((x) => x.id)],
      [tr('settings.none'), ...others.map((x) => x.name)], value || '', attrs);

    const name = input({ value: q.name, 'data-testid': 'queue-name', maxlength: '100' });
    const isDefault = el('input', { type: 'checkbox', 'data-testid': 'queue-default', checked: !!q.is_default });
    const strategy = select(STRATEGIES, STRATEGIES.map((s) => tr(`settings.strategy_${s}`)),
      String(st.strategy || 'least_loaded').replace(/-/g, '_'), { 'data-testid': 'queue-strategy' });
    const accept = numberInput(st.accept_timeout, { 'data-testid': 'queue-accept-timeout', placeholder: tr('settings.off') });
    const allowPick = el('input', { type: 'checkbox', 'data-testid': 'queue-allow-pick', checked: st.allow_pick !== false });
    const membersOnly = el('input', { type: 'checkbox', 'data-testid': 'queue-members-only', checked: st.visible_to === 'members' });
    const skills = input({ value: skillsText(st.skills), 'data-testid': 'queue-skills', placeholder: 'ru, lenses=3' });
    const chosen = (values, testid, items, labelOf) => el('div', { class: 'settings-checks', 'data-testid': testid },
      items.length ? items.map((it) => check(labelOf(it), el('input', {
        type: 'checkbox', value: it.id, checked: Array.isArray(values) && values.includes(it.id),
      }))) : el('span', { class: 'settings-muted' }, tr('settings.none_yet')));
    const channels = chosen(st.channels, 'queue-channels', T.channels, (c) => `${P.channelLabel(c.kind)} · ${c.name}`);
    const members = chosen(st.members, 'queue-members', T.operators, (o) => `${o.name || o.login} (${o.login})`);

    const escalation = rowsEditor('queue-escalation', Array.isArray(st.escalation) ? st.escalation : [], (step) => {
      const after = numberInput(typeof step.after === 'number' ? step.after : 0, { 'data-f': 'after', 'aria-label': tr('settings.after_s') });
      const target = select(TARGETS, TARGETS.map((t) => tr(`settings.target_${t}`)), step.target || 'any', { 'data-f': 'target', 'aria-label': tr('settings.target') });
      const sk = input({ value: skillsText(step.skills), 'data-f': 'skills', placeholder: 'lenses=3', 'aria-label': tr('settings.skills') });
      const overflow = queueOptions(step.queue, { 'data-f': 'queue', 'aria-label': tr('settings.queue') });
      const sync = () => { sk.hidden = target.value !== 'skills'; overflow.hidden = target.value !== 'overflow'; };
      target.addEventListener('change', sync);
      sync();
      return el('li', { class: 'settings-row' }, field(tr('settings.after_s'), after, null, 'settings-narrow'),
        field(tr('settings.target'), target, null, 'settings-narrow'), sk, overflow);
    }, tr('settings.add_step'));

    const sla = rowsEditor('queue-sla', Object.entries(st.sla && typeof st.sla === 'object' ? st.sla : {})
      .map(([p, v]) => Object.assign({ priority: Number(p) }, v)), (t) => el('li', { class: 'settings-row' },
      field(tr('settings.from_priority'), numberInput(typeof t.priority === 'number' ? t.priority : 0, { 'data-f': 'priority', step: '1', min: null }), null, 'settings-narrow'),
      field(tr('settings.first_response_s'), numberInput(t.first_response, { 'data-f': 'first_response' }), null, 'settings-narrow'),
      field(tr('settings.resolution_s'), numberInput(t.resolution, { 'data-f': 'resolution' }), null, 'settings-narrow')), tr('settings.add_target'));
    const slaWarning = numberInput(typeof st.sla_warning_before === 'number' ? st.sla_warning_before : SLA_WARNING_DEFAULT, { 'data-testid': 'queue-sla-warning' });
    const slaBusiness = el('input', { type: 'checkbox', 'data-testid': 'queue-sla-business', checked: !!st.sla_business_hours });

    const responseTimeout = numberInput(st.response_timeout, { 'data-testid': 'queue-response-timeout', placeholder: tr('settings.off') });
    const responseAction = select(['reoffer', 'alert'], [tr('settings.action_reoffer'), tr('settings.action_alert')],
      st.response_action || 'reoffer', { 'data-testid': 'queue-response-action' });

    const priority = rowsEditor('queue-priority', Array.isArray(st.priority) ? st.priority : [], (r) => {
      const rule = select(RULES, RULES.map((x) => tr(`settings.rule_${x}`)), r.rule || 'returning', { 'data-f': 'rule', 'aria-label': tr('settings.rule') });
      const tag = input({ value: r.tag || '', 'data-f': 'tag', placeholder: 'vip', 'aria-label': tr('work.tag') });
      const sync = () => { tag.hidden = rule.value !== 'tag'; };
      rule.addEventListener('change', sync);
      sync();
      return el('li', { class: 'settings-row' }, field(tr('settings.rule'), rule, null, 'settings-narrow'), tag,
        field(tr('settings.bonus'), numberInput(typeof r.bonus === 'number' ? r.bonus : 1, { 'data-f': 'bonus', step: '1', min: null }), null, 'settings-narrow'));
    }, tr('settings.add_rule'));

    const pos = st.position && typeof st.position === 'object' ? st.position : null;
    const posOn = el('input', { type: 'checkbox', 'data-testid': 'queue-position-on', checked: !!pos && pos.interval !== null });
    const posInterval = numberInput(pos && typeof pos.interval === 'number' ? pos.interval : 180, { 'data-testid': 'queue-position-interval' });
    const posFirst = numberInput(pos && typeof pos.first_after === 'number' ? pos.first_after : 15, { 'data-testid': 'queue-position-first' });
    const posLang = select(['en', 'ru'], [tr('comfort.lang_en'), tr('comfort.lang_ru')], (pos && pos.language) || 'en', { 'data-testid': 'queue-position-language' });
    const texts = (pos && pos.texts && typeof pos.texts === 'object') ? pos.texts : {};
    const posEn = el('textarea', { rows: '2', 'data-testid': 'queue-position-text-en', placeholder: tr('settings.default_text') }, texts.en || '');
    const posRu = el('textarea', { rows: '2', 'data-testid': 'queue-position-text-ru', placeholder: tr('settings.default_text') }, texts.ru || '');

    const alert = st.alert_telegram && typeof st.alert_telegram === 'object' ? st.alert_telegram : {};
    const telegrams = T.channels.filter((c) => c.kind === 'telegram');
    const alertChannel = select(['', ...telegrams.map((c) => c.id)], [tr('settings.off'), ...telegrams.map((c) => c.name)],
      alert.channel_id || '', { 'data-testid': 'queue-alert-channel' });
    if (alert.channel_id && !telegrams.some((c) => c.id === alert.channel_id)) {
      alertChannel.appendChild(el('option', { value: alert.channel_id }, alert.channel_id));
      alertChannel.value = alert.channel_id;
    }
    const alertChat = input({ value: alert.chat_id == null ? '' : String(alert.chat_id), 'data-testid': 'queue-alert-chat', placeholder: '-1001234567890' });
    const offHours = queueOptions(st.off_hours_overflow, { 'data-testid': 'queue-off-hours' });

    const box = errorBox('queue-error');
    const ok = el('span', { class: 'settings-saved', role: 'status', 'data-testid': 'queue-saved', hidden: true });
    const section = (title, ...nodes) => el('fieldset', { class: 'settings-fieldset' }, el('legend', null, title), ...nodes);
    const form = el('form', { class: 'settings-form', 'data-testid': 'queue-form', novalidate: true },
      section(tr('settings.queue_general'),
        el('div', { class: 'settings-grid' }, field(tr('settings.name'), name), field(tr('settings.strategy'), strategy),
          field(tr('settings.accept_timeout'), accept, tr('settings.accept_timeout_hint')),
          field(tr('settings.skills'), skills, tr('settings.queue_skills_hint'))),
        el('div', { class: 'settings-row' }, check(tr('settings.make_default'), isDefault), check(tr('settings.allow_pick'), allowPick)),
        el('div', { class: 'settings-row' }, check(tr('settings.members_only'), membersOnly))),
      section(tr('settings.channels_of_queue'), el('p', { class: 'settings-hint' }, tr('settings.channels_of_queue_hint')), channels),
      section(tr('settings.members'), el('p', { class: 'settings-hint' }, tr('settings.members_hint')), members),
      section(tr('settings.escalation'), el('p', { class: 'settings-hint' }, tr('settings.escalation_hint')), escalation.node),
      section(tr('settings.sla'), el('p', { class: 'settings-hint' }, tr('settings.sla_hint')), sla.node,
        el('div', { class: 'settings-grid' }, field(tr('settings.sla_warning'), slaWarning, tr('settings.sla_warning_hint'))),
        check(tr('settings.sla_business'), slaBusiness)),
      section(tr('settings.response'),
        el('div', { class: 'settings-grid' }, field(tr('settings.response_timeout'), responseTimeout, tr('settings.response_timeout_hint')),
          field(tr('settings.response_action'), responseAction))),
      section(tr('settings.priority'), el('p', { class: 'settings-hint' }, tr('settings.priority_hint')), priority.node),
      section(tr('settings.position'), check(tr('settings.position_on'), posOn),
        el('div', { class: 'settings-grid' }, field(tr('settings.position_interval'), posInterval),
          field(tr('settings.position_first'), posFirst), field(tr('settings.position_language'), posLang)),
        field(tr('settings.position_text_en'), posEn, tr('settings.position_text_hint')),
        field(tr('settings.position_text_ru'), posRu)),
      section(tr('settings.alerts_and_hours'),
        el('div', { class: 'settings-grid' }, field(tr('settings.alert_channel'), alertChannel), field(tr('settings.alert_chat'), alertChat),
          field(tr('settings.off_hours_overflow'), offHours, tr('settings.off_hours_overflow_hint')))),
      box,
      el('div', { class: 'settings-actions settings-sticky' },
        el('button', { class: 'btn btn-primary btn-sm', type: 'submit', 'data-testid': 'queue-save' }, tr('page.save')), ok));

    const f = (row, key) => row.querySelector(`[data-f="${key}"]`);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let savedQueue = null;
      const done = await submitting(form, box, async () => {
        if (!alertChannel.value !== !alertChat.value.trim()) throw new Error(tr('settings.alert_both'));
        const picked = (node) => Array.from(node.querySelectorAll('input:checked')).map((x) => x.value);
        const settings = {
          strategy: strategy.value,
          accept_timeout: numberOf(accept, tr('settings.accept_timeout')),
          allow_pick: allowPick.checked,
          visible_to: membersOnly.checked ? 'members' : 'everyone',
          skills: parseSkills(skills.value),
          channels: picked(channels),
          members: picked(members),
          escalation: escalation.rows().map((row) => {
            const step = { after: numberOf(f(row, 'after'), tr('settings.after_s')) || 0, target: f(row, 'target').value };
            if (step.target === 'skills') step.skills = parseSkills(f(row, 'skills').value);
            if (step.target === 'overflow') step.queue = f(row, 'queue').value;
            return step;
          }),
          sla: Object.fromEntries(sla.rows().map((row) => [
            String(numberOf(f(row, 'priority'), tr('settings.from_priority')) || 0),
            { first_response: numberOf(f(row, 'first_response'), tr('settings.first_response_s')),
              resolution: numberOf(f(row, 'resolution'), tr('settings.resolution_s')) }])),
          sla_warning_before: numberOf(slaWarning, tr('settings.sla_warning')) ?? SLA_WARNING_DEFAULT,
          sla_business_hours: slaBusiness.checked,
          response_timeout: numberOf(responseTimeout, tr('settings.response_timeout')),
          response_action: responseAction.value,
          priority: priority.rows().map((row) => {
            const rule = { rule: f(row, 'rule').value, bonus: numberOf(f(row, 'bonus'), tr('settings.bonus')) ?? 0 };
            if (rule.rule === 'tag') rule.tag = f(row, 'tag').value.trim();
            return rule;
          }),
          alert_telegram: alertChannel.value ? { channel_id: alertChannel.value, chat_id: alertChat.value.trim() } : null,
          off_hours_overflow: offHours.value || null,
        };
        if (posOn.checked) {
          const texts = {};
          if (posEn.value.trim()) texts.en = posEn.value;
          if (posRu.value.trim()) texts.ru = posRu.value;
          settings.position = {
            interval: numberOf(posInterval, tr('settings.position_interval')) ?? 180,
            first_after: numberOf(posFirst, tr('settings.position_first')) ?? 15,
            language: posLang.value, texts,
          };
        } else {
          settings.position = null;
        }
        const body = { settings };
        if (name.value.trim() !== q.name) body.name = name.value;
        if (isDefault.checked !== !!q.is_default) body.is_default = isDefault.checked;
        savedQueue = (await api('PATCH', `/api/v1/queues/${encodeURIComponent(q.id)}`, body)).queue;
      });
      if (!done) return;
      Object.assign(q, savedQueue);
      if (savedQueue.is_default) for (const other of T.queues) if (other.id !== q.id) other.is_default = false;
      const row = form.closest('li');
      const fresh = queueRow(q);
      row.replaceWith(fresh);
      saved(fresh.querySelector('[data-testid="queue-saved"]'));
    });
    return form;
  }

  window.InboxSettings.register('queues', renderQueues);
})();
