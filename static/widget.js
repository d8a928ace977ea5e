/* Inbox web chat widget. Protocol: docs/webchat-protocol.md.
 *
 * <script src="https://inbox.example.com/widget.js" data-channel="CHANNEL_ID" async></script>
 * Optional: data-title, data-greeting, data-lang (en|ru), data-color.
 *
 * Everything is built inside a Shadow DOM; all message text goes in through text nodes.
 */
(function () {
  'use strict';

  if (window.InboxChat && window.InboxChat.__inbox) return;   // loaded twice

  var script = document.currentScript || document.querySelector('script[data-channel]');
  if (!script) return;
  var channel = (script.getAttribute('data-channel') || '').trim();
  if (!channel || channel.indexOf('{{') !== -1) {
    if (window.console) console.warn('InboxChat: data-channel is missing');
    return;
  }

  var srcUrl = new URL(script.src || '/widget.js', location.href);
  var WS_URL = (srcUrl.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + srcUrl.host +
    '/ws/webchat/' + encodeURIComponent(channel);

  // The widget's message catalogue: keyed strings with {placeholders}, one table a language.
  // It lives in this file so the widget stays one script on the customer's site (no second
  // request that a shop's CSP or a flaky network could block); docs/console-ui.md.
  var MESSAGES = {
    en: {
      'widget.title': 'Chat with us', 'widget.placeholder': 'Type a message…', 'widget.send': 'Send',
      'widget.sending': 'sending…', 'widget.failed': 'not sent', 'widget.failed_because': 'not sent — {error}',
      'widget.retry': 'Retry', 'widget.typing': '{name} is typing…', 'widget.agent': 'Agent',
      'widget.open': 'Open chat', 'widget.close': 'Close chat', 'widget.connecting': 'Connecting…',
      'widget.empty': 'Ask us anything — we usually reply within a few minutes.',
      'widget.ended': 'The chat has ended. How did we do?', 'widget.comment': 'A comment (optional)',
      'widget.rate': 'Rate', 'widget.thanks': 'Thank you for your rating!', 'widget.stars': '{n} stars',
    },
    ru: {
      'widget.title': 'Напишите нам', 'widget.placeholder': 'Введите сообщение…', 'widget.send': 'Отправить',
      'widget.sending': 'отправляется…', 'widget.failed': 'не отправлено', 'widget.failed_because': 'не отправлено — {error}',
      'widget.retry': 'Повторить', 'widget.typing': '{name} печатает…', 'widget.agent': 'Оператор',
      'widget.open': 'Открыть чат', 'widget.close': 'Закрыть чат', 'widget.connecting': 'Подключение…',
      'widget.empty': 'Задайте вопрос — обычно мы отвечаем за несколько минут.',
      'widget.ended': 'Диалог завершён. Оцените, пожалуйста, нашу работу.', 'widget.comment': 'Комментарий (необязательно)',
      'widget.rate': 'Оценить', 'widget.thanks': 'Спасибо за оценку!', 'widget.stars': '{n} из 5',
    },
  };
  // data-lang wins; else the visitor's browser (ru* → ru); else English.
  function pickLang() {
    var attr = (script.getAttribute('data-lang') || '').toLowerCase().slice(0, 2);
    if (MESSAGES[attr]) return attr;
    var nav = String((navigator.languages && navigator.languages[0]) || navigator.language || '');
    return /^ru\b/i.test(nav) ? 'ru' : 'en';
  }
  var lang = pickLang();
  function t(key, params) {
    var text = MESSAGES[lang][key] || MESSAGES.en[key] || key;
    return params ? text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : all;
    }) : text;
  }
  var title = script.getAttribute('data-title') || t('widget.title');
  var greeting = script.getAttribute('data-greeting') || '';
  var color = script.getAttribute('data-color') || '';
  if (color && !(window.CSS && CSS.supports && CSS.supports('color', color))) color = '';

  // ------------------------------------------------------------------ storage

  var TOKEN_KEY = 'inbox.visitor.' + channel;
  var OUTBOX_KEY = 'inbox.visitor.' + channel + '.outbox';
  var READ_KEY = 'inbox.visitor.' + channel + '.read_seq';

  function load(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function store(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: keep working in memory */ }
  }
  function loadOutbox() {
    try {
      var v = JSON.parse(load(OUTBOX_KEY) || '[]');
      return Array.isArray(v) ? v.filter(function (e) { return e && e.client_id && typeof e.text === 'string'; }) : [];
    } catch (e) { return []; }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = '';
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1);
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ------------------------------------------------------------------ state

  var st = {
    token: load(TOKEN_KEY),
    outbox: loadOutbox(),          // [{client_id, text, created_at, failed?, error?}]
    csatFrame: null,               // the rating sent and not acknowledged yet (resent on slow_down)
    msgs: new Map(),               // id → customer message view
    lastSeq: 0,                    // highest seq seen in this page
    readSeq: parseInt(load(READ_KEY) || '0', 10) || 0,
    welcomed: false,
    open: false,
    ws: null,
    ready: false,
    attempt: 0,
    timer: null,
    heard: 0,
    pinged: 0,
    typingSent: 0,
    typingTimer: null,
    started: false,
  };
  function saveOutbox() { store(OUTBOX_KEY, st.outbox.length ? JSON.stringify(st.outbox) : null); }

  // ------------------------------------------------------------------ DOM

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k.slice(0, 2) === 'on' && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else if (k === 'class') node.className = v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function svg(path) {
    var ns = 'http://www.w3.org/2000/svg';
    var s = document.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path);
    s.appendChild(p);
    return s;
  }

  var CSS_TEXT = [
    ':host{all:initial}',
    '*{box-sizing:border-box}',
    '[hidden]{display:none!important}',
    '.root{--c:' + (color || '#2563eb') + ';font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2328}',
    '.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;',
    'background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;transition:transform .15s}',
    '.launcher:hover{transform:scale(1.06)}',
    '.launcher svg{width:28px;height:28px;fill:currentColor}',
    '.badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#e5383b;color:#fff;',
    'font-size:12px;font-weight:700;line-height:20px;text-align:center;box-shadow:0 0 0 2px #fff}',
    '.panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:360px;height:520px;max-height:calc(100vh - 110px);',
    'display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.22)}',
    '.head{flex:none;display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--c);color:#fff}',
    '.head-text{flex:1;min-width:0}',
    '.title{font-weight:650;font-size:15px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.conn{font-size:12px;opacity:.85}',
    '.x{flex:none;width:30px;height:30px;border:0;border-radius:8px;background:transparent;color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center}',
    '.x:hover{background:rgba(255,255,255,.18)}',
    '.x svg{width:18px;height:18px;fill:currentColor}',
    '.list{flex:1;min-height:0;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f6f7f9}',
    '.greet{align-self:stretch;margin-bottom:4px;padding:10px 12px;border-radius:10px;background:#fff;border:1px solid #e3e6ea;color:#424a53;white-space:pre-wrap;overflow-wrap:anywhere}',
    '.msg{display:flex;flex-direction:column;max-width:82%}',
    '.msg[data-from=customer]{align-self:flex-end;align-items:flex-end}',
    '.msg[data-from=agent]{align-self:flex-start;align-items:flex-start}',
    '.who{font-size:11px;color:#656d76;margin:0 4px 2px}',
    '.bubble{padding:7px 11px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;max-height:40vh;overflow-y:auto}',
    '.msg[data-from=customer] .bubble{background:var(--c);color:#fff;border-bottom-right-radius:4px}',
    '.msg[data-from=agent] .bubble{background:#fff;border:1px solid #e3e6ea;border-bottom-left-radius:4px}',
    '.msg[data-status=sending] .bubble{opacity:.7}',
    '.msg[data-status=failed] .bubble{background:#fbe3e4;color:#1f2328}',
    '.meta{font-size:11px;color:#8c959f;margin:2px 4px 0}',
    '.msg[data-status=failed] .meta{color:#cf222e}',
    '.retry{border:0;background:none;padding:0;margin-left:6px;color:inherit;text-decoration:underline;cursor:pointer;font:inherit}',
    '.typing{flex:none;padding:3px 14px;font-size:12px;font-style:italic;color:#656d76;background:#f6f7f9}',
    '.form{flex:none;display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid #e3e6ea;background:#fff}',
    '.input{flex:1;min-height:38px;max-height:120px;resize:none;padding:8px 10px;border:1px solid #d0d7de;border-radius:10px;font:inherit;color:inherit;background:#fff}',
    '.input:focus{outline:none;border-color:var(--c)}',
    '.send{flex:none;height:38px;padding:0 14px;border:0;border-radius:10px;background:var(--c);color:#fff;font:inherit;font-weight:600;cursor:pointer}',
    '.send:disabled{opacity:.5;cursor:default}',
    '.quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}',
    '.quick button{border:1px solid var(--c);background:#fff;color:var(--c);border-radius:14px;padding:4px 10px;font:inherit;cursor:pointer}',
    '.quick a{color:var(--c)}',
    '.csat{flex:none;padding:10px;border-top:1px solid #e3e6ea;background:#f6f8fa;display:flex;flex-direction:column;gap:6px}',
    '.stars{display:flex;gap:4px}',
    '.stars button{width:34px;height:34px;border:1px solid #d0d7de;border-radius:8px;background:#fff;font:inherit;cursor:pointer}',
    '.stars button[aria-pressed=true]{background:var(--c);color:#fff;border-color:var(--c)}',
    ':focus-visible{outline:2px solid var(--c);outline-offset:2px}',
    '@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100%;max-height:100%;border-radius:0}.open .launcher{display:none}}',
  ].join('\n');

  var host, root, wrap, launcher, badge, panel, list, greetNode, typingNode, input, sendBtn, connNode, csatNode;

  function build() {
    host = document.createElement('div');
    host.setAttribute('data-inbox-chat', '');
    root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el('style', null, CSS_TEXT));
    }
    wrap = el('div', { class: 'root', lang: lang });

    badge = el('span', { class: 'badge', 'data-testid': 'widget-unread', hidden: true });
    launcher = el('button', {
      class: 'launcher', type: 'button', 'data-testid': 'widget-launcher', 'aria-label': t('widget.open'),
      'aria-expanded': 'false', onclick: function () { if (st.open) close(); else open(); },
    }, svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'), badge);

    connNode = el('div', { class: 'conn', hidden: true }, t('widget.connecting'));
    greetNode = el('div', { class: 'greet', hidden: true }, greeting || t('widget.empty'));
    list = el('div', { class: 'list', role: 'log', 'aria-live': 'polite' }, greetNode);
    typingNode = el('div', { class: 'typing', 'data-testid': 'widget-typing', hidden: true });
    input = el('textarea', {
      class: 'input', rows: 1, 'data-testid': 'widget-input', placeholder: t('widget.placeholder'), 'aria-label': t('widget.placeholder'),
      maxlength: 20000,
    });
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
    });
    input.addEventListener('input', onInput);
    sendBtn = el('button', { class: 'send', type: 'submit', 'data-testid': 'widget-send' }, t('widget.send'));
    var form = el('form', { class: 'form', novalidate: true }, input, sendBtn);
    form.addEventListener('submit', function (ev) { ev.preventDefault(); submit(); });

    panel = el('div', { class: 'panel', role: 'dialog', 'aria-label': title, 'data-testid': 'widget-panel', hidden: true },
      el('div', { class: 'head' },
        el('div', { class: 'head-text' }, el('div', { class: 'title' }, title), connNode),
        el('button', { class: 'x', type: 'button', 'aria-label': t('widget.close'), onclick: close },
          svg('M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z'))),
      list, typingNode, (csatNode = el('div', { class: 'csat', 'data-testid': 'widget-csat', hidden: true })), form);

    wrap.appendChild(panel);
    wrap.appendChild(launcher);
    root.appendChild(wrap);
    document.body.appendChild(host);
    render();
  }

  // ------------------------------------------------------------------ rendering

  function textOf(m) {
    // A buttons part shows its text; its buttons are drawn as buttons (quickReplies).
    var parts = m.parts || [];
    if (parts.some(function (p) { return p && p.type === 'buttons'; })) {
      return parts.map(function (p) {
        if (!p) return '';
        if (p.type === 'text' || p.type === 'buttons') return p.text || '';
        return '[' + (p.type || 'attachment') + ']';
      }).join('\n');
    }
    if (typeof m.text === 'string' && m.text) return m.text;
    return parts.map(function (p) {
      if (!p) return '';
      if (p.type === 'text') return p.text || '';
      return '[' + (p.type || 'attachment') + ']' + (p.caption || p.name ? ' ' + (p.caption || p.name) : '');
    }).join('\n');
  }

  function clock(iso) {
    var t = iso ? new Date(iso) : null;
    return t && !isNaN(t) ? t.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) : '';
  }

  function renderOne(m) {
    var from = m.from === 'agent' ? 'agent' : 'customer';
    var status = m.local ? (m.failed ? 'failed' : 'sending') : (m.status || 'sent');
    var meta = el('div', { class: 'meta' });
    if (m.local && !m.failed) meta.appendChild(document.createTextNode(t('widget.sending')));
    else if (m.local && m.failed) {
      meta.appendChild(document.createTextNode(m.error ? t('widget.failed_because', { error: m.error }) : t('widget.failed')));
      meta.appendChild(el('button', { class: 'retry', type: 'button', onclick: function () { retry(m.client_id); } }, t('widget.retry')));
    } else meta.appendChild(document.createTextNode(clock(m.created_at)));
    return el('div', {
      class: 'msg', 'data-testid': 'widget-message', 'data-from': from, 'data-status': status,
      'data-id': m.id || null, 'data-client-id': m.client_id || null,
    },
    from === 'agent' ? el('div', { class: 'who' }, m.author_name || t('widget.agent')) : null,
    el('div', { class: 'bubble' }, textOf(m)),
    from === 'agent' ? quickReplies(m, m.seq === st.lastSeq) : null,
    meta);
  }

  // A link button opens the link (on every message: a payment link stays payable); reply
  // buttons of the newest agent message send their title with their payload. The rating
  // request (csat:N) has its own panel.
  function quickReplies(m, newest) {
    var nodes = [];
    (m.parts || []).forEach(function (p) {
      if (!p || p.type !== 'buttons') return;
      (p.buttons || []).forEach(function (b) {
        if (!b || !b.title) return;
        if (b.kind === 'url' && /^https?:\/\//.test(b.url || '')) {
          nodes.push(el('a', { href: b.url, target: '_blank', rel: 'noopener noreferrer' }, b.title));
        } else if (newest && !(b.payload || '').startsWith('csat:')) {
          nodes.push(el('button', { type: 'button', 'data-testid': 'widget-quick-reply',
            onclick: function () { submitText(b.title, b.payload || ''); } }, b.title));
        }
      });
    });
    return nodes.length ? el.apply(null, ['div', { class: 'quick' }].concat(nodes)) : null;
  }

  function showCsat(conversationId) {
    if (!csatNode) return;
    while (csatNode.lastChild) csatNode.removeChild(csatNode.lastChild);
    var chosen = 0;
    var stars = el('div', { class: 'stars' });
    var comment = el('input', { class: 'input', type: 'text', maxlength: '2000', placeholder: t('widget.comment'),
      'data-testid': 'widget-csat-comment' });
    var rateBtn = el('button', { class: 'send', type: 'button', disabled: true, 'data-testid': 'widget-csat-send',
      onclick: function () {
        if (!chosen) return;
        st.csatFrame = { type: 'csat', rating: chosen, comment: comment.value || '' };
        send(st.csatFrame);
      } }, t('widget.rate'));
    [1, 2, 3, 4, 5].forEach(function (n) {
      stars.appendChild(el('button', { type: 'button', 'aria-pressed': 'false', 'aria-label': t('widget.stars', { n: n }),
        'data-testid': 'widget-csat-star', 'data-rating': String(n),
        onclick: function () {
          chosen = n;
          Array.from(stars.children).forEach(function (c, i) { c.setAttribute('aria-pressed', String(i < n)); });
          rateBtn.disabled = false;
        } }, String(n)));
    });
    csatNode.appendChild(el('div', {}, t('widget.ended')));
    csatNode.appendChild(stars);
    csatNode.appendChild(el('div', { class: 'form', style: 'padding:0;border:0;background:none' }, comment, rateBtn));
    csatNode.setAttribute('data-conversation-id', conversationId || '');
    csatNode.hidden = false;
  }

  function csatDone() {
    st.csatFrame = null;
    if (!csatNode) return;
    while (csatNode.lastChild) csatNode.removeChild(csatNode.lastChild);
    csatNode.appendChild(el('div', { 'data-testid': 'widget-csat-thanks' }, t('widget.thanks')));
    setTimeout(function () { csatNode.hidden = true; }, 4000);
  }

  function render() {
    if (!list) return;
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    var stored = Array.from(st.msgs.values()).sort(function (a, b) { return (a.seq || 0) - (b.seq || 0); });
    var known = {};
    stored.forEach(function (m) { if (m.client_id) known[m.client_id] = true; });
    var pending = st.outbox.filter(function (e) { return !known[e.client_id]; }).map(function (e) {
      return { local: true, from: 'customer', client_id: e.client_id, text: e.text, failed: !!e.failed, error: e.error };
    });
    while (list.lastChild && list.lastChild !== greetNode) list.removeChild(list.lastChild);
    var all = stored.concat(pending);
    greetNode.hidden = !!all.length || !(greeting || st.welcomed);
    all.forEach(function (m) { list.appendChild(renderOne(m)); });
    if (nearBottom || !st.open) list.scrollTop = list.scrollHeight;
    renderBadge();
  }

  function unreadCount() {
    var n = 0;
    st.msgs.forEach(function (m) { if (m.from === 'agent' && (m.seq || 0) > st.readSeq) n++; });
    return n;
  }

  function renderBadge() {
    if (!badge) return;
    var n = st.open ? 0 : unreadCount();
    badge.hidden = !n;
    badge.textContent = n > 9 ? '9+' : String(n);
  }

  function markRead() {
    if (st.lastSeq > st.readSeq) {
      st.readSeq = st.lastSeq;
      store(READ_KEY, String(st.readSeq));
    }
    renderBadge();
  }

  function showTyping(name) {
    typingNode.textContent = t('widget.typing', { name: name || t('widget.agent') });
    typingNode.hidden = false;
    clearTimeout(st.typingTimer);
    st.typingTimer = setTimeout(hideTyping, 5000);
  }
  function hideTyping() { clearTimeout(st.typingTimer); typingNode.hidden = true; }

  function renderConn() {
    if (connNode) connNode.hidden = st.ready;
  }

  // ------------------------------------------------------------------ messages

  function put(m) {
    if (!m || !m.id) return false;
    var isNew = !st.msgs.has(m.id);
    st.msgs.set(m.id, Object.assign({}, st.msgs.get(m.id) || {}, m));
    if (typeof m.seq === 'number' && m.seq > st.lastSeq) st.lastSeq = m.seq;
    if (m.client_id) dropOutbox(m.client_id);
    return isNew;
  }

  function dropOutbox(clientId) {
    var n = st.outbox.length;
    st.outbox = st.outbox.filter(function (e) { return e.client_id !== clientId; });
    if (n !== st.outbox.length) saveOutbox();
  }

  function submit() {
    var text = input.value;
    if (!text.trim()) return;
    input.value = '';
    submitText(text, '');
  }

  function submitText(text, payload) {
    var entry = { client_id: uuid(), text: text, created_at: new Date().toISOString() };
    if (payload) entry.payload = payload;
    st.outbox.push(entry);
    saveOutbox();
    render();
    list.scrollTop = list.scrollHeight;
    if (!st.ws) connect();
    else sendEntry(entry);
  }

  function sendEntry(e) {
    if (!st.ready) return;   // resent after the next welcome
    var f = { type: 'message', text: e.text, client_id: e.client_id };
    if (e.payload) f.payload = e.payload;
    send(f);
  }

  function retry(clientId) {
    st.outbox.forEach(function (e) { if (e.client_id === clientId) { e.failed = false; e.error = null; sendEntry(e); } });
    saveOutbox();
    render();
  }

  function onInput() {
    var now = Date.now();
    if (st.ready && now - st.typingSent > 2000) {
      st.typingSent = now;
      send({ type: 'typing' });
    }
  }

  // ------------------------------------------------------------------ connection

  function send(frame) {
    if (!st.ws || st.ws.readyState !== 1) return false;
    try { st.ws.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
  }

  function hello() {
    var f = { type: 'hello' };
    if (st.token) f.visitor_token = st.token;
    if (st.token && st.welcomed && st.lastSeq > 0) f.last_seq = st.lastSeq;
    send(f);
  }

  function connect() {
    st.started = true;
    clearTimeout(st.timer);
    st.timer = null;
    if (st.ws) return;
    var ws;
    try { ws = new WebSocket(WS_URL); } catch (e) { schedule(); return; }
    st.ws = ws;
    st.ready = false;
    st.heard = Date.now();
    renderConn();
    ws.addEventListener('open', function () { if (ws === st.ws) hello(); });
    ws.addEventListener('message', function (ev) {
      if (ws !== st.ws) return;
      st.heard = Date.now();
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && typeof f === 'object') onFrame(f);
    });
    ws.addEventListener('close', function () {
      if (ws !== st.ws) return;
      st.ws = null;
      st.ready = false;
      renderConn();
      schedule();
    });
  }

  function schedule(delay) {
    clearTimeout(st.timer);
    if (delay === undefined) {
      var base = Math.min(30000, 500 * Math.pow(2, st.attempt));
      delay = base / 2 + Math.random() * base / 2;
      st.attempt = Math.min(st.attempt + 1, 16);
    }
    st.timer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    var ws = st.ws;
    st.ws = null;
    st.ready = false;
    if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
    st.attempt = 0;
    schedule(0);
  }

  setInterval(function () {
    if (!st.ws || !st.ready) return;
    var now = Date.now();
    if (now - st.heard > 60000) { reconnectNow(); return; }
    if (now - st.pinged > 25000) { st.pinged = now; send({ type: 'ping' }); }
  }, 1000);

  window.addEventListener('online', function () {
    if (!st.started) return;
    if (!st.ws) { st.attempt = 0; connect(); } else if (!st.ready) reconnectNow();
  });

  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        if (f.visitor_token && f.visitor_token !== st.token) {
          st.token = f.visitor_token;
          store(TOKEN_KEY, st.token);
        }
        (f.messages || []).forEach(put);
        if (typeof f.last_seq === 'number' && f.last_seq > st.lastSeq) st.lastSeq = f.last_seq;
        st.welcomed = true;
        st.ready = true;
        st.attempt = 0;
        st.pinged = Date.now();
        renderConn();
        st.outbox.forEach(function (e) { if (!e.failed) sendEntry(e); });   // same client_id
        if (st.open) markRead();
        render();
        break;
      case 'ack':
        if (f.message) put(f.message);
        if (f.client_id) dropOutbox(f.client_id);
        if (st.open) markRead();
        render();
        break;
      case 'message':
        if (f.message) {
          put(f.message);
          if (f.message.from === 'agent') hideTyping();
          if (st.open && document.visibilityState === 'visible') markRead();
          render();
        }
        break;
      case 'typing':
        if (f.from === 'agent') showTyping(f.name);
        break;
      case 'csat.request':
        showCsat(f.conversation_id);
        break;
      case 'csat.ack':
        csatDone();
        break;
      case 'error':
        onError(f);
        break;
      default:
        break;   // pong and anything newer
    }
  }

  function onError(f) {
    if (f.code === 'bad_token') {
      // Forged or another channel's token: start over as a new visitor.
      st.token = null;
      store(TOKEN_KEY, null);
      st.msgs.clear();
      st.lastSeq = 0;
      st.readSeq = 0;
      store(READ_KEY, null);
      st.welcomed = false;
      render();
      hello();
      return;
    }
    if (f.code === 'hello_required') { hello(); return; }
    if (f.code === 'slow_down') { slowDown(f); return; }
    if (!f.client_id) return;
    var entry = st.outbox.filter(function (e) { return e.client_id === f.client_id; })[0];
    if (!entry) return;
    if (f.code === 'internal') {
      // Not stored: resend the same client_id a little later.
      setTimeout(function () { if (st.outbox.indexOf(entry) !== -1 && !entry.failed) sendEntry(entry); }, 3000);
      return;
    }
    entry.failed = true;
    entry.error = f.message || '';
    saveOutbox();
    render();
  }

  // Back-pressure (docs/webchat-protocol.md, "Errors"): the server did not store it and
  // asks to wait. The message stays "sending…" (nothing alarming for the customer) and
  // goes again with the same client_id after retry_after_ms; a duplicate is acked once.
  function slowDown(f) {
    var wait = Math.max(100, Math.min(60000, Number(f.retry_after_ms) || 1000));
    if (!f.client_id) {
      var frame = st.csatFrame;
      if (frame) setTimeout(function () { if (st.csatFrame === frame) send(frame); }, wait);
      return;
    }
    var entry = st.outbox.filter(function (e) { return e.client_id === f.client_id; })[0];
    if (!entry) return;
    setTimeout(function () { if (st.outbox.indexOf(entry) !== -1 && !entry.failed) sendEntry(entry); }, wait);
  }

  // ------------------------------------------------------------------ open / close

  function open() {
    if (!host) return;
    st.open = true;
    panel.hidden = false;
    wrap.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', t('widget.close'));
    if (!st.started) connect();
    markRead();
    render();
    list.scrollTop = list.scrollHeight;
    input.focus();
  }

  function close() {
    if (!host) return;
    st.open = false;
    panel.hidden = true;
    wrap.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', t('widget.open'));
    renderBadge();
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && st.open) markRead();
  });

  window.InboxChat = { open: open, close: close, __inbox: true };

  function init() {
    build();
    // A returning visitor (or one with unsent messages) connects at once to get replies and
    // the unread badge; a first-time visitor only when they open the chat.
    if (st.token || st.outbox.length) connect();
  }
  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
