// The reports page (/reports): a period's figures, a breakdown with a bar chart and the busy
// hours as a heat map, drawn as plain SVG; CSV from the same API (docs/reports.md).
//
// It uses the console's session (localStorage "inbox.token"); the server checks the role.
// Security rule: every name (channels, queues, operators, tags, close reasons) is inserted
// as text (textContent or SVG <title> text), never as markup.
'use strict';

(() => {
  const I18N = window.InboxI18n;
  const tr = I18N.t;
  const TOKEN_KEY = 'inbox.token';
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function token() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (_) { return null; }
  }

  function query(extra) {
    const params = new URLSearchParams({ from: $('reports-from').value, to: $('reports-to').value });
    const tz = $('reports-tz').value.trim();
    if (tz) params.set('tz', tz);
    for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
    return params.toString();
  }

  async function get(path, extra) {
    const resp = await fetch(`${path}?${query(extra)}`, { headers: { Authorization: `Bearer ${token()}` } });
    if (resp.ok) return resp;
    let message = `${resp.status}`;
    try { message = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
    if (resp.status === 401) message = tr('reports.sign_in');
    if (resp.status === 403) message = tr('reports.forbidden');
    throw new Error(message);
  }

  function showError(text) {
    $('reports-error').textContent = text;
    $('reports-error').hidden = !text;
  }

  function seconds(value) {
    if (value === null || value === undefined) return '—';
    if (value < 90) return tr('reports.seconds', { n: I18N.number(Math.round(value)) });
    if (value < 5400) return tr('reports.minutes', { n: I18N.number(Math.round(value / 60)) });
    return tr('reports.hours_n', { n: I18N.number(Math.round(value / 360) / 10) });
  }

  function percent(value) {
    return value === null || value === undefined ? '—' : `${I18N.number(value)} %`;
  }

  function money(orders) {
    if (orders.paid_total === null) {
      return Object.entries(orders.paid_totals).map(([c, v]) => `${v} ${c}`).join(', ');
    }
    return orders.currency ? `${orders.paid_total} ${orders.currency}` : orders.paid_total;
  }

  function figureList(r) {
    return [
      ['received', I18N.number(r.received)],
      ['answered', I18N.number(r.answered)],
      ['missed', I18N.number(r.missed)],
      ['bot_resolved', I18N.number(r.bot_resolved)],
      ['first_response', `${seconds(r.first_response_seconds.median)} / ${seconds(r.first_response_seconds.p90)}`],
      ['first_response_business', `${seconds(r.first_response_business_seconds.median)} / ${seconds(r.first_response_business_seconds.p90)}`],
      ['resolution', `${seconds(r.resolution_seconds.median)} / ${seconds(r.resolution_seconds.p90)}`],
      ['sla', percent(r.sla.met_percent)],
      ['csat', r.csat.count ? `${I18N.number(r.csat.average)} (${I18N.number(r.csat.count)})` : '—'],
      ['customers', `${I18N.number(r.customers.new)} / ${I18N.number(r.customers.returning)}`],
      ['orders', `${I18N.number(r.orders.created)} / ${I18N.number(r.orders.paid)}`],
      ['paid_total', money(r.orders)],
      ['conversion', percent(r.orders.conversion_percent)],
    ];
  }

  function renderSummary(r) {
    const dl = $('reports-summary');
    dl.replaceChildren();
    for (const [key, value] of figureList(r)) {
      dl.append(el('div', { class: 'reports-figure', 'data-figure': key },
        el('dt', {}, tr(`reports.f_${key}`)), el('dd', { 'data-testid': `figure-${key}` }, value)));
    }
    const reasons = Object.entries(r.close_reasons);
    if (reasons.length) {
      const list = el('ul', { class: 'reports-reasons', 'data-testid': 'figure-close_reasons' });
      for (const [name, n] of reasons) list.append(el('li', {}, `${name || tr('reports.no_reason')}: ${I18N.number(n)}`));
      dl.append(el('div', { class: 'reports-figure' }, el('dt', {}, tr('reports.f_close_reasons')), el('dd', {}, list)));
    }
  }

  function groupName(row) {
    return row.group === null ? tr('reports.no_group') : (row.name || row.group);
  }

  function renderBreakdown(report) {
    const rows = report.rows;
    const chart = $('reports-chart');
    const width = 640;
    const bar = 22;
    const label = 180;
    const max = Math.max(1, ...rows.map((r) => r.received));
    const root = svg('svg', { viewBox: `0 0 ${width} ${Math.max(1, rows.length) * (bar + 6)}`, role: 'img', 'aria-label': tr('reports.breakdown') });
    rows.forEach((row, i) => {
      const y = i * (bar + 6);
      const full = ((width - label - 60) * row.received) / max;
      const answered = ((width - label - 60) * row.answered) / max;
      const g = svg('g', { 'data-testid': 'chart-bar', 'data-received': row.received });
      g.append(svg('title', {}, `${groupName(row)}: ${row.received} / ${row.answered}`));
      g.append(svg('text', { x: 0, y: y + bar * 0.7, class: 'reports-chart-label' }, groupName(row)));
      g.append(svg('rect', { x: label, y, width: full, height: bar, class: 'reports-bar-received' }));
      g.append(svg('rect', { x: label, y, width: answered, height: bar, class: 'reports-bar-answered' }));
      g.append(svg('text', { x: label + full + 6, y: y + bar * 0.7, class: 'reports-chart-label' }, row.received));
      root.append(g);
    });
    chart.replaceChildren(root);

    const head = ['group', 'received', 'answered', 'missed', 'first_response_median', 'sla', 'csat', 'paid_total'];
    $('reports-head').replaceChildren(...head.map((k) => el('th', { scope: 'col' }, tr(`reports.f_${k}`))));
    $('reports-rows').replaceChildren(...rows.map((row) => {
      const figures = Object.fromEntries(figureList(row));
      return el('tr', { 'data-testid': 'reports-row' },
        el('td', {}, groupName(row)),
        ...head.slice(1).map((k) => el('td', {}, k === 'first_response_median' ? seconds(row.first_response_seconds.median) : figures[k])));
    }));
  }

  function renderHeat(report) {
    const cell = 22;
    const left = 40;
    const top = 16;
    const root = svg('svg', { viewBox: `0 0 ${left + 24 * cell} ${top + 7 * cell}`, role: 'img', 'aria-label': tr('reports.hours') });
    for (let h = 0; h < 24; h += 3) root.append(svg('text', { x: left + h * cell + 2, y: 11, class: 'reports-chart-label' }, h));
    report.cells.forEach((row, d) => {
      root.append(svg('text', { x: 0, y: top + d * cell + 15, class: 'reports-chart-label' }, tr(`reports.day_${report.weekdays[d]}`)));
      row.forEach((n, h) => {
        const rect = svg('rect', {
          x: left + h * cell, y: top + d * cell, width: cell - 2, height: cell - 2,
          class: 'reports-heat-cell', 'fill-opacity': report.max ? (0.08 + 0.92 * n / report.max).toFixed(3) : 0.08,
          'data-testid': `heat-${report.weekdays[d]}-${h}`, 'data-count': n,
        });
        rect.append(svg('title', {}, `${tr(`reports.day_${report.weekdays[d]}`)} ${h}:00 — ${n}`));
        root.append(rect);
      });
    });
    $('reports-heat').replaceChildren(root);
  }

  async function show() {
    showError('');
    try {
      const by = $('reports-by').value;
      const [summary, breakdown, hours] = await Promise.all([
        get('/api/v1/reports/summary').then((r) => r.json()),
        get('/api/v1/reports/breakdown', { by }).then((r) => r.json()),
        get('/api/v1/reports/hours').then((r) => r.json()),
      ]);
      $('reports-period').textContent = tr('reports.period', summary.period);
      renderSummary(summary);
      renderBreakdown(breakdown);
      renderHeat(hours);
      $('reports-result').hidden = false;
    } catch (err) {
      $('reports-result').hidden = true;
      showError(err.message);
    }
  }

  async function downloadCsv() {
    showError('');
    try {
      const by = $('reports-by').value;
      const blob = await (await get('/api/v1/reports/breakdown', { by, format: 'csv' })).blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: `report-${by}-${$('reports-from').value}-${$('reports-to').value}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showError(err.message);
    }
  }

  function start() {
    I18N.apply(document);
    const today = new Date();
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const params = new URLSearchParams(location.search);
    $('reports-from').value = params.get('from') || iso(new Date(today.getFullYear(), today.getMonth(), 1));
    $('reports-to').value = params.get('to') || iso(today);
    $('reports-tz').value = params.get('tz') || '';
    if (params.get('by')) $('reports-by').value = params.get('by');
    $('reports-form').addEventListener('submit', (e) => { e.preventDefault(); show(); });
    $('reports-csv').addEventListener('click', downloadCsv);
    if (!token()) { showError(tr('reports.sign_in')); return; }
    show();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
