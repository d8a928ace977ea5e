// Operator console: the supervisors' live dashboard tiles (docs/console-ui.md, "Queues and
// the dashboard"). Loaded after console-parts.js, before console.js, which feeds it the
// `dashboard` frames of the operator socket (docs/operator-protocol.md).
//
// Every value is drawn with text nodes (el()), never innerHTML. The longest wait ticks here,
// once a second, from `longest_wait_since` on the server's clock: the server sends a frame
// only when another number changes.
'use strict';

window.InboxDashboard = (() => {
  const P = window.InboxParts;
  const I18N = window.InboxI18n;
  const tr = I18N.t;
  const { el, clear, setText } = P;

  const CSS = `
.dash-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; margin: 0 0 12px; }
.dash-tile { min-width: 0; padding: 10px 12px; background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius); }
.dash-label { color: var(--muted); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dash-value { margin-top: 2px; font-size: 22px; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.dash-sub { margin-top: 2px; color: var(--faint); font-size: 12px; overflow-wrap: anywhere; }
.dash-tile[data-alert="true"] { border-color: #ffcecb; background: #fff5f4; }
.dash-tile[data-alert="true"] .dash-value { color: var(--danger); }
.queues-view .data-table-wrap { overflow-x: auto; }
@media (max-width: 480px) {
  .dash-tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .dash-value { font-size: 18px; }
}
`;

  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (_) { /* an old browser: the tiles still work, unstyled */ }

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const tsOf = (iso) => { const t = typeof iso === 'string' ? Date.parse(iso) : NaN; return Number.isNaN(t) ? null : t; };

  /** Seconds since `since` (an ISO time) on the server's clock `now` (ms); null: none waits. */
  function waitedSeconds(since, now) {
    const t = tsOf(since);
    return t === null ? null : Math.max(0, (now - t) / 1000);
  }

  function durationText(seconds) {
    if (typeof seconds !== 'number') return '—';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return tr('console.seconds_short', { n: s });
    if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    return tr('console.hours_minutes', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }

  function tile(key, label, value, sub, alert) {
    return el('div', { class: 'dash-tile', 'data-testid': 'dash-tile', 'data-tile': key, 'data-alert': alert ? 'true' : null },
      el('div', { class: 'dash-label' }, label),
      el('div', { class: 'dash-value', 'data-testid': 'dash-value' }, value),
      sub ? el('div', { class: 'dash-sub', 'data-testid': 'dash-sub' }, sub) : null);
  }

  /** Draws the tiles of `doc` (the `dashboard` document) into `container`. */
  function render(container, doc, now) {
    clear(container);
    if (!doc || typeof doc !== 'object') { container.hidden = true; return; }
    container.hidden = false;
    const t = doc.totals && typeof doc.totals === 'object' ? doc.totals : {};
    const ops = doc.operators && typeof doc.operators === 'object' ? doc.operators : {};
    const fmt = (v) => P.formatNumber(num(v));
    const waited = waitedSeconds(t.longest_wait_since, now);
    container.append(
      tile('waiting', tr('dashboard.waiting_now'), fmt(t.waiting),
        tr('dashboard.offers_pending', { n: fmt(t.offers) })),
      tile('longest_wait', tr('dashboard.longest_wait'), waited === null ? '—' : durationText(waited), null),
      tile('online', tr('dashboard.operators_online'), fmt(ops.online),
        tr('dashboard.away_offline', { away: fmt(ops.away), offline: fmt(ops.offline) })),
      tile('busy', tr('dashboard.busy_free'), `${fmt(ops.busy)} / ${fmt(ops.free)}`,
        tr('dashboard.assigned_n', { n: fmt(t.assigned) })),
      tile('breaches_today', tr('dashboard.breaches_today'), fmt(t.breaches_today),
        typeof doc.tz === 'string' ? tr('dashboard.since_midnight', { tz: doc.tz }) : null, num(t.breaches_today) > 0),
      tile('breaches_open', tr('dashboard.breaches_open'), fmt(t.breaches_open), null, num(t.breaches_open) > 0),
    );
    container.dataset.since = typeof t.longest_wait_since === 'string' ? t.longest_wait_since : '';
  }

  /** Advances the longest-wait tile (and the table's cells marked with data-since). */
  function tick(root, now) {
    for (const node of root.querySelectorAll('[data-since]')) {
      const waited = waitedSeconds(node.dataset.since, now);
      const target = node.classList.contains('dash-tiles')
        ? node.querySelector('[data-tile="longest_wait"] [data-testid="dash-value"]')
        : node;
      if (target) setText(target, waited === null ? '—' : durationText(waited));
    }
  }

  return { render, tick, durationText, waitedSeconds };
})();
