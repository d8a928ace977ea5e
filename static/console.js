// Operator console, part 2 of 2: state, protocol, lists, conversation view, composer.
// Protocol: docs/operator-protocol.md. Message parts and their files: console-parts.js.
//
// Security rule for this file: anything that came from a customer (text, parts, names,
// previews) is inserted with text nodes only — every node is built with el() (from
// console-parts.js), which never touches innerHTML, and no URL from customer data is ever
// loaded.
'use strict';

(() => {
  const TOKEN_KEY = 'inbox.token';
  const OUTBOX_KEY = 'inbox.outbox';
  const PING_EVERY_MS = 25000;       // client ping cadence
  const DEAD_AFTER_MS = 60000;       // nothing heard for this long → reconnect
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const TYPING_SEND_EVERY_MS = 3000;
  const TYPING_SHOW_MS = 5000;
  const SUPER_ROLES = new Set(['supervisor', 'admin']);
  const STATUS_RANK = { pending: 0, sent: 1, delivered: 2, read: 3 };
  // Limits of the server (inbox/usecases/media.py, operator_ws/compose.py).
  const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
  const MAX_ATTACHMENTS = 10;
  const MAX_BUTTONS = 10;
  const MAX_BUTTON_TITLE = 40;
  const MAX_BUTTON_URL = 2000;
  const WINDOW_WARN_MS = 60 * 60 * 1000;   // "closing soon" in the last hour

  const P = window.InboxParts;
  const { el, clear, setText, formatSize } = P;
  const $ = (id) => document.getElementById(id);

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    // crypto.randomUUID only exists in secure contexts (https or localhost).
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---------------------------------------------------------------- state

  const S = {
    token: localStorage.getItem(TOKEN_KEY),
    me: null,
    operators: new Map(),       // id → operator
    convs: new Map(),           // id → conversation
    currentId: null,
    msgs: new Map(),            // current conversation: message id → message
    historyLoaded: false,
    outbox: loadOutbox(),       // unacknowledged message.send / note.add
    requests: new Map(),        // request_id → {kind, conversationId, clientId}
    reqCounter: 0,
    mode: 'reply',
    // connection
    ws: null,
    authed: false,
    lastSeq: 0,
    attempt: 0,
    reconnectTimer: null,
    lastHeard: 0,
    lastPing: 0,
    everConnected: false,
    // misc
    typingHideTimer: null,
    lastTypingSent: 0,
    lastReadSent: new Map(),
    flash: new Map(),           // conversation id → until (ms)
    bootSeq: 0,
    // composer extras (reply mode): uploaded files and buttons of the next message
    attachments: [],            // {id, name, size, type, state: uploading|ready, media, ctrl, preview}
    buttons: [],                // {title, url} | {title, payload}
    templates: new Map(),       // channel id → {state: loading|ok|error, list, error}
    templatesShown: '',         // which list the <select> holds
    windowClosed: new Map(),    // conversation id → window_expires_at the server refused
    windowTimer: null,
  };

  // Files of the open conversation: fetched with the token, revoked when it is left.
  const media = P.createMediaLoader({ token: () => S.token, onUnauthorized: () => onUnauthorized() });

  function loadOutbox() {
    try {
      const raw = JSON.parse(localStorage.getItem(OUTBOX_KEY) || '[]');
      return Array.isArray(raw) ? raw.filter((e) => e && e.client_id && e.conversation_id) : [];
    } catch (_) {
      return [];
    }
  }

  function saveOutbox() {
    try {
      if (S.outbox.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(S.outbox));
      else localStorage.removeItem(OUTBOX_KEY);
    } catch (_) { /* storage full or disabled: the in-memory outbox still works */ }
  }

  const isSuper = () => !!S.me && SUPER_ROLES.has(S.me.role);

  // ---------------------------------------------------------------- REST

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** body: a JSON value, or FormData (sent as multipart/form-data). */
  async function api(method, path, body, signal) {
    const headers = { Accept: 'application/json' };
    if (S.token) headers.Authorization = `Bearer ${S.token}`;
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined || form ? body : JSON.stringify(body),
        credentials: 'same-origin', cache: 'no-store', signal,
      });
    } catch (exc) {
      if (exc && exc.name === 'AbortError') throw new ApiError(0, 'aborted', 'Cancelled.');
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const e = new ApiError(res.status, err.code || `http_${res.status}`, err.message || `HTTP ${res.status}`);
      if (res.status === 401 && path !== '/api/v1/auth/login') onUnauthorized();
      throw e;
    }
    return data || {};
  }

  // ---------------------------------------------------------------- login / logout

  function showLogin(message) {
    $('app').hidden = true;
    $('login-view').hidden = false;
    const err = $('login-error');
    err.hidden = !message;
    setText(err, message || '');
    document.title = 'Inbox — sign in';
    $('login-login').focus();
  }

  function showApp() {
    $('login-view').hidden = true;
    $('app').hidden = false;
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const login = $('login-login').value.trim();
    const password = $('login-password').value;
    const err = $('login-error');
    if (!login || !password) {
      err.hidden = false;
      setText(err, 'Enter your login and password.');
      return;
    }
    const btn = $('login-submit');
    btn.disabled = true;
    err.hidden = true;
    try {
      const data = await api('POST', '/api/v1/auth/login', { login, password });
      S.token = data.token;
      localStorage.setItem(TOKEN_KEY, data.token);
      S.me = data.operator || null;
      $('login-password').value = '';
      await boot();
    } catch (e) {
      err.hidden = false;
      setText(err, e.code === 'invalid_credentials' || e.status === 401
        ? 'Wrong login or password.' : e.message);
    } finally {
      btn.disabled = false;
    }
  }

  function resetSession() {
    S.bootSeq += 1;
    S.token = null;
    S.me = null;
    S.operators.clear();
    S.convs.clear();
    S.currentId = null;
    S.msgs.clear();
    S.outbox = [];
    S.requests.clear();
    S.lastSeq = 0;
    S.everConnected = false;
    S.templates.clear();
    S.windowClosed.clear();
    resetComposerExtras();
    media.reset();
    localStorage.removeItem(TOKEN_KEY);
    saveOutbox();
    disconnect();
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  }

  function onUnauthorized() {
    if (!S.token) return;
    resetSession();
    showLogin('Your session has ended. Please sign in again.');
  }

  async function logout() {
    try { await api('POST', '/api/v1/auth/logout'); } catch (_) { /* token is dropped anyway */ }
    resetSession();
    showLogin('');
  }

  // ---------------------------------------------------------------- boot / reload

  async function boot() {
    showApp();
    renderAll();
    const ok = await reloadAll();
    if (!ok) return;
    const fromHash = /^#c\/(.+)$/.exec(location.hash);
    if (fromHash && !S.currentId) openConversation(decodeURIComponent(fromHash[1]));
    connect();
  }

  /** Loads me, operators and conversations over REST; the source of truth after a resync. */
  async function reloadAll() {
    const mySeq = S.bootSeq;
    try {
      const [me, ops, convs] = await Promise.all([
        api('GET', '/api/v1/me'),
        api('GET', '/api/v1/operators'),
        api('GET', '/api/v1/conversations'),
      ]);
      if (mySeq !== S.bootSeq) return false;
      S.me = me.operator;
      S.operators = new Map((ops.operators || []).map((o) => [o.id, o]));
      S.convs = new Map((convs.conversations || []).map((c) => [c.id, c]));
      renderAll();
      if (S.currentId) loadHistory(S.currentId);
      return true;
    } catch (e) {
      if (mySeq !== S.bootSeq || e.status === 401) return false;
      showError(`Could not load data: ${e.message}`);
      // Retry later; the socket's reconnect also leads back here via resync.
      setTimeout(() => { if (mySeq === S.bootSeq && S.token) reloadAll(); }, 5000);
      return !!S.me;
    }
  }

  // ---------------------------------------------------------------- WebSocket

  function wsUrl() {
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/operator`;
  }

  function connect() {
    if (!S.token) return;
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    if (S.ws) return;
    setConn('connecting');
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    S.authed = false;
    S.lastHeard = Date.now();
    ws.addEventListener('open', () => {
      if (ws !== S.ws) return;
      const frame = { type: 'auth', token: S.token };
      if (S.everConnected && S.lastSeq > 0) frame.last_seq = S.lastSeq;
      ws.send(JSON.stringify(frame));
    });
    ws.addEventListener('message', (ev) => {
      if (ws !== S.ws) return;
      S.lastHeard = Date.now();
      let frame;
      try { frame = JSON.parse(ev.data); } catch (_) { return; }
      if (frame && typeof frame === 'object') handleFrame(frame);
    });
    ws.addEventListener('close', (ev) => {
      if (ws !== S.ws) return;
      S.ws = null;
      S.authed = false;
      if (ev.code === 4401) { onUnauthorized(); return; }
      scheduleReconnect();
    });
  }

  function disconnect() {
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    const ws = S.ws;
    S.ws = null;
    S.authed = false;
    if (ws) { try { ws.close(1000); } catch (_) { /* already closed */ } }
    setConn('down');
  }

  function scheduleReconnect(delay) {
    if (!S.token) return;
    setConn('reconnecting');
    clearTimeout(S.reconnectTimer);
    if (delay === undefined) {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** S.attempt);
      delay = base / 2 + Math.random() * base / 2;   // "equal jitter"
      S.attempt = Math.min(S.attempt + 1, 16);
    }
    S.reconnectTimer = setTimeout(connect, delay);
  }

  /** Drops a socket that looks dead and reconnects right away. */
  function reconnectNow() {
    const ws = S.ws;
    S.ws = null;
    S.authed = false;
    if (ws) { try { ws.close(4000); } catch (_) { /* ignore */ } }
    S.attempt = 0;
    scheduleReconnect(0);
  }

  function send(frame) {
    if (!S.ws || !S.authed || S.ws.readyState !== WebSocket.OPEN) return false;
    try {
      S.ws.send(JSON.stringify(frame));
      return true;
    } catch (_) {
      return false;
    }
  }

  function request(frame, meta) {
    S.reqCounter += 1;
    const requestId = `r${Date.now().toString(36)}${S.reqCounter}`;
    frame.request_id = requestId;
    S.requests.set(requestId, Object.assign({ kind: frame.type }, meta || {}));
    if (S.requests.size > 500) S.requests.delete(S.requests.keys().next().value);
    return send(frame) ? requestId : null;
  }

  function setConn(state) {
    const node = $('conn-status');
    node.dataset.state = state;
    setText(node, { up: 'Connected', connecting: 'Connecting…', reconnecting: 'Reconnecting…', down: 'Offline' }[state]);
    const composerSend = $('composer-send');
    composerSend.title = state === 'up' ? '' : 'Not connected: the message will be sent after reconnecting';
  }

  setInterval(() => {
    if (!S.ws || !S.authed) return;
    const now = Date.now();
    if (now - S.lastHeard > DEAD_AFTER_MS) { reconnectNow(); return; }
    if (now - S.lastPing >= PING_EVERY_MS) {
      S.lastPing = now;
      send({ type: 'ping' });
    }
  }, 1000);

  window.addEventListener('online', () => {
    if (!S.token) return;
    if (!S.ws) { S.attempt = 0; connect(); } else if (!S.authed) reconnectNow();
  });
  window.addEventListener('offline', () => { if (S.token && !S.authed) setConn('reconnecting'); });

  // ---------------------------------------------------------------- frames

  function handleFrame(f) {
    if (f.type === 'auth.ok') { onAuthOk(f); return; }
    if (f.type === 'resync_required') {
      // A new or restarted stream: its numbering wins over ours.
      if (typeof f.seq === 'number') S.lastSeq = f.seq;
      reloadAll();
      return;
    }
    if (typeof f.seq === 'number') {
      if (f.seq <= S.lastSeq) return;    // already seen (replay overlap, second delivery)
      S.lastSeq = f.seq;
    }
    switch (f.type) {
      case 'conversation.assigned':
        if (f.conversation) {
          S.flash.set(f.conversation.id, Date.now() + 4000);
          setTimeout(renderLists, 4100);
          upsertConversation(f.conversation);
        }
        break;
      case 'conversation.updated':
        if (f.conversation) upsertConversation(f.conversation);
        break;
      case 'message.created':
        if (f.conversation) upsertConversation(f.conversation, true);
        if (f.message) onMessageCreated(f.message, f.conversation_id);
        break;
      case 'message.updated':
        if (f.message) onMessageUpdated(f.message, f.conversation_id);
        break;
      case 'typing':
        onTyping(f);
        break;
      case 'presence':
        onPresence(f.operator_id, f.status);
        break;
      case 'ack':
        onAck(f);
        break;
      case 'error':
        onErrorFrame(f);
        break;
      default:
        break;   // heartbeat, pong, and anything newer than this console
    }
  }

  function onAuthOk(f) {
    S.authed = true;
    S.attempt = 0;
    S.lastPing = Date.now();
    if (!f.resumed) S.lastSeq = typeof f.last_seq === 'number' ? f.last_seq : 0;
    const reconnected = S.everConnected;
    S.everConnected = true;
    if (f.operator) setMe(f.operator);
    setConn('up');
    // Fresh stream on a reconnect (e.g. the page slept for longer than the replay window
    // and the server did not say resync_required): reload to be safe.
    if (reconnected && !f.resumed) reloadAll();
    flushOutbox();
  }

  function onAck(f) {
    const req = S.requests.get(f.request_id);
    S.requests.delete(f.request_id);
    if (f.message) {
      const m = f.message;
      dropFromOutbox(m.client_id);
      putMessage(m, m.conversation_id || (req && req.conversationId));
    }
    if (f.conversation) upsertConversation(f.conversation);
    if (f.operator) {
      setMe(f.operator);
      S.operators.set(f.operator.id, f.operator);
    }
    if (req && req.conversationId === S.currentId && req.kind !== 'conversation.read') hideComposerError();
  }

  function onErrorFrame(f) {
    if (f.code === 'unauthorized') { onUnauthorized(); return; }
    const req = f.request_id ? S.requests.get(f.request_id) : null;
    if (f.request_id) S.requests.delete(f.request_id);
    const text = f.message || f.code || 'The server refused the request.';
    let shown = text;
    if (f.code === 'window_closed') {
      // WhatsApp's 24-hour window: only a template goes now; switch the composer to one.
      const c = req && S.convs.get(req.conversationId);
      if (c) S.windowClosed.set(c.id, c.window_expires_at || null);
      shown = `24-hour window closed: ${f.message || 'the customer last wrote more than 24 hours ago.'} Choose an approved template below.`;
      if (c && c.id === S.currentId) renderHeader();
    }
    if (req && req.clientId) {
      const entry = S.outbox.find((e) => e.client_id === req.clientId);
      if (entry) {
        entry.state = 'failed';
        entry.error = text;
        saveOutbox();
        if (entry.conversation_id === S.currentId) renderMessages();
      }
    }
    if (req && req.kind === 'conversation.read') return;   // not worth bothering the operator
    if (!req || !req.conversationId || req.conversationId === S.currentId) showComposerError(shown, f.code);
  }

  function onMessageCreated(m, conversationId) {
    const cid = m.conversation_id || conversationId;
    if (m.client_id) dropFromOutbox(m.client_id);
    putMessage(m, cid);
    if (cid === S.currentId && m.direction === 'inbound') {
      hideTyping();
      markRead(cid);
    }
  }

  function onMessageUpdated(m, conversationId) {
    const cid = m.conversation_id || conversationId;
    if (cid !== S.currentId) return;
    const old = S.msgs.get(m.id);
    if (!old) { putMessage(m, cid); return; }
    S.msgs.set(m.id, mergeMessage(old, m));
    renderMessages();
  }

  function onTyping(f) {
    if (f.conversation_id !== S.currentId) return;
    if (f.by === 'operator' && S.me && f.operator_id === S.me.id) return;
    const who = f.by === 'customer' ? 'Customer' : (f.name || operatorName(f.operator_id) || 'An operator');
    showTyping(`${who} is typing…`);
  }

  function onPresence(operatorId, status) {
    const op = S.operators.get(operatorId);
    if (op) op.presence = status;
    if (S.me && operatorId === S.me.id) {
      S.me.presence = status;
      renderMe();
    }
  }

  function setMe(op) {
    S.me = Object.assign({}, S.me || {}, op);
    S.operators.set(S.me.id, Object.assign({}, S.operators.get(S.me.id) || {}, op));
    renderMe();
  }

  // ---------------------------------------------------------------- conversations

  function tsOf(value) {
    const t = value ? Date.parse(value) : NaN;
    return Number.isNaN(t) ? 0 : t;
  }

  function upsertConversation(c, fromMessage) {
    const old = S.convs.get(c.id);
    // Never let an older snapshot (e.g. an event racing a REST reload) overwrite a newer one.
    if (old && tsOf(c.updated_at) && tsOf(old.updated_at) > tsOf(c.updated_at)) return;
    const next = Object.assign({}, old || {}, c);
    // While the operator is looking at it, new inbound messages are read at once.
    if (c.id === S.currentId && fromMessage && document.visibilityState === 'visible') next.unread_count = 0;
    S.convs.set(c.id, next);
    renderLists();
    if (c.id === S.currentId) renderHeader();
  }

  function canSee(c) {
    if (!S.me) return false;
    if (isSuper()) return true;
    return c.status === 'queued' || c.assignee_id === S.me.id;
  }

  function canAct(c) {
    if (!S.me || !c) return false;
    return isSuper() || c.assignee_id === S.me.id;
  }

  function operatorName(id) {
    if (!id) return '';
    if (S.me && id === S.me.id) return S.me.name || S.me.login || 'me';
    const op = S.operators.get(id);
    return op ? (op.name || op.login || '') : '';
  }

  function bucketOf(c) {
    if (!S.me || c.status === 'resolved' || !canSee(c)) return null;
    if (c.assignee_id === S.me.id) return 'mine';
    if (c.status === 'queued') return 'queue';
    return isSuper() ? 'others' : null;
  }

  function activityOf(c) {
    return tsOf(c.last_message_at) || tsOf(c.updated_at) || tsOf(c.created_at);
  }

  function relTime(value) {
    const t = tsOf(value);
    if (!t) return '';
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 45) return 'now';
    if (s < 3600) return `${Math.max(1, Math.round(s / 60))}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h`;
    if (s < 7 * 86400) return `${Math.floor(s / 86400)}d`;
    return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  }

  function clockTime(value) {
    const t = tsOf(value);
    if (!t) return '';
    const d = new Date(t);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay
      ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  }

  function renderAll() {
    renderMe();
    renderLists();
    renderConversation();
  }

  function renderMe() {
    if (!S.me) return;
    setText($('me-name'), S.me.name || S.me.login || '');
    const presence = S.me.presence || 'offline';
    const select = $('presence-select');
    if (select.value !== presence && document.activeElement !== select) select.value = presence;
    $('presence-dot').dataset.status = presence;
    $('section-others').hidden = !isSuper();
  }

  function renderLists() {
    const buckets = { mine: [], queue: [], others: [] };
    for (const c of S.convs.values()) {
      const b = bucketOf(c);
      if (b) buckets[b].push(c);
    }
    let unreadTotal = 0;
    for (const [name, list] of Object.entries(buckets)) {
      list.sort((a, b) => activityOf(b) - activityOf(a));
      const ul = $(`list-${name}`);
      clear(ul);
      for (const c of list) ul.appendChild(renderItem(c));
      if (!list.length) ul.appendChild(el('li', { class: 'conv-list-empty' }, ul.dataset.empty || 'Empty'));
      setText($(`count-${name}`), list.length);
      if (name === 'mine') unreadTotal += list.reduce((n, c) => n + (c.unread_count || 0), 0);
    }
    document.title = `${unreadTotal ? `(${unreadTotal}) ` : ''}Inbox`;
  }

  function renderItem(c) {
    const unread = c.unread_count || 0;
    const selected = c.id === S.currentId;
    const flashing = (S.flash.get(c.id) || 0) > Date.now();
    return el('li', {
      class: `conv-item${selected ? ' is-selected' : ''}${unread ? ' has-unread' : ''}${flashing ? ' is-new' : ''}`,
      'data-testid': 'conversation-item',
      'data-id': c.id,
      'data-status': c.status,
      role: 'button',
      tabindex: 0,
      'aria-current': selected ? 'true' : null,
      onclick: () => openConversation(c.id),
      onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openConversation(c.id); } },
    },
    el('div', { class: 'conv-item-row' },
      el('span', { class: 'conv-item-name' }, c.contact_name || 'Unknown contact'),
      el('time', { class: 'conv-item-time', datetime: c.last_message_at || c.updated_at || '' },
        relTime(c.last_message_at || c.updated_at))),
    el('div', { class: 'conv-item-row' },
      el('span', { class: 'badge badge-kind', 'data-kind': c.channel_kind || '' }, P.channelLabel(c.channel_kind)),
      el('span', { class: 'conv-item-preview' }, c.preview || ''),
      unread ? el('span', { class: 'badge-unread', 'data-testid': 'unread-count', 'aria-label': `${unread} unread` },
        unread > 99 ? '99+' : unread) : null));
  }

  // ---------------------------------------------------------------- conversation view

  async function openConversation(id) {
    if (!id) return;
    const changed = id !== S.currentId;
    S.currentId = id;
    if (changed) {
      S.msgs = new Map();
      S.historyLoaded = false;
      hideTyping();
      hideComposerError();
      $('composer-input').value = '';
      $('template-params').value = '';
      resetComposerExtras();
      media.reset();   // revokes the blob: URLs of the conversation left
      const hash = `#c/${encodeURIComponent(id)}`;
      if (location.hash !== hash) history.replaceState(null, '', hash);
    }
    if (!S.convs.has(id)) {
      try {
        const data = await api('GET', `/api/v1/conversations/${encodeURIComponent(id)}`);
        if (data.conversation) S.convs.set(id, data.conversation);
      } catch (e) {
        if (S.currentId === id) { S.currentId = null; renderConversation(); }
        return;
      }
    }
    renderLists();
    renderConversation();
    await loadHistory(id);
    markRead(id, true);
    if (S.currentId === id) $('composer-input').focus();
  }

  async function loadHistory(id) {
    const state = $('history-state');
    if (!S.historyLoaded) { state.hidden = false; setText(state, 'Loading…'); }
    try {
      const data = await api('GET', `/api/v1/conversations/${encodeURIComponent(id)}/messages`);
      if (S.currentId !== id) return;
      const fresh = new Map();
      for (const m of data.messages || []) fresh.set(m.id, m);
      // keep live messages that arrived while the request was in flight
      for (const [key, m] of S.msgs) if (!fresh.has(key)) fresh.set(key, m);
      S.msgs = fresh;
      S.historyLoaded = true;
      state.hidden = true;
      for (const m of fresh.values()) if (m.client_id) dropFromOutbox(m.client_id);
      renderMessages(true);
    } catch (e) {
      if (S.currentId !== id || e.status === 401) return;
      state.hidden = false;
      setText(state, `Could not load the history: ${e.message}`);
    }
  }

  function markRead(id, force) {
    const c = S.convs.get(id);
    if (!c) return;
    if (!force && !(c.unread_count > 0)) return;
    const last = S.lastReadSent.get(id) || 0;
    if (!force && Date.now() - last < 1000) return;
    S.lastReadSent.set(id, Date.now());
    if (c.unread_count) { c.unread_count = 0; renderLists(); }
    request({ type: 'conversation.read', conversation_id: id }, { conversationId: id });
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && S.currentId) markRead(S.currentId);
  });

  function renderConversation() {
    const c = S.currentId ? S.convs.get(S.currentId) : null;
    $('conv-empty').hidden = !!c;
    $('conv-main').hidden = !c;
    if (!c) return;
    renderHeader();
    renderMessages();
  }

  const STATUS_LABELS = { bot: 'Bot', queued: 'Queued', assigned: 'Assigned', resolved: 'Resolved' };

  function renderHeader() {
    const c = S.convs.get(S.currentId);
    if (!c) return;
    setText($('conv-name'), c.contact_name || 'Unknown contact');
    const kind = $('conv-kind');
    setText(kind, P.channelLabel(c.channel_kind));
    kind.dataset.kind = c.channel_kind || '';
    const status = $('conv-status');
    setText(status, STATUS_LABELS[c.status] || c.status || '');
    status.dataset.status = c.status || '';
    const assignee = c.assignee_id ? (operatorName(c.assignee_id) || 'another operator') : '';
    setText($('conv-assignee'), assignee ? `Assignee: ${assignee}` : 'Unassigned');
    renderWindowStatus(c);

    const act = canAct(c);
    $('btn-claim').hidden = c.status !== 'queued';
    $('btn-resolve').hidden = c.status === 'resolved' || !(act || (isSuper()));
    $('btn-reopen').hidden = c.status !== 'resolved' || !act;

    const notice = $('conv-notice');
    let note = '';
    if (!act && c.status === 'queued') note = 'This conversation is waiting in the queue. Claim it to reply.';
    else if (!act && c.assignee_id) note = `This conversation is now assigned to ${assignee}.`;
    else if (c.status === 'resolved') note = 'This conversation is resolved.';
    notice.hidden = !note;
    setText(notice, note);

    renderComposer(c, act);
  }

  // WhatsApp's 24-hour window ------------------------------------------------

  /** Free text is accepted (WhatsApp only has a window; null there means closed). */
  function windowOpen(c) {
    if (c.channel_kind !== 'whatsapp') return true;
    if (S.windowClosed.has(c.id) && S.windowClosed.get(c.id) === (c.window_expires_at || null)) return false;
    return tsOf(c.window_expires_at) > Date.now();
  }

  function renderWindowStatus(c) {
    const node = $('window-status');
    clearTimeout(S.windowTimer);
    if (c.channel_kind !== 'whatsapp') { node.hidden = true; return; }
    node.hidden = false;
    const open = windowOpen(c);
    const until = tsOf(c.window_expires_at);
    node.dataset.state = !open ? 'closed' : (until - Date.now() < WINDOW_WARN_MS ? 'closing' : 'open');
    if (open) {
      const d = new Date(until);
      setText(node, `Window open until ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })}`);
      node.title = `WhatsApp accepts free text until ${d.toLocaleString()}; after that only approved templates.`;
      // Re-render when it closes (and when the last hour starts).
      const left = until - Date.now();
      const next = left > WINDOW_WARN_MS ? left - WINDOW_WARN_MS : left;
      S.windowTimer = setTimeout(renderHeader, Math.min(Math.max(0, next) + 250, 2 ** 31 - 1));
    } else {
      setText(node, '24-hour window closed');
      node.title = 'The customer last wrote more than 24 hours ago: WhatsApp only delivers approved templates until they write again.';
    }
  }

  // Composer state -------------------------------------------------------------

  function templateMode(c) {
    return S.mode === 'reply' && !windowOpen(c);
  }

  function renderComposer(c, act) {
    const tpl = act && templateMode(c);
    const input = $('composer-input');
    input.disabled = !act;
    input.hidden = tpl;
    $('template-panel').hidden = !tpl;
    $('composer-send').disabled = !act;
    $('composer-mode-reply').disabled = !act;
    $('composer-mode-note').disabled = !act;
    input.placeholder = !act ? 'Claim the conversation to reply'
      : S.mode === 'note' ? 'Write a private note (the customer will not see it)…' : 'Type a reply…';
    const extras = act && S.mode === 'reply' && !tpl;
    $('composer-tools').hidden = !extras;
    if (!extras) $('composer-button-form').hidden = true;
    $('composer-add-button').setAttribute('aria-expanded', String(!$('composer-button-form').hidden));
    $('composer-file').disabled = !extras;
    renderTray(extras);
    setText($('composer-hint'), tpl ? 'Outside the 24-hour window only an approved template can be sent'
      : 'Enter to send, Shift+Enter for a new line');
    if (tpl) renderTemplatePanel(c);
  }

  function renderTemplatePanel(c) {
    const entry = S.templates.get(c.channel_id);
    if (!entry) { loadTemplates(c.channel_id); return; }
    const select = $('template-select');
    const state = $('template-state');
    const list = entry.state === 'ok' ? entry.list : [];
    const shown = `${c.channel_id}:${entry.state}:${JSON.stringify(list)}`;
    if (S.templatesShown !== shown) {
      S.templatesShown = shown;
      clear(select);
      list.forEach((t, i) => select.appendChild(el('option', { value: i }, `${t.name} (${t.language})`)));
      $('template-params').value = '';
    }
    select.disabled = !list.length;
    $('template-params').disabled = !list.length;
    $('composer-send').disabled = !list.length;
    clear(state);
    state.hidden = entry.state === 'ok' && list.length > 0;
    state.dataset.state = entry.state;
    if (entry.state === 'loading') setText(state, 'Loading templates…');
    else if (entry.state === 'error') {
      state.append(`Could not load the templates: ${entry.error}`,
        el('button', { class: 'link-btn', type: 'button', onclick: () => { S.templates.delete(c.channel_id); renderHeader(); } }, 'Retry'));
    } else if (!list.length) {
      setText(state, 'No templates are configured for this channel, so nothing can be sent until the customer writes again. An administrator can add approved templates in the channel options.');
    }
  }

  async function loadTemplates(channelId) {
    if (S.templates.has(channelId)) return;
    S.templates.set(channelId, { state: 'loading', list: [] });
    renderHeader();
    let next;
    try {
      const data = await api('GET', `/api/v1/channels/${encodeURIComponent(channelId)}/templates`);
      const list = (Array.isArray(data.templates) ? data.templates : [])
        .filter((t) => t && typeof t.name === 'string' && typeof t.language === 'string');
      next = { state: 'ok', list };
    } catch (e) {
      next = { state: 'error', list: [], error: e.message };
    }
    if (!S.templates.has(channelId)) return;   // session reset meanwhile
    S.templates.set(channelId, next);
    const c = S.convs.get(S.currentId);
    if (c && c.channel_id === channelId) renderHeader();
  }

  // Messages ----------------------------------------------------------------

  function mergeMessage(old, m) {
    const next = Object.assign({}, old, m);
    // A late "pending" ack must not undo "delivered"/"read" that already arrived.
    if (m.status in STATUS_RANK && old.status in STATUS_RANK && STATUS_RANK[old.status] > STATUS_RANK[m.status]) {
      next.status = old.status;
    }
    return next;
  }

  function putMessage(m, conversationId) {
    if (!m || !m.id || conversationId !== S.currentId) return;
    const old = S.msgs.get(m.id);
    S.msgs.set(m.id, old ? mergeMessage(old, m) : m);
    renderMessages();
  }

  function outboxAsMessages() {
    const known = new Set();
    for (const m of S.msgs.values()) if (m.client_id) known.add(m.client_id);
    return S.outbox
      .filter((e) => e.conversation_id === S.currentId && !known.has(e.client_id))
      .map((e) => ({
        id: null,
        local: true,
        client_id: e.client_id,
        conversation_id: e.conversation_id,
        kind: e.type === 'note.add' ? 'note' : 'message',
        direction: e.type === 'note.add' ? 'internal' : 'outbound',
        author: { kind: 'operator', id: S.me && S.me.id, name: S.me && S.me.name },
        parts: entryParts(e),
        text: e.text,
        status: e.state === 'failed' ? 'failed' : 'pending',
        error: e.error || null,
        created_at: e.created_at,
      }));
  }

  /** What the server will store for an outbox entry (operator_ws/compose.py). */
  function entryParts(e) {
    if (e.template) return [Object.assign({ type: 'template' }, e.template)];
    const parts = [];
    const attachments = Array.isArray(e.attachments) ? e.attachments : [];
    if (Array.isArray(e.buttons) && e.buttons.length) {
      parts.push({ type: 'buttons', text: e.text, buttons: e.buttons });
    } else if ((e.text || '').trim() || !attachments.length) {
      parts.push({ type: 'text', text: e.text || '' });
    }
    for (const a of attachments) parts.push({ type: P.partTypeOfMime(a.mime_type), media: a });
    return parts;
  }

  function renderMessages(forceBottom) {
    if (!S.currentId) return;
    const scroller = $('message-scroll');
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const list = $('message-list');
    const stored = Array.from(S.msgs.values()).sort((a, b) => (a.seq || 0) - (b.seq || 0));
    const all = stored.concat(outboxAsMessages());
    clear(list);
    let lastDay = '';
    for (const m of all) {
      const t = tsOf(m.created_at);
      const day = t ? new Date(t).toDateString() : '';
      if (day && day !== lastDay) {
        lastDay = day;
        list.appendChild(el('li', { class: 'day-sep' },
          new Date(t).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })));
      }
      list.appendChild(renderMessage(m));
    }
    if (!all.length && S.historyLoaded) list.appendChild(el('li', { class: 'day-sep' }, 'No messages yet'));
    if (forceBottom || nearBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  function authorLabel(m) {
    const a = m.author || {};
    if (a.name) return a.name;
    if (a.kind === 'bot') return 'Bot';
    if (a.kind === 'operator') return operatorName(a.id) || 'Operator';
    if (a.kind === 'system') return 'System';
    if (m.direction === 'inbound') {
      const c = S.convs.get(m.conversation_id);
      return (c && c.contact_name) || 'Customer';
    }
    return '';
  }

  function renderMessage(m) {
    const isNote = m.kind === 'note' || m.direction === 'internal';
    const dir = isNote ? 'internal' : (m.direction || 'inbound');
    const status = m.status || (dir === 'inbound' ? 'received' : 'pending');
    const cls = `msg msg-${dir}${isNote ? ' msg-note' : ''}${m.local ? ' msg-local' : ''}`;
    const meta = m.meta && typeof m.meta === 'object' ? m.meta : {};
    const ownStatus = dir === 'outbound' || (isNote && m.local);
    return el('li', {
      class: cls,
      'data-testid': 'message',
      'data-id': m.id || '',
      'data-client-id': m.client_id || null,
      'data-direction': dir,
      'data-kind': isNote ? 'note' : (m.kind || 'message'),
      'data-status': status,
    },
    el('div', { class: 'msg-bubble' },
      isNote ? el('div', { class: 'msg-note-label' }, 'Private note') : null,
      P.renderParts(m, media)),
    ownStatus && status === 'failed' ? renderFailure(m) : null,
    el('div', { class: 'msg-meta' },
      el('span', { class: 'msg-author' }, authorLabel(m)),
      meta.reply_to ? el('span', { class: 'msg-flag', 'data-testid': 'message-reply', title: `A reply to message ${meta.reply_to}` }, '↩ reply') : null,
      meta.edit_of ? el('span', { class: 'msg-flag', 'data-testid': 'message-edited', title: `An edit of message ${meta.edit_of}` }, 'edited') : null,
      el('time', { class: 'msg-time', datetime: m.created_at || '' }, clockTime(m.created_at)),
      ownStatus ? el('span', { class: `msg-status msg-status-${status}`, 'data-testid': 'message-status' },
        STATUS_TEXT[status] || status) : null));
  }

  const STATUS_TEXT = {
    pending: 'Sending…', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Failed',
  };

  /** Not delivered: the reason (a sentence from the server or the channel) where it is seen. */
  function renderFailure(m) {
    return el('div', { class: 'msg-failure', role: 'note' },
      el('span', { class: 'msg-failure-icon', 'aria-hidden': 'true' }, '!'),
      el('div', { class: 'msg-failure-body' },
        el('strong', null, 'Not delivered. '),
        el('span', { class: 'msg-error', 'data-testid': 'message-error' }, m.error || 'The message could not be delivered.'),
        m.local ? el('span', { class: 'msg-failure-actions' },
          el('button', { class: 'link-btn', type: 'button', onclick: () => retryOutbox(m.client_id) }, 'Retry'),
          el('button', { class: 'link-btn', type: 'button', onclick: () => discardOutbox(m.client_id) }, 'Discard')) : null));
  }

  // ---------------------------------------------------------------- typing / errors

  function showTyping(text) {
    const node = $('typing-indicator');
    setText(node, text);
    node.hidden = false;
    clearTimeout(S.typingHideTimer);
    S.typingHideTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
  }

  function hideTyping() {
    clearTimeout(S.typingHideTimer);
    $('typing-indicator').hidden = true;
  }

  function showComposerError(text, code) {
    const node = $('composer-error');
    setText(node, text);
    node.dataset.code = code || '';
    node.hidden = false;
  }

  function hideComposerError() {
    $('composer-error').hidden = true;
  }

  function showError(text) {
    if (S.currentId) showComposerError(text);
    else {
      const empty = $('conv-empty');
      setText(empty, text);
    }
  }

  // ---------------------------------------------------------------- composer / outbox

  function setMode(mode) {
    S.mode = mode;
    $('composer').dataset.mode = mode;
    $('composer-mode-reply').setAttribute('aria-pressed', String(mode === 'reply'));
    $('composer-mode-note').setAttribute('aria-pressed', String(mode === 'note'));
    setText($('composer-send'), mode === 'note' ? 'Add note' : 'Send');
    renderHeader();
    $('composer-input').focus();
  }

  function submitComposer() {
    const c = S.convs.get(S.currentId);
    if (!c || !canAct(c)) return;
    if (templateMode(c)) { submitTemplate(c); return; }
    const input = $('composer-input');
    const text = input.value;
    const note = S.mode === 'note';
    const attachments = note ? [] : S.attachments;
    const buttons = note ? [] : S.buttons;
    if (!text.trim() && !attachments.length) {
      if (buttons.length) showComposerError('Buttons go with a message: write its text.');
      return;
    }
    if (attachments.some((a) => !a.media)) {
      showComposerError('Wait until the files are uploaded.');
      return;
    }
    if (buttons.length && !text.trim()) {
      showComposerError('Buttons go with a message: write its text.');
      return;
    }
    if (new TextEncoder().encode(text).length > 65536) {
      showComposerError('The message is too long (64 KiB at most).');
      return;
    }
    const entry = newEntry(c, note ? 'note.add' : 'message.send', text.trim() ? text : '');
    if (attachments.length) entry.attachments = attachments.map((a) => a.media);
    if (buttons.length) entry.buttons = buttons.map((b) => Object.assign({}, b));
    input.value = '';
    if (!note) resetComposerExtras();
    queueEntry(entry);
  }

  function submitTemplate(c) {
    const entry = S.templates.get(c.channel_id);
    const tpl = entry && entry.state === 'ok' ? entry.list[Number($('template-select').value)] : null;
    if (!tpl) {
      showComposerError(entry && entry.state === 'ok' ? 'No template to send.' : 'The templates are not loaded yet.');
      return;
    }
    const params = $('template-params').value.split(',').map((v) => v.trim()).filter(Boolean);
    const out = newEntry(c, 'message.send', '');
    out.template = { name: tpl.name, language: tpl.language, params };
    $('template-params').value = '';
    queueEntry(out);
  }

  function newEntry(c, type, text) {
    return {
      type, conversation_id: c.id, client_id: uuid(), text, created_at: new Date().toISOString(), state: 'pending',
    };
  }

  function queueEntry(entry) {
    S.outbox.push(entry);
    saveOutbox();
    hideComposerError();
    renderMessages(true);
    sendEntry(entry);
  }

  function sendEntry(entry) {
    const frame = {
      type: entry.type,
      conversation_id: entry.conversation_id,
      text: entry.text,
      client_id: entry.client_id,
    };
    if (entry.attachments) frame.attachments = entry.attachments;
    if (entry.buttons) frame.buttons = entry.buttons;
    if (entry.template) frame.template = entry.template;
    request(frame, { conversationId: entry.conversation_id, clientId: entry.client_id });
    // Not connected: the entry stays pending and flushOutbox() resends it after auth.ok.
  }

  // Attachments ----------------------------------------------------------------

  function onFilesChosen(ev) {
    const files = Array.from(ev.target.files || []);
    ev.target.value = '';   // the same file can be chosen again
    for (const file of files) addAttachment(file);
  }

  async function addAttachment(file) {
    const c = S.convs.get(S.currentId);
    if (!c || !canAct(c)) return;
    if (S.attachments.length >= MAX_ATTACHMENTS) {
      showComposerError(`At most ${MAX_ATTACHMENTS} files go in one message.`);
      return;
    }
    if (file.size > MAX_UPLOAD_BYTES) {
      showComposerError(`${file.name} is ${formatSize(file.size)}: files are limited to 20 MB (20 MiB). Send a link instead, or a smaller file.`);
      return;
    }
    if (!file.size) {
      showComposerError(`${file.name} is empty.`);
      return;
    }
    const a = {
      id: uuid(), name: file.name, size: file.size, type: file.type, state: 'uploading', media: null,
      ctrl: new AbortController(),
      preview: P.SAFE_IMAGE.has(file.type) ? URL.createObjectURL(file) : null,
    };
    S.attachments.push(a);
    renderTray(true);
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const data = await api('POST', `/api/v1/conversations/${encodeURIComponent(c.id)}/attachments`, form, a.ctrl.signal);
      if (!S.attachments.includes(a)) return;   // removed meanwhile
      if (!data.media || typeof data.media.key !== 'string') throw new Error('The server did not return the file.');
      a.media = data.media;
      a.state = 'ready';
    } catch (e) {
      if (!S.attachments.includes(a) || e.code === 'aborted') return;
      removeAttachment(a.id);
      const why = e.status === 413 || e.code === 'too_large'
        ? `too large (${e.message || 'files are limited to 20 MiB'})` : (e.message || 'upload failed');
      showComposerError(`${file.name} was not attached: ${why}`);
      return;
    }
    renderTray(true);
  }

  function removeAttachment(id) {
    const a = S.attachments.find((x) => x.id === id);
    if (!a) return;
    S.attachments = S.attachments.filter((x) => x !== a);
    if (a.state === 'uploading') a.ctrl.abort();
    if (a.preview) URL.revokeObjectURL(a.preview);
    renderTray(true);
  }

  /** Drops pending files (aborting uploads) and buttons: a new conversation, a sent message. */
  function resetComposerExtras() {
    for (const a of S.attachments) {
      if (a.state === 'uploading') a.ctrl.abort();
      if (a.preview) URL.revokeObjectURL(a.preview);
    }
    S.attachments = [];
    S.buttons = [];
    closeButtonForm();
    renderTray(false);
  }

  // Buttons --------------------------------------------------------------------

  function toggleButtonForm() {
    const form = $('composer-button-form');
    if (!form.hidden) { closeButtonForm(); return; }
    if (S.buttons.length >= MAX_BUTTONS) {
      showComposerError(`At most ${MAX_BUTTONS} buttons go in one message.`);
      return;
    }
    form.hidden = false;
    $('composer-add-button').setAttribute('aria-expanded', 'true');
    $('button-form-error').hidden = true;
    $('button-title').focus();
  }

  function closeButtonForm() {
    $('composer-button-form').hidden = true;
    $('composer-add-button').setAttribute('aria-expanded', 'false');
    $('button-title').value = '';
    $('button-url').value = '';
    $('button-form-error').hidden = true;
  }

  function addButtonFromForm() {
    const title = $('button-title').value.trim();
    const url = $('button-url').value.trim();
    const fail = (text, field) => {
      setText($('button-form-error'), text);
      $('button-form-error').hidden = false;
      $(field).focus();
    };
    if (!title) return fail('Give the button a title.', 'button-title');
    if (title.length > MAX_BUTTON_TITLE) return fail(`A button title is at most ${MAX_BUTTON_TITLE} characters.`, 'button-title');
    if (url && !/^https?:\/\/[^\s]+$/i.test(url)) return fail('A link starts with https:// (or http://) and has no spaces.', 'button-url');
    if (url.length > MAX_BUTTON_URL) return fail(`A link is at most ${MAX_BUTTON_URL} characters.`, 'button-url');
    if (S.buttons.length >= MAX_BUTTONS) return fail(`At most ${MAX_BUTTONS} buttons go in one message.`, 'button-title');
    S.buttons.push(url ? { title, url } : { title, payload: title });
    closeButtonForm();
    renderTray(true);
    $('composer-input').focus();
    return undefined;
  }

  function removeButton(index) {
    S.buttons.splice(index, 1);
    renderTray(true);
  }

  /** The chips of the files and buttons that go with the next reply. */
  function renderTray(visible) {
    const tray = $('composer-tray');
    const files = $('composer-attachments');
    const buttons = $('composer-buttons');
    clear(files);
    clear(buttons);
    for (const a of S.attachments) {
      files.appendChild(el('li', { class: 'chip chip-file', 'data-testid': 'composer-attachment', 'data-state': a.state, title: a.name },
        a.preview ? el('img', { class: 'chip-thumb', src: a.preview, alt: '' })
          : el('span', { class: 'chip-kind' }, P.partTypeOfMime(a.type) === 'file' ? 'File' : P.partTypeOfMime(a.type)),
        el('span', { class: 'chip-name' }, a.name),
        el('span', { class: 'chip-note' }, a.state === 'uploading' ? 'Uploading…' : formatSize(a.size)),
        el('button', { class: 'chip-remove', type: 'button', 'aria-label': `Remove ${a.name}`, title: 'Remove', onclick: () => removeAttachment(a.id) }, '×')));
    }
    S.buttons.forEach((b, i) => {
      buttons.appendChild(el('li', { class: 'chip chip-button', 'data-testid': 'composer-button', 'data-kind': b.url ? 'url' : 'reply' },
        el('span', { class: 'chip-kind' }, b.url ? 'Link' : 'Reply'),
        el('span', { class: 'chip-name' }, b.title),
        b.url ? el('span', { class: 'chip-note chip-url' }, b.url) : null,
        el('button', { class: 'chip-remove', type: 'button', 'aria-label': `Remove button ${b.title}`, title: 'Remove', onclick: () => removeButton(i) }, '×')));
    });
    files.hidden = !S.attachments.length;
    buttons.hidden = !S.buttons.length;
    tray.hidden = !visible || (!S.attachments.length && !S.buttons.length);
    $('composer-add-button').disabled = S.buttons.length >= MAX_BUTTONS;
    setText($('composer-add-button-count'), S.buttons.length ? ` (${S.buttons.length})` : '');
  }

  function flushOutbox() {
    for (const entry of S.outbox) if (entry.state !== 'failed') sendEntry(entry);
  }

  function dropFromOutbox(clientId) {
    if (!clientId) return;
    const before = S.outbox.length;
    S.outbox = S.outbox.filter((e) => e.client_id !== clientId);
    if (S.outbox.length !== before) saveOutbox();
  }

  function retryOutbox(clientId) {
    const entry = S.outbox.find((e) => e.client_id === clientId);
    if (!entry) return;
    entry.state = 'pending';
    entry.error = null;
    saveOutbox();
    hideComposerError();
    renderMessages();
    sendEntry(entry);   // same client_id: the server stores it at most once
  }

  function discardOutbox(clientId) {
    dropFromOutbox(clientId);
    hideComposerError();
    renderMessages();
  }

  function onComposerInput() {
    if (S.mode !== 'reply' || !S.currentId) return;
    const now = Date.now();
    if (now - S.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    if (send({ type: 'typing', conversation_id: S.currentId })) S.lastTypingSent = now;
  }

  function conversationCommand(type) {
    const id = S.currentId;
    if (!id) return;
    if (!request({ type, conversation_id: id }, { conversationId: id })) {
      showComposerError('Not connected. Try again when the connection is back.');
    }
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout-btn').addEventListener('click', logout);
    $('presence-select').addEventListener('change', (ev) => {
      const status = ev.target.value;
      if (!request({ type: 'presence.set', status })) {
        showComposerError('Not connected: presence was not changed.');
        renderMe();
        return;
      }
      $('presence-dot').dataset.status = status;
    });
    $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); submitComposer(); });
    $('composer-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey) {
        ev.preventDefault();
        submitComposer();
      }
    });
    $('composer-input').addEventListener('input', onComposerInput);
    $('composer-file').addEventListener('change', onFilesChosen);
    $('composer-add-button').addEventListener('click', toggleButtonForm);
    $('button-save').addEventListener('click', addButtonFromForm);
    $('button-cancel').addEventListener('click', () => { closeButtonForm(); $('composer-input').focus(); });
    for (const id of ['button-title', 'button-url']) {
      $(id).addEventListener('keydown', (ev) => {
        // Enter adds the button (it must not send the message); Escape closes the form.
        if (ev.key === 'Enter' && !ev.isComposing) { ev.preventDefault(); addButtonFromForm(); }
        if (ev.key === 'Escape') { ev.preventDefault(); closeButtonForm(); $('composer-input').focus(); }
      });
    }
    // Files dropped or pasted into the reply box are attached too.
    $('composer-input').addEventListener('paste', (ev) => {
      const files = Array.from((ev.clipboardData && ev.clipboardData.files) || []);
      if (!files.length || $('composer-tools').hidden) return;
      ev.preventDefault();
      for (const file of files) addAttachment(file);
    });
    $('composer').addEventListener('dragover', (ev) => {
      if (!$('composer-tools').hidden && ev.dataTransfer && Array.from(ev.dataTransfer.types).includes('Files')) ev.preventDefault();
    });
    $('composer').addEventListener('drop', (ev) => {
      if ($('composer-tools').hidden || !ev.dataTransfer || !ev.dataTransfer.files.length) return;
      ev.preventDefault();
      for (const file of Array.from(ev.dataTransfer.files)) addAttachment(file);
    });
    $('composer-mode-reply').addEventListener('click', () => setMode('reply'));
    $('composer-mode-note').addEventListener('click', () => setMode('note'));
    $('btn-claim').addEventListener('click', () => conversationCommand('conversation.claim'));
    $('btn-resolve').addEventListener('click', () => conversationCommand('conversation.resolve'));
    $('btn-reopen').addEventListener('click', () => conversationCommand('conversation.reopen'));
    setInterval(renderLists, 30000);   // keep relative times fresh
    window.addEventListener('storage', (ev) => {
      // Logged out in another tab.
      if (ev.key === TOKEN_KEY && !ev.newValue && S.token) { resetSession(); showLogin(''); }
    });
  }

  function start() {
    wire();
    if (S.token) boot();
    else showLogin('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
