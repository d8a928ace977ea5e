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
  const OFFER_TICK_MS = 250;               // offer countdowns
  const OFFER_URGENT_MS = 5000;            // the countdown turns red
  const OFFER_ERROR_SHOWN_MS = 4000;       // a refused accept stays readable this long
  const COMMAND_TIMEOUT_MS = 20000;        // no ack or error by then: tell the operator
  const QUEUES_HINT_MS = 3000;         // a hint that the queues changed reloads them at most this often
  const MAX_ALERTS = 30;

  const P = window.InboxParts;
  const I18N = window.InboxI18n;
  const tr = I18N.t;
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
    // routing
    offers: new Map(),          // conversation id → {offer, node, ...} offered to me
    offersEnded: new Map(),     // conversation id → when its offer left (ms)
    alerts: [],                 // newest first: {key, alert, conversation}
    skew: 0,                    // the server's clock minus ours (ms), from live frames
    skewFresh: false,           // no sample from the current connection yet
    replayUntil: 0,             // frames up to this seq were replayed (their times are old)
    view: 'conversation',       // or 'queues' (supervisors)
    queues: null,               // GET /api/v1/queues, once loaded
    queuesError: '',
    queuesAt: 0,
    queuesLoading: null,        // the promise of the load in flight
    queuesTimer: null,
    dash: null,                 // the last `dashboard` frame's numbers (supervisors, Queues view)
    dashSubscribed: false,      // dashboard.subscribe acked on this connection
    transferFor: null,          // conversation id of the open transfer dialog
    whyFor: null,               // conversation id of the open "Why?" dialog
    // bots (supervisors): the "Bot & hours" page
    botsScope: 'default',       // "default" (the whole inbox) or a queue id
    botsView: null,             // GET /api/v1/bots/{scope} of the scope shown
    botsOwn: new Set(),         // scopes with settings of their own (GET /api/v1/bots)
    botsSeq: 0,                 // drops answers for a scope no longer shown
    botsCollect: new Map(),     // field → {prompt, retry} the loaded flow customised
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
      if (exc && exc.name === 'AbortError') throw new ApiError(0, 'aborted', tr('console.cancelled'));
      throw new ApiError(0, 'network', tr('console.the_server_cannot_be_reached'));
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
    document.title = tr('console.inbox_sign_in');
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
      setText(err, tr('console.enter_your_login_and_password'));
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
      S.onlineAfterAuth = data.online_on_login !== false;
      $('login-password').value = '';
      await boot();
    } catch (e) {
      err.hidden = false;
      setText(err, e.code === 'invalid_credentials' || e.status === 401
        ? tr('console.wrong_login_or_password') : e.message);
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
    csatOf.clear();
    resetOrders();
    S.botsScope = 'default';
    S.botsView = null;
    S.botsOwn = new Set();
    resetRouting();
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
    showLogin(tr('console.your_session_has_ended_please_sign'));
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
      if (S.currentId) { loadHistory(S.currentId); loadCsat(S.currentId); if (O.convId === S.currentId) loadOrders(S.currentId); }
      loadOffers();
      loadWork();
      // Every role: which queues hide conversations from me and where I may take them.
      loadQueues();
      return true;
    } catch (e) {
      if (mySeq !== S.bootSeq || e.status === 401) return false;
      showError(tr('console.could_not_load_data', { message: e.message }));
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
    if (send(frame)) return requestId;
    S.requests.delete(requestId);   // never sent: no answer will come
    return null;
  }

  function setConn(state) {
    const node = $('conn-status');
    node.dataset.state = state;
    setText(node, { up: tr('console.connected'), connecting: tr('console.connecting'), reconnecting: tr('console.reconnecting'), down: tr('console.offline') }[state]);
    const composerSend = $('composer-send');
    composerSend.title = state === 'up' ? '' : tr('console.not_connected_the_message_will_be');
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
          if (S.me && f.conversation.assignee_id === S.me.id && f.conversation.id !== S.currentId) alertNew('assigned', f.conversation, f.seq);
          S.flash.set(f.conversation.id, Date.now() + 4000);
          setTimeout(renderLists, 4100);
          upsertConversation(f.conversation);
        }
        break;
      case 'audience.changed':
        // A queue's visibility, members or picking changed: what I see and may take, anew.
        reloadAll();
        break;
      case 'conversation.updated':
        if (f.conversation) upsertConversation(f.conversation);
        // Moved to another queue: whether I see it and may take it there is the queue's.
        if (f.reason === 'queue') loadQueues();
        break;
      case 'message.created':
        if (f.conversation) {
          upsertConversation(f.conversation, true);
          // The server sent it, so I see it: queues I thought hidden changed their setting.
          if (!canSee(f.conversation)) refreshQueuesSoon();
        }
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
      case 'offer.created':
        onOfferCreated(f);
        break;
      case 'offer.ended':
        if (typeof f.conversation_id === 'string') dropOffer(f.conversation_id);
        break;
      case 'routing.alert':
        onRoutingAlert(f);
        break;
      case 'webhook.disabled':
        onWebhookDisabled(f);
        break;
      case 'csat.received':
        onCsatReceived(f);
        break;
      case 'order.updated':
        onOrderUpdated(f);
        break;
      case 'heartbeat':
        noteServerTime(f.at, f.seq);
        break;
      case 'dashboard':
        onDashboard(f.dashboard);
        break;
      default:
        break;   // pong, and anything newer than this console
    }
  }

  function onAuthOk(f) {
    S.authed = true;
    S.attempt = 0;
    S.lastPing = Date.now();
    if (!f.resumed) S.lastSeq = typeof f.last_seq === 'number' ? f.last_seq : 0;
    const reconnected = S.everConnected;
    S.everConnected = true;
    // Frames up to the stream's position are a replay: their times are not "now".
    S.replayUntil = typeof f.last_seq === 'number' ? f.last_seq : 0;
    S.skewFresh = false;
    noteServerTime(f.at || f.server_time);
    if (f.operator) setMe(f.operator);
    setConn('up');
    // Fresh stream on a reconnect (e.g. the page slept for longer than the replay window
    // and the server did not say resync_required): reload to be safe.
    if (reconnected && !f.resumed) reloadAll();
    flushOutbox();
    goOnlineIfAsked();
    // The server forgets a closed connection's subscription: the Queues view asks again.
    S.dashSubscribed = false;
    if (S.view === 'queues') subscribeDashboard(true);
  }

  function onAck(f) {
    const req = S.requests.get(f.request_id);
    S.requests.delete(f.request_id);
    if (req) clearTimeout(req.timer);
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
    if (req && req.onAck) req.onAck(f);
  }

  function onErrorFrame(f) {
    if (f.code === 'unauthorized') { onUnauthorized(); return; }
    const req = f.request_id ? S.requests.get(f.request_id) : null;
    if (f.request_id) S.requests.delete(f.request_id);
    if (req) clearTimeout(req.timer);
    if (req && req.onError) { req.onError(f); return; }   // the command's own UI shows it
    const text = f.message || f.code || tr('console.the_server_refused_the_request');
    let shown = text;
    if (f.code === 'window_closed') {
      // WhatsApp's 24-hour window: only a template goes now; switch the composer to one.
      const c = req && S.convs.get(req.conversationId);
      if (c) S.windowClosed.set(c.id, c.window_expires_at || null);
      shown = tr('console.window_closed_choose_template', { reason: f.message || tr('console.window_closed_default_reason') });
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
    const who = f.by === 'customer' ? tr('console.customer') : (f.name || operatorName(f.operator_id) || tr('console.an_operator'));
    showTyping(tr('console.is_typing', { who }));
  }

  function onPresence(operatorId, status) {
    const op = S.operators.get(operatorId);
    if (op) op.presence = status;
    if (S.me && operatorId === S.me.id) {
      S.me.presence = status;
      renderMe();
      renderBanner();
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
    refreshSearchResult(next);
    if (c.id === S.currentId) renderHeader();
  }

  function canSee(c) {
    if (!S.me) return false;
    if (isSuper()) return true;
    if (c.assignee_id === S.me.id) return true;
    if (c.status !== 'queued') return false;
    // The server's rule (docs/operator-protocol.md): a members-only queue I am not in hides
    // its waiting conversations, and with such a queue, so does "not in a queue yet".
    const hidden = hiddenQueueIds();
    return !hidden || (!!c.queue_id && !hidden.has(c.queue_id));
  }

  /** Ids of the queues whose waiting conversations I may not see (null: none, or not known). */
  function hiddenQueueIds() {
    if (!S.queues || isSuper()) return null;
    const ids = S.queues
      .filter((q) => q.settings && q.settings.visible_to === 'members' && q.you && !q.you.member)
      .map((q) => q.id);
    return ids.length ? new Set(ids) : null;
  }

  /** The queue of a conversation as GET /api/v1/queues shows it (null: unknown, not loaded). */
  function queueOf(c) {
    if (!c || !c.queue_id || !S.queues) return null;
    return S.queues.find((q) => q.id === c.queue_id) || null;
  }

  /**
   * Whether I may take a waiting conversation by hand (conversation.claim): 'yes'
   * (supervisors; members of a queue that allows picking), 'off' (a member, but the queue
   * does not allow it), 'not_member', 'unknown' (its queue is not known yet) or 'no' (not
   * waiting).
   */
  function takeState(c) {
    if (!c || c.status !== 'queued') return 'no';
    if (isSuper()) return 'yes';
    const q = queueOf(c);
    if (!q || !q.you) return 'unknown';
    if (q.you.may_pick) return 'yes';
    return q.you.member ? 'off' : 'not_member';
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
    if (s < 45) return tr('console.rel_now');
    if (s < 3600) return tr('console.rel_minutes', { n: Math.max(1, Math.round(s / 60)) });
    if (s < 86400) return tr('console.rel_hours', { n: Math.floor(s / 3600) });
    if (s < 7 * 86400) return tr('console.rel_days', { n: Math.floor(s / 86400) });
    return new Date(t).toLocaleDateString(I18N.locale, { day: 'numeric', month: 'short' });
  }

  function clockTime(value) {
    const t = tsOf(value);
    if (!t) return '';
    const d = new Date(t);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay
      ? d.toLocaleTimeString(I18N.locale, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString(I18N.locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
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
    $('queues-btn').hidden = !isSuper();
    $('bots-btn').hidden = !isSuper();
    $('settings-btn').hidden = !isSuper();
    $('my-canned-btn').hidden = isSuper();
    if (!isSuper() && (S.view === 'queues' || S.view === 'bots')) showQueues(false);
    $('reports-link').hidden = !isSuper();  // static/reports.js
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
      if (!list.length) ul.appendChild(el('li', { class: 'conv-list-empty' }, ul.dataset.empty || tr('console.empty')));
      setText($(`count-${name}`), list.length);
      if (name === 'mine') unreadTotal += list.reduce((n, c) => n + (c.unread_count || 0), 0);
    }
    renderTitle(unreadTotal);
    renderBanner();
  }

  let lastUnread = 0;

  /** "(3) Inbox", with pending offers first so another tab shows them too. */
  function renderTitle(unreadTotal) {
    if (typeof unreadTotal === 'number') lastUnread = unreadTotal;
    const offers = S.offers.size;
    document.title = (offers ? tr('console.title_offered', { n: offers }) : '')
      + (lastUnread ? tr('console.title_unread', { n: lastUnread }) : '') + tr('console.title_app');
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
      el('span', { class: 'conv-item-name' }, c.contact_name || tr('console.unknown_contact')),
      el('time', { class: 'conv-item-time', datetime: c.last_message_at || c.updated_at || '' },
        relTime(c.last_message_at || c.updated_at))),
    el('div', { class: 'conv-item-row' },
      el('span', { class: 'badge badge-kind', 'data-kind': c.channel_kind || '' }, P.channelLabel(c.channel_kind)),
      el('span', { class: 'conv-item-preview' }, c.preview || ''),
      unread ? el('span', { class: 'badge-unread', 'data-testid': 'unread-count', 'aria-label': tr('console.n_unread', { n: unread }) },
        unread > 99 ? '99+' : unread) : null));
  }

  // ---------------------------------------------------------------- conversation view

  async function openConversation(id) {
    if (!id) return;
    if (S.view !== 'conversation') showQueues(false);
    const changed = id !== S.currentId;
    S.currentId = id;
    showPane('conv');
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
    if (changed) { closeTags(); loadTags(id); loadCsat(id); }
    openOrdersFor(id);
    renderOrdersPanel();
    await loadHistory(id);
    markRead(id, true);
    if (S.currentId === id) $('composer-input').focus();
  }

  async function loadHistory(id) {
    const state = $('history-state');
    if (!S.historyLoaded) { state.hidden = false; setText(state, tr('console.loading')); }
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
      setText(state, tr('console.could_not_load_the_history', { message: e.message }));
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
    const other = S.view !== 'conversation';
    $('queues-view').hidden = S.view !== 'queues';
    $('bots-view').hidden = S.view !== 'bots';
    $('settings-view').hidden = S.view !== 'settings';
    $('settings-btn').setAttribute('aria-pressed', String(S.view === 'settings'));
    $('my-canned-btn').setAttribute('aria-pressed', String(S.view === 'settings'));
    $('queues-btn').setAttribute('aria-pressed', String(S.view === 'queues'));
    $('bots-btn').setAttribute('aria-pressed', String(S.view === 'bots'));
    $('conv-empty').hidden = other || !!c;
    $('conv-main').hidden = other || !c;
    renderOrdersPanel();
    if (!c) return;
    renderHeader();
    renderMessages();
  }

  const STATUS_LABELS = { bot: tr('console.bot'), queued: tr('console.queued'), assigned: tr('console.assigned'), resolved: tr('console.resolved') };

  function renderHeader() {
    const c = S.convs.get(S.currentId);
    if (!c) return;
    setText($('conv-name'), c.contact_name || tr('console.unknown_contact'));
    const kind = $('conv-kind');
    setText(kind, P.channelLabel(c.channel_kind));
    kind.dataset.kind = c.channel_kind || '';
    const status = $('conv-status');
    setText(status, STATUS_LABELS[c.status] || c.status || '');
    status.dataset.status = c.status || '';
    const assignee = c.assignee_id ? (operatorName(c.assignee_id) || tr('console.another_operator')) : '';
    setText($('conv-assignee'), assignee ? tr('console.assignee', { assignee }) : tr('console.unassigned'));
    renderWindowStatus(c);

    const act = canAct(c);
    const take = takeState(c);
    $('btn-claim').hidden = take !== 'yes';
    $('btn-resolve').hidden = c.status === 'resolved' || !(act || (isSuper()));
    $('btn-reopen').hidden = c.status !== 'resolved' || !act;
    $('btn-transfer').hidden = !canTransfer(c);
    $('btn-tags').hidden = !(act && c.status !== 'resolved') && !isSuper();
    renderTags(c.id);
    renderCsat(c.id);
    renderWorkHeader(c);
    $('btn-why').hidden = !isSuper();
    renderOrders();

    const notice = $('conv-notice');
    let note = '';
    const queue = queueOf(c);
    if (!act && take === 'off') note = tr('console.take_off_in_queue', { queue: queue ? queue.name : '' });
    else if (!act && take === 'not_member') note = tr('console.take_not_member', { queue: queue ? queue.name : '' });
    else if (!act && take === 'unknown') note = tr('console.take_waiting_for_queue');
    else if (!act && c.status === 'queued') note = tr('console.this_conversation_is_waiting_in_the');
    else if (!act && c.assignee_id) note = tr('console.this_conversation_is_now_assigned_to', { assignee });
    else if (c.status === 'resolved') note = tr('console.this_conversation_is_resolved');
    notice.hidden = !note;
    notice.dataset.take = c.status === 'queued' && !act ? take : '';
    setText(notice, note);

    renderComposer(c, act, take);
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
      setText(node, tr('console.window_open_until', { time: d.toLocaleTimeString(I18N.locale, { hour: '2-digit', minute: '2-digit', hour12: false }) }));
      node.title = tr('console.window_open_until_long', { time: d.toLocaleString(I18N.locale) });
      // Re-render when it closes (and when the last hour starts).
      const left = until - Date.now();
      const next = left > WINDOW_WARN_MS ? left - WINDOW_WARN_MS : left;
      S.windowTimer = setTimeout(renderHeader, Math.min(Math.max(0, next) + 250, 2 ** 31 - 1));
    } else {
      setText(node, tr('console.24_hour_window_closed'));
      node.title = tr('console.the_customer_last_wrote_more_than');
    }
  }

  // Composer state -------------------------------------------------------------

  function templateMode(c) {
    return S.mode === 'reply' && !windowOpen(c);
  }

  function renderComposer(c, act, take) {
    const tpl = act && templateMode(c);
    const input = $('composer-input');
    input.disabled = !act;
    input.hidden = tpl;
    $('template-panel').hidden = !tpl;
    $('composer-send').disabled = !act;
    $('composer-mode-reply').disabled = !act;
    $('composer-mode-note').disabled = !act;
    input.placeholder = !act && take === 'off' ? tr('console.take_off_placeholder')
      : !act && take === 'not_member' ? tr('console.take_not_member_placeholder')
      : !act && take === 'unknown' ? tr('console.take_waiting_placeholder')
      : !act ? tr('console.claim_the_conversation_to_reply')
      : S.mode === 'note' ? tr('console.write_a_private_note_the_customer') : tr('console.type_a_reply');
    const extras = act && S.mode === 'reply' && !tpl;
    $('composer-tools').hidden = !extras;
    if (!extras) $('composer-button-form').hidden = true;
    $('composer-add-button').setAttribute('aria-expanded', String(!$('composer-button-form').hidden));
    $('composer-file').disabled = !extras;
    renderTray(extras);
    setText($('composer-hint'), tpl ? tr('console.outside_the_24_hour_window_only')
      : tr('console.enter_to_send_shift_enter_for'));
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
    if (entry.state === 'loading') setText(state, tr('console.loading_templates'));
    else if (entry.state === 'error') {
      state.append(tr('console.could_not_load_the_templates', { error: entry.error }),
        el('button', { class: 'link-btn', type: 'button', onclick: () => { S.templates.delete(c.channel_id); renderHeader(); } }, tr('console.retry')));
    } else if (!list.length) {
      setText(state, tr('console.no_templates_are_configured_for_this'));
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
          new Date(t).toLocaleDateString(I18N.locale, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })));
      }
      list.appendChild(renderMessage(m));
    }
    if (!all.length && S.historyLoaded) list.appendChild(el('li', { class: 'day-sep' }, tr('console.no_messages_yet')));
    if (forceBottom || nearBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  function authorLabel(m) {
    const a = m.author || {};
    if (a.name) return a.name;
    if (a.kind === 'bot') return tr('console.bot');
    if (a.kind === 'operator') return operatorName(a.id) || tr('console.operator');
    if (a.kind === 'system') return tr('console.system');
    if (m.direction === 'inbound') {
      const c = S.convs.get(m.conversation_id);
      return (c && c.contact_name) || tr('console.customer');
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
    const authorKind = (m.author && typeof m.author.kind === 'string') ? m.author.kind : '';
    const bot = authorKind === 'bot';
    const bubble = el('div', { class: 'msg-bubble' },
      isNote ? el('div', { class: 'msg-note-label' }, bot ? tr('console.private_note_by_the_bot') : tr('console.private_note')) : null,
      P.renderParts(m, media));
    const more = foldable(bubble, m);
    return el('li', {
      class: bot ? `${cls} msg-bot` : cls,
      'data-testid': 'message',
      'data-id': m.id || '',
      'data-client-id': m.client_id || null,
      'data-direction': dir,
      'data-kind': isNote ? 'note' : (m.kind || 'message'),
      'data-status': status,
      'data-author-kind': authorKind || null,
    },
    bubble,
    more,
    ownStatus && status === 'failed' ? renderFailure(m) : null,
    el('div', { class: 'msg-meta' },
      bot ? el('span', { class: 'msg-bot-badge', 'data-testid': 'message-bot-badge', title: tr('console.written_by_the_bot') }, tr('console.bot')) : null,
      bot && /^(bot|бот)$/i.test(authorLabel(m)) ? null : el('span', { class: 'msg-author' }, authorLabel(m)),
      meta.reply_to ? el('span', { class: 'msg-flag', 'data-testid': 'message-reply', title: tr('console.a_reply_to_message', { reply_to: meta.reply_to }) }, tr('console.reply')) : null,
      meta.edit_of ? el('span', { class: 'msg-flag', 'data-testid': 'message-edited', title: tr('console.an_edit_of_message', { edit_of: meta.edit_of }) }, tr('console.edited')) : null,
      el('time', { class: 'msg-time', datetime: m.created_at || '' }, clockTime(m.created_at)),
      ownStatus ? el('span', { class: `msg-status msg-status-${status}`, 'data-testid': 'message-status' },
        STATUS_TEXT[status] || status) : null));
  }

  const STATUS_TEXT = {
    pending: tr('console.sending'), sent: tr('console.sent'), delivered: tr('console.delivered'), read: tr('console.read'), failed: tr('console.failed'),
  };

  /** Not delivered: the reason (a sentence from the server or the channel) where it is seen. */
  function renderFailure(m) {
    return el('div', { class: 'msg-failure', role: 'note' },
      el('span', { class: 'msg-failure-icon', 'aria-hidden': 'true' }, '!'),
      el('div', { class: 'msg-failure-body' },
        el('strong', null, tr('console.not_delivered')),
        el('span', { class: 'msg-error', 'data-testid': 'message-error' }, m.error || tr('console.the_message_could_not_be_delivered')),
        m.local ? el('span', { class: 'msg-failure-actions' },
          el('button', { class: 'link-btn', type: 'button', onclick: () => retryOutbox(m.client_id) }, tr('console.retry')),
          el('button', { class: 'link-btn', type: 'button', onclick: () => discardOutbox(m.client_id) }, tr('console.discard'))) : null));
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
    setText($('composer-send'), mode === 'note' ? tr('console.add_note') : tr('console.send'));
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
      if (buttons.length) showComposerError(tr('console.buttons_go_with_a_message_write'));
      return;
    }
    if (attachments.some((a) => !a.media)) {
      showComposerError(tr('console.wait_until_the_files_are_uploaded'));
      return;
    }
    if (buttons.length && !text.trim()) {
      showComposerError(tr('console.buttons_go_with_a_message_write'));
      return;
    }
    if (new TextEncoder().encode(text).length > 65536) {
      showComposerError(tr('console.the_message_is_too_long_64'));
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
      showComposerError(entry && entry.state === 'ok' ? tr('console.no_template_to_send') : tr('console.the_templates_are_not_loaded_yet'));
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
      showComposerError(tr('console.at_most_files_go_in_one', { MAX_ATTACHMENTS }));
      return;
    }
    if (file.size > MAX_UPLOAD_BYTES) {
      showComposerError(tr('console.file_too_large', { name: file.name, size: formatSize(file.size) }));
      return;
    }
    if (!file.size) {
      showComposerError(tr('console.is_empty', { name: file.name }));
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
      if (!data.media || typeof data.media.key !== 'string') throw new Error(tr('console.the_server_did_not_return_the'));
      a.media = data.media;
      a.state = 'ready';
    } catch (e) {
      if (!S.attachments.includes(a) || e.code === 'aborted') return;
      removeAttachment(a.id);
      const why = e.status === 413 || e.code === 'too_large'
        ? tr('console.upload_too_large', { reason: e.message || tr('console.files_are_limited') }) : (e.message || tr('console.upload_failed'));
      showComposerError(tr('console.was_not_attached', { name: file.name, why }));
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
      showComposerError(tr('console.at_most_buttons_go_in_one', { MAX_BUTTONS }));
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
    if (!title) return fail(tr('console.give_the_button_a_title'), 'button-title');
    if (title.length > MAX_BUTTON_TITLE) return fail(tr('console.a_button_title_is_at_most', { MAX_BUTTON_TITLE }), 'button-title');
    if (url && !/^https?:\/\/[^\s]+$/i.test(url)) return fail(tr('console.a_link_starts_with_https_or'), 'button-url');
    if (url.length > MAX_BUTTON_URL) return fail(tr('console.a_link_is_at_most_characters', { MAX_BUTTON_URL }), 'button-url');
    if (S.buttons.length >= MAX_BUTTONS) return fail(tr('console.at_most_buttons_go_in_one', { MAX_BUTTONS }), 'button-title');
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
          : el('span', { class: 'chip-kind' }, tr(`parts.${P.partTypeOfMime(a.type)}`)),
        el('span', { class: 'chip-name' }, a.name),
        el('span', { class: 'chip-note' }, a.state === 'uploading' ? tr('console.uploading') : formatSize(a.size)),
        el('button', { class: 'chip-remove', type: 'button', 'aria-label': tr('console.remove_name', { name: a.name }), title: tr('console.remove'), onclick: () => removeAttachment(a.id) }, '×')));
    }
    S.buttons.forEach((b, i) => {
      buttons.appendChild(el('li', { class: 'chip chip-button', 'data-testid': 'composer-button', 'data-kind': b.url ? 'url' : 'reply' },
        el('span', { class: 'chip-kind' }, b.url ? tr('console.link') : tr('console.reply_2')),
        el('span', { class: 'chip-name' }, b.title),
        b.url ? el('span', { class: 'chip-note chip-url' }, b.url) : null,
        el('button', { class: 'chip-remove', type: 'button', 'aria-label': tr('console.remove_button', { title: b.title }), title: tr('console.remove'), onclick: () => removeButton(i) }, '×')));
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

  /** Take the open waiting conversation (conversation.claim); a refusal (someone was
   * faster, no free capacity) is shown with the server's reason. */
  function claimCurrent() {
    const id = S.currentId;
    if (!id) return;
    const button = $('btn-claim');
    hideComposerError();
    button.disabled = true;
    const done = () => { button.disabled = false; };
    const sent = command({ type: 'conversation.claim', conversation_id: id }, {
      conversationId: id,
      onAck: done,
      onError: (f) => {
        done();
        if (S.currentId === id) showComposerError(tr('console.take_failed', { error: f.message || f.code || '' }), f.code);
      },
    });
    if (!sent) { done(); showComposerError(tr('console.not_connected_try_again_when_the')); }
  }

  function conversationCommand(type) {
    const id = S.currentId;
    if (!id) return;
    if (!request({ type, conversation_id: id }, { conversationId: id })) {
      showComposerError(tr('console.not_connected_try_again_when_the'));
    }
  }

  // ---------------------------------------------------------------- routing: commands with their own UI

  /**
   * Sends a command whose answer goes to callbacks (not to the composer): onAck(frame),
   * onError({code, message}). No answer within COMMAND_TIMEOUT_MS (the socket died and the
   * stream was not resumed) counts as an error. false when not connected.
   */
  function command(frame, meta) {
    const requestId = request(frame, meta);
    const req = requestId ? S.requests.get(requestId) : null;
    if (!req) return false;
    req.timer = setTimeout(() => {
      if (S.requests.get(requestId) !== req) return;
      S.requests.delete(requestId);
      req.onError({ code: 'timeout', message: tr('console.no_answer_from_the_server_check') });
    }, COMMAND_TIMEOUT_MS);
    return true;
  }

  function resetRouting() {
    for (const entry of S.offers.values()) entry.node.remove();
    S.offers.clear();
    S.offersEnded.clear();
    renderOfferSection();
    S.alerts = [];
    renderAlerts();
    S.queues = null;
    S.queuesError = '';
    S.queuesAt = 0;
    S.skew = 0;
    S.skewFresh = false;
    S.replayUntil = 0;
    showQueues(false);
    for (const id of ['transfer-dialog', 'why-dialog']) if ($(id).open) $(id).close();
  }

  // Server time ------------------------------------------------------------------

  /**
   * A time the server stamped on a live frame. Each sample is the server's clock minus
   * ours, less the frame's travel time, so the largest sample of a connection is the best
   * guess of the offset; replayed frames (old times) are skipped. Before any sample the
   * console uses its own clock.
   */
  function noteServerTime(iso, seq) {
    const t = tsOf(iso);
    if (!t) return;
    if (typeof seq === 'number' && seq <= S.replayUntil) return;
    const sample = t - Date.now();
    if (!S.skewFresh || sample > S.skew) {
      S.skew = sample;
      S.skewFresh = true;
    }
  }

  const serverNow = () => Date.now() + S.skew;

  function fullTime(value) {
    const t = tsOf(value);
    if (!t) return '—';
    const d = new Date(t);
    const time = d.toLocaleTimeString(I18N.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return d.toDateString() === new Date().toDateString()
      ? time : `${d.toLocaleDateString(I18N.locale, { day: 'numeric', month: 'short' })} ${time}`;
  }

  // Offers -----------------------------------------------------------------------

  function validOffer(o) {
    return !!o && typeof o === 'object' && typeof o.conversation_id === 'string' && !!tsOf(o.expires_at);
  }

  function onOfferCreated(f) {
    const offer = f.offer;
    if (!validOffer(offer)) return;
    noteServerTime(offer.offered_at, f.seq);   // a lower bound of the server's "now"
    if (f.conversation && f.conversation.id) upsertConversation(f.conversation);
    if (!S.offers.has(offer.conversation_id)) alertNew('offer', f.conversation || { id: offer.conversation_id }, f.seq);
    putOffer(offer);
  }

  function putOffer(offer) {
    const id = offer.conversation_id;
    let entry = S.offers.get(id);
    if (!entry) {
      entry = { offer, addedAt: Date.now(), busy: false, goneAt: 0 };
      S.offers.set(id, entry);
      buildOffer(entry);
    } else {
      entry.offer = offer;
      entry.goneAt = 0;
      fillOffer(entry);
    }
    placeOffers();
    tickOffers();
  }

  function dropOffer(id) {
    const entry = S.offers.get(id);
    if (!entry) return;
    S.offers.delete(id);
    S.offersEnded.set(id, Date.now());
    if (S.offersEnded.size > 200) S.offersEnded.delete(S.offersEnded.keys().next().value);
    entry.node.remove();
    renderOfferSection();
  }

  /** One offer's nodes, built once: the countdown ticks without rebuilding the buttons. */
  function buildOffer(entry) {
    const id = entry.offer.conversation_id;
    entry.name = el('button', {
      class: 'offer-name', type: 'button', 'data-testid': 'offer-contact', title: tr('console.open_the_conversation'),
      onclick: () => openConversation(id),
    });
    entry.kind = el('span', { class: 'badge badge-kind' });
    entry.countdown = el('span', { class: 'offer-countdown', 'data-testid': 'offer-countdown', 'aria-hidden': 'true' });
    entry.queue = el('div', { class: 'offer-queue', 'data-testid': 'offer-queue' });
    entry.preview = el('div', { class: 'offer-preview', 'data-testid': 'offer-preview' });
    // Said once by screen readers (the ticking countdown is hidden from them).
    const secs = Math.max(0, Math.ceil((tsOf(entry.offer.expires_at) - serverNow()) / 1000));
    entry.spoken = el('span', { class: 'visually-hidden' }, tr('console.new_conversation_offered_to_you_seconds', { secs }));
    entry.progress = el('progress', { class: 'offer-progress', max: 1000, value: 1000, 'aria-hidden': 'true' });
    entry.error = el('div', { class: 'offer-error', 'data-testid': 'offer-error', hidden: true });
    entry.accept = el('button', { class: 'btn btn-primary', type: 'button', 'data-testid': 'offer-accept', onclick: () => acceptOffer(id) }, tr('console.accept'));
    entry.decline = el('button', { class: 'btn', type: 'button', 'data-testid': 'offer-decline', onclick: () => declineOffer(id) }, tr('console.decline'));
    entry.node = el('li', { class: 'offer-item', 'data-testid': 'offer', 'data-conversation-id': id, role: 'alert' },
      el('div', { class: 'offer-row' }, entry.name, entry.kind, entry.countdown),
      entry.queue, entry.preview, entry.spoken, entry.progress, entry.error,
      el('div', { class: 'offer-actions' }, entry.accept, entry.decline));
    fillOffer(entry);
  }

  function fillOffer(entry) {
    const o = entry.offer;
    const name = o.contact_name || tr('console.unknown_contact');
    setText(entry.name, name);
    setText(entry.kind, P.channelLabel(o.channel_kind));
    entry.kind.dataset.kind = o.channel_kind || '';
    setText(entry.queue, o.queue_name ? tr('console.queue', { queue_name: o.queue_name }) : '');
    setText(entry.preview, o.preview || '');
    entry.accept.disabled = entry.busy || !!entry.goneAt;
    entry.decline.disabled = entry.busy || !!entry.goneAt;
    entry.node.classList.toggle('is-busy', entry.busy);
  }

  /** Soonest to expire first. */
  function placeOffers() {
    const list = $('offer-list');
    const sorted = Array.from(S.offers.values()).sort((a, b) => tsOf(a.offer.expires_at) - tsOf(b.offer.expires_at));
    sorted.forEach((entry, i) => {
      if (list.children[i] !== entry.node) list.insertBefore(entry.node, list.children[i] || null);
    });
    renderOfferSection();
  }

  function renderOfferSection() {
    $('offers-section').hidden = S.offers.size === 0;
    setText($('count-offers'), S.offers.size);
    renderTitle();
  }

  function tickOffers() {
    if (!S.offers.size) return;
    const now = serverNow();
    for (const [id, entry] of Array.from(S.offers)) {
      const o = entry.offer;
      const left = tsOf(o.expires_at) - now;
      if ((left <= 0 && !entry.busy) || (entry.goneAt && Date.now() >= entry.goneAt)) {
        dropOffer(id);
        continue;
      }
      const secs = Math.max(0, Math.ceil(left / 1000));
      if (entry.countdown.dataset.seconds !== String(secs)) {
        entry.countdown.dataset.seconds = String(secs);
        setText(entry.countdown, tr('console.seconds_short', { n: secs }));
        entry.countdown.title = tr('console.seconds_left_to_accept', { secs });
      }
      entry.countdown.dataset.urgent = String(left <= OFFER_URGENT_MS);
      const total = tsOf(o.expires_at) - tsOf(o.offered_at);
      entry.progress.value = total > 0 ? Math.max(0, Math.min(1000, Math.round((left / total) * 1000))) : 0;
    }
  }

  async function loadOffers() {
    const mySeq = S.bootSeq;
    const started = Date.now();
    let data;
    try {
      data = await api('GET', '/api/v1/offers');
    } catch (_) {
      return;   // a server without routing, or a hiccup: offers still come over the socket
    }
    if (mySeq !== S.bootSeq) return;
    const fresh = new Set();
    for (const o of Array.isArray(data.offers) ? data.offers : []) {
      if (!validOffer(o)) continue;
      // Ended while this request was under way: the snapshot is older than offer.ended.
      if ((S.offersEnded.get(o.conversation_id) || 0) >= started) continue;
      fresh.add(o.conversation_id);
      putOffer(o);
    }
    // Gone meanwhile, unless it came live after this request left.
    for (const [id, entry] of Array.from(S.offers)) {
      if (!fresh.has(id) && !entry.busy && entry.addedAt < started) dropOffer(id);
    }
  }

  function setOfferBusy(entry, busy, error) {
    entry.busy = busy;
    entry.error.hidden = !error;
    setText(entry.error, error || '');
    fillOffer(entry);
  }

  function offerRefused(id, f) {
    const entry = S.offers.get(id);
    if (!entry) return;
    const gone = f.code === 'conflict' || f.code === 'not_found' || f.code === 'invalid_transition';
    if (gone) entry.goneAt = Date.now() + OFFER_ERROR_SHOWN_MS;
    setOfferBusy(entry, false, f.message || f.code || tr('console.the_server_refused'));
  }

  function acceptOffer(id) {
    const entry = S.offers.get(id);
    if (!entry || entry.busy || entry.goneAt) return;
    setOfferBusy(entry, true);
    const sent = command({ type: 'offer.accept', conversation_id: id }, {
      onAck: () => {
        dropOffer(id);
        openConversation(id);
      },
      onError: (f) => offerRefused(id, f),
    });
    if (!sent) setOfferBusy(entry, false, tr('console.not_connected_try_again_when_the'));
  }

  function declineOffer(id) {
    const entry = S.offers.get(id);
    if (!entry || entry.busy || entry.goneAt) return;
    setOfferBusy(entry, true);
    const sent = command({ type: 'offer.decline', conversation_id: id }, {
      onAck: () => dropOffer(id),
      onError: (f) => offerRefused(id, f),
    });
    if (!sent) setOfferBusy(entry, false, tr('console.not_connected_try_again_when_the'));
  }

  // Alerts -----------------------------------------------------------------------

  function onRoutingAlert(f) {
    const a = f.alert;
    if (!a || typeof a !== 'object' || typeof a.conversation_id !== 'string') return;
    if (f.conversation && f.conversation.id && canSee(f.conversation)) upsertConversation(f.conversation);
    const key = `${a.kind}:${a.target}:${a.conversation_id}`;
    S.alerts = S.alerts.filter((x) => x.key !== key);
    S.alerts.unshift({ key, alert: a, conversation: f.conversation || null });
    if (S.alerts.length > MAX_ALERTS) S.alerts.length = MAX_ALERTS;
    renderAlerts();
  }

  /** The server disabled a failing webhook (docs/webhooks.md): an alert beside the routing
   *  ones, until dismissed. Only the URL's host travels in the frame. */
  function onWebhookDisabled(f) {
    const w = f.webhook;
    if (!w || typeof w !== 'object' || typeof w.id !== 'string') return;
    const key = `webhook:${w.id}`;
    S.alerts = S.alerts.filter((x) => x.key !== key);
    S.alerts.unshift({ key, webhook: w });
    if (S.alerts.length > MAX_ALERTS) S.alerts.length = MAX_ALERTS;
    renderAlerts();
  }

  function webhookAlertItem(key, w) {
    return el('li', {
      class: 'alert-item', 'data-testid': 'routing-alert', 'data-kind': 'webhook_disabled',
      title: w.at ? tr('console.alert_raised', { time: fullTime(w.at) }) : null,
    },
    el('span', { class: 'alert-text' },
      el('span', { class: 'alert-kind' }, tr('webhooks.disabled', { host: String(w.host || '') })),
      ` — ${tr('webhooks.failed_attempts', { count: String(w.failures || 0) })}`),
    el('button', { class: 'alert-dismiss', type: 'button', 'data-testid': 'alert-dismiss', 'aria-label': tr('console.dismiss'), title: tr('console.dismiss'), onclick: () => dismissAlert(key) }, '×'));
  }

  function dismissAlert(key) {
    S.alerts = S.alerts.filter((x) => x.key !== key);
    renderAlerts();
  }

  function renderAlerts() {
    const list = $('alert-list');
    clear(list);
    for (const entry of S.alerts) {
      const { key, alert: a, conversation } = entry;
      if (entry.webhook) {
        list.appendChild(webhookAlertItem(key, entry.webhook));
        continue;
      }
      const c = S.convs.get(a.conversation_id) || conversation || {};
      const who = a.operator_id && isSuper() && !(S.me && a.operator_id === S.me.id)
        ? tr('console.alert_assignee', { name: operatorName(a.operator_id) || tr('console.another_operator') }) : '';
      const details = [
        a.queue_name ? tr('console.alert_queue', { name: a.queue_name }) : '',
        c.contact_name || '',
        a.due_at ? tr('console.alert_due', { time: clockTime(a.due_at) }) : '',
        who,
      ].filter(Boolean).join(' · ');
      list.appendChild(el('li', {
        class: 'alert-item', 'data-testid': 'routing-alert', 'data-kind': a.kind || '', 'data-target': a.target || '',
        'data-conversation-id': a.conversation_id, title: a.at ? tr('console.alert_raised', { time: fullTime(a.at) }) : null,
      },
      el('span', { class: 'alert-text' },
        el('span', { class: 'alert-kind' }, P.alertLabel(a.kind, a.target)),
        details ? ` — ${details}` : ''),
      el('button', { class: 'link-btn', type: 'button', 'data-testid': 'alert-open', onclick: () => openConversation(a.conversation_id) },
        tr('console.open_conversation')),
      el('button', { class: 'alert-dismiss', type: 'button', 'data-testid': 'alert-dismiss', 'aria-label': tr('console.dismiss'), title: tr('console.dismiss'), onclick: () => dismissAlert(key) }, '×')));
    }
    list.hidden = !S.alerts.length;
  }

  // Queues (supervisors) -----------------------------------------------------------

  /** GET /api/v1/queues into S.queues; one load at a time. */
  function loadQueues() {
    if (S.queuesLoading) return S.queuesLoading;
    const mySeq = S.bootSeq;
    S.queuesLoading = (async () => {
      try {
        const data = await api('GET', '/api/v1/queues');
        if (mySeq !== S.bootSeq) return;
        S.queues = (Array.isArray(data.queues) ? data.queues : []).filter((q) => q && typeof q.id === 'string');
        S.queuesAt = Date.now();
        S.queuesError = '';
      } catch (e) {
        if (mySeq !== S.bootSeq) return;
        S.queuesError = e.message;
      } finally {
        S.queuesLoading = null;
      }
      renderQueues();
      if (S.view === 'bots') fillBotScopes();
      // Visibility and taking by hand depend on the queues (takeState, canSee).
      renderLists();
      if (S.currentId) renderHeader();
    })();
    return S.queuesLoading;
  }

  /** loadQueues, at most every few seconds (for hints that the queues changed). */
  function refreshQueuesSoon() {
    if (Date.now() - S.queuesAt < QUEUES_HINT_MS) return;
    S.queuesAt = Date.now();
    loadQueues();
  }

  function queueName(id) {
    if (!id) return '—';
    const q = (S.queues || []).find((x) => x.id === id || x.name === id);
    return q ? q.name : tr('console.queue_short_id', { id: id.slice(0, 8) });
  }

  function showQueues(show) {
    const on = !!show && isSuper();
    S.view = on ? 'queues' : 'conversation';
    if (on || !S.currentId) showPane(on ? 'conv' : 'list');
    $('queues-btn').setAttribute('aria-pressed', String(on));
    clearInterval(S.queuesTimer);
    S.queuesTimer = null;
    subscribeDashboard(on);
    if (on) {
      renderQueues();
      loadQueues();   // the settings column, and the first paint before the first frame
      // The numbers come live (`dashboard` frames); the longest waits tick here.
      S.queuesTimer = setInterval(() => InboxDashboard.tick($('queues-view'), serverNow()), 1000);
    }
    renderConversation();
  }

  /** dashboard.subscribe (or unsubscribe) over the socket; onAuthOk subscribes again. */
  function subscribeDashboard(on) {
    if (!on) {
      if (S.dashSubscribed) send({ type: 'dashboard.unsubscribe' });
      S.dashSubscribed = false;
      S.dash = null;
      return;
    }
    if (S.dashSubscribed) return;
    command({ type: 'dashboard.subscribe' }, {
      onAck: () => { S.dashSubscribed = S.view === 'queues'; if (!S.dashSubscribed) send({ type: 'dashboard.unsubscribe' }); },
      onError: (e) => { S.queuesError = e.message || e.code; renderQueues(); },
    });
  }

  /** A `dashboard` frame: the tiles, and the table's live numbers by queue id. */
  function onDashboard(doc) {
    if (!doc || typeof doc !== 'object' || S.view !== 'queues') return;
    S.dash = doc;
    S.queuesAt = Date.now();
    S.queuesError = '';
    renderQueues();
  }

  /** The live numbers of queue `id` from the last frame, as the table shows them. */
  function dashQueue(id) {
    const rows = S.dash && Array.isArray(S.dash.queues) ? S.dash.queues : [];
    return rows.find((q) => q && q.id === id) || null;
  }

  const STRATEGY_LABELS = {
    least_loaded: tr('console.least_loaded'), longest_idle: tr('console.longest_idle'), round_robin: tr('console.round_robin'), ring_all: tr('console.ring_all'),
  };

  function queueSettingsText(settings) {
    const st = settings && typeof settings === 'object' ? settings : {};
    const out = [];
    const strategy = typeof st.strategy === 'string' ? st.strategy.replace(/-/g, '_') : 'least_loaded';
    out.push(STRATEGY_LABELS[strategy] || strategy.replace(/_/g, ' '));
    out.push(typeof st.accept_timeout === 'number' ? tr('console.offers_s_to_accept', { n: P.formatNumber(st.accept_timeout) }) : tr('console.assigns_directly'));
    if (st.allow_pick === false) out.push(tr('console.no_picking_by_hand'));
    out.push(Array.isArray(st.members) && st.members.length ? I18N.tn('console.n_members', st.members.length) : tr('console.every_operator'));
    if (st.skills && typeof st.skills === 'object' && Object.keys(st.skills).length) {
      out.push(tr('console.skills_list', { list: Object.entries(st.skills).map(([k, v]) => `${k}≥${v}`).join(', ') }));
    } else if (typeof st.skills === 'string' && st.skills) out.push(tr('console.skills_list', { list: st.skills }));
    if (Array.isArray(st.channels) && st.channels.length) out.push(I18N.tn('console.n_channels', st.channels.length));
    if (st.sla && typeof st.sla === 'object' && Object.keys(st.sla).length) out.push(tr('console.sla'));
    if (typeof st.response_timeout === 'number') out.push(tr('console.answer_within_s', { n: P.formatNumber(st.response_timeout) }));
    return out.join(' · ');
  }

  function waitText(seconds, waiting) {
    if (!waiting || typeof seconds !== 'number') return '—';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return tr('console.seconds_short', { n: s });
    if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    return tr('console.hours_minutes', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }

  function renderQueues() {
    if (S.view !== 'queues') return;
    const body = $('queues-body');
    const err = $('queues-error');
    err.hidden = !S.queuesError;
    setText(err, S.queuesError ? tr('console.could_not_load_the_queues', { queuesError: S.queuesError }) : '');
    setText($('queues-updated'), S.queuesAt
      ? tr('console.updated_at', { time: new Date(S.queuesAt).toLocaleTimeString(I18N.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) })
      : tr('console.loading'));
    InboxDashboard.render($('dash-tiles'), S.dash, serverNow());
    clear(body);
    if (!S.queues) return;
    if (!S.queues.length) {
      body.appendChild(el('tr', null, el('td', { colspan: 9, class: 'queues-settings' }, tr('console.no_queues_yet'))));
      return;
    }
    for (const q of S.queues) {
      const live = dashQueue(q.id);
      const st = live
        ? { ...live, sla_breaches: live.breaches_open, longest_wait_seconds: InboxDashboard.waitedSeconds(live.longest_wait_since, serverNow()) }
        : (q.stats && typeof q.stats === 'object' ? q.stats : {});
      const n = (v) => (typeof v === 'number' ? P.formatNumber(v) : '—');
      const breaches = typeof st.sla_breaches === 'number' ? st.sla_breaches : 0;
      body.appendChild(el('tr', {
        'data-testid': 'queue-row', 'data-queue-id': q.id, 'data-waiting': n(st.waiting),
        class: breaches > 0 ? 'has-breach' : null,
      },
      el('th', { scope: 'row' }, q.name || q.id, q.is_default ? ' ' : null,
        q.is_default ? el('span', { class: 'badge', title: tr('console.conversations_of_channels_no_queue_lists') }, 'default') : null),
      el('td', { class: 'num', 'data-stat': 'waiting' }, n(st.waiting)),
      el('td', { class: 'num', 'data-stat': 'longest_wait', 'data-since': live && live.longest_wait_since ? live.longest_wait_since : null }, waitText(st.longest_wait_seconds, st.waiting)),
      el('td', { class: 'num', 'data-stat': 'offers' }, n(st.offers)),
      el('td', { class: 'num', 'data-stat': 'assigned' }, n(st.assigned)),
      el('td', { class: 'num', 'data-stat': 'members_online' }, n(st.members_online)),
      el('td', { class: 'num breaches', 'data-stat': 'sla_breaches' }, n(st.sla_breaches)),
      el('td', { class: 'num', 'data-stat': 'breaches_today' }, live ? n(live.breaches_today) : '—'),
      el('td', { class: 'queues-settings' }, queueSettingsText(q.settings))));
    }
  }

  // Bot & hours (supervisors) -----------------------------------------------------

  /** Every key of a flow's texts (bots/flow_defaults.py DEFAULT_TEXTS), in this order. */
  const BOT_TEXTS = [
    ['menu_prompt', tr('console.menu_prompt')],
    ['menu_operator', tr('console.menu_button_for_an_operator')],
    ['fallback', tr('console.not_understood')],
    ['handoff', tr('console.hand_off')],
    ['handoff_off_hours', tr('console.hand_off_out_of_hours')],
    ['ask_phone', tr('console.ask_for_the_phone')],
    ['bad_phone', tr('console.phone_not_understood')],
    ['ask_email', tr('console.ask_for_the_email')],
    ['bad_email', tr('console.email_not_understood')],
    ['ask_order_number', tr('console.ask_for_the_order_number')],
    ['bad_order_number', tr('console.order_number_not_understood')],
    ['csat_request', tr('console.rating_request')],
    ['csat_thanks', tr('console.thanks_for_the_rating')],
    ['csat_comment_prompt', tr('console.ask_for_a_comment')],
    ['chat_ended', tr('console.chat_ended')],
    ['bot_name', tr('console.bot_name')],
  ];
  const COLLECT_FIELDS = ['phone', 'email', 'order_number'];

  // Settings (static/settings.js): the page builds itself; this only switches views.
  function showSettings(show, section) {
    if (S.view === 'queues') showQueues(false);
    if (S.view === 'settings' && !show) window.InboxSettings.close();
    S.view = show ? 'settings' : 'conversation';
    if (show || !S.currentId) showPane(show ? 'conv' : 'list');
    if (show) {
      window.InboxSettings.open({
        api, me: () => S.me, close: () => showSettings(false), openBots: () => showBots(true),
        onCannedChanged: loadCanned, onReasonsChanged: loadCloseReasons,
      }, section);
    }
    renderConversation();
  }

  function showBots(show) {
    const on = !!show && isSuper();
    if (S.view === 'queues') showQueues(false);
    S.view = on ? 'bots' : 'conversation';
    if (on || !S.currentId) showPane(on ? 'conv' : 'list');
    if (on) {
      fillBotScopes();
      loadQueues();
      loadBotScopes();
      loadBots(S.botsScope);
    }
    renderConversation();
  }

  function fillBotScopes() {
    const select = $('bots-scope');
    clear(select);
    const mark = (scope) => (S.botsOwn.has(scope) ? tr('console.own_settings') : '');
    select.appendChild(el('option', { value: 'default' }, tr('console.scope_whole_inbox') + mark('default')));
    for (const q of S.queues || []) {
      select.appendChild(el('option', { value: q.id }, tr('console.scope_queue', { name: q.name || q.id }) + mark(q.id)));
    }
    if (!Array.from(select.options).some((o) => o.value === S.botsScope)) {
      select.appendChild(el('option', { value: S.botsScope }, queueName(S.botsScope)));
    }
    select.value = S.botsScope;
  }

  async function loadBotScopes() {
    const mySeq = S.bootSeq;
    try {
      const data = await api('GET', '/api/v1/bots');
      if (mySeq !== S.bootSeq) return;
      S.botsOwn = new Set((Array.isArray(data.scopes) ? data.scopes : [])
        .filter((x) => x && typeof x.scope === 'string' && (x.hours || x.flow)).map((x) => x.scope));
    } catch (_) {
      return;   // only the marks in the list are missing
    }
    if (S.view === 'bots') fillBotScopes();
  }

  function selectBotScope(scope) {
    S.botsScope = scope || 'default';
    loadBots(S.botsScope);
  }

  function botsState(state, text) {
    $('bots-view').dataset.state = state;
    setText($('bots-state'), text || '');
  }

  function showBotsError(which, text) {
    const node = $(`bots-${which}-error`);
    setText(node, text || '');
    node.hidden = !text;
    if (text) $(`bots-${which}-saved`).hidden = true;
  }

  async function loadBots(scope) {
    S.botsSeq += 1;
    const mine = S.botsSeq;
    const mySeq = S.bootSeq;
    botsState('loading', tr('console.loading'));
    $('bots-load-error').hidden = true;
    let data;
    try {
      data = await api('GET', `/api/v1/bots/${encodeURIComponent(scope)}`);
    } catch (e) {
      if (mine !== S.botsSeq || mySeq !== S.bootSeq) return;
      botsState('error', '');
      const err = $('bots-load-error');
      setText(err, e.status === 403 ? tr('console.only_supervisors_and_admins_manage_the')
        : tr('console.could_not_load_the_settings', { message: e.message }));
      err.hidden = false;
      return;
    }
    if (mine !== S.botsSeq || mySeq !== S.bootSeq) return;
    S.botsView = data;
    for (const which of ['hours', 'flow']) { showBotsError(which, ''); $(`bots-${which}-saved`).hidden = true; }
    renderBotStatus(data);
    fillHours(data);
    fillFlow(data);
    botsState('ready', '');
  }

  /** A server time in the schedule's own zone (what the supervisor set), else the browser's. */
  function zonedTime(iso, tz) {
    const t = tsOf(iso);
    if (!t) return '—';
    try {
      return `${new Date(t).toLocaleString(I18N.locale, {
        timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
      })} (${tz})`;
    } catch (_) {
      return fullTime(iso);
    }
  }

  function renderBotStatus(v) {
    const node = $('bots-status');
    const st = v && v.status && typeof v.status === 'object' ? v.status : {};
    const eff = v && v.hours_in_effect && typeof v.hours_in_effect === 'object' ? v.hours_in_effect : null;
    const tz = eff && typeof eff.tz === 'string' ? eff.tz : undefined;
    node.dataset.open = String(!!st.open_now);
    clear(node);
    let text;
    if (!eff) text = tr('console.open_now_no_business_hours_are');
    else if (st.open_now) text = st.closes_at ? tr('console.open_now_closes', { time: zonedTime(st.closes_at, tz) }) : tr('console.open_now');
    else text = st.next_open ? tr('console.closed_now_next_open', { time: zonedTime(st.next_open, tz) }) : tr('console.closed_now_no_opening');
    node.appendChild(el('span', { class: 'bots-status-text', 'data-testid': 'bots-open-now' }, text));
    if (eff && v.hours === null && v.scope !== 'default') {
      node.appendChild(el('span', { class: 'bots-hint' }, tr('console.the_whole_inbox_s_hours')));
    }
    if (st.next_open && st.open_now) {
      node.appendChild(el('span', { class: 'bots-hint', 'data-testid': 'bots-next-open' }, tr('console.next_open_suffix', { time: zonedTime(st.next_open, tz) })));
    }
  }

  function fillHours(v) {
    const own = v && v.hours && typeof v.hours === 'object' ? v.hours : null;
    const shown = own || (v && v.hours_in_effect && typeof v.hours_in_effect === 'object' ? v.hours_in_effect : null);
    $('bots-tz').value = shown && typeof shown.tz === 'string' ? shown.tz : '';
    $('bots-week').value = shown ? P.weekToText(shown.week) : '';
    $('bots-holidays').value = shown && Array.isArray(shown.holidays) ? shown.holidays.join(', ') : '';
    $('bots-exceptions').value = shown ? P.exceptionsToText(shown.exceptions) : '';
    const hint = $('bots-hours-inherit');
    let note = '';
    if (!own && shown) note = tr('console.this_queue_has_no_hours_of');
    else if (!own) note = tr('console.no_business_hours_yet_the_inbox');
    hint.hidden = !note;
    setText(hint, note);
    $('bots-remove-hours').hidden = !own;
  }

  function hoursDocument() {
    const doc = {
      tz: $('bots-tz').value.trim(),
      week: $('bots-week').value.trim(),
      holidays: P.splitList($('bots-holidays').value),
      exceptions: P.parseExceptions($('bots-exceptions').value),
    };
    if (!doc.tz) throw new Error(tr('console.give_the_time_zone_an_iana'));
    if (!doc.week) throw new Error(tr('console.give_the_weekly_hours_like_mon'));
    return doc;
  }

  async function saveHours(remove) {
    const scope = S.botsScope;
    let body = null;
    if (!remove) {
      try { body = hoursDocument(); } catch (e) { showBotsError('hours', e.message); return; }
    }
    await saveBots('hours', scope, body);
  }

  /** PUT hours or flow; a refusal (400) is shown by the form and nothing changes. */
  async function saveBots(which, scope, body) {
    const button = $(`bots-save-${which}`);
    const mySeq = S.bootSeq;
    button.disabled = true;
    showBotsError(which, '');
    $(`bots-${which}-saved`).hidden = true;
    let data;
    try {
      data = await api('PUT', `/api/v1/bots/${encodeURIComponent(scope)}/${which}`, body);
    } catch (e) {
      button.disabled = false;
      if (mySeq !== S.bootSeq || scope !== S.botsScope) return;
      showBotsError(which, e.status === 403 ? tr('console.only_supervisors_and_admins_manage_the') : e.message);
      return;
    }
    button.disabled = false;
    if (mySeq !== S.bootSeq || scope !== S.botsScope) return;
    S.botsView = data;
    renderBotStatus(data);
    if (which === 'hours') fillHours(data); else fillFlow(data);
    const saved = $(`bots-${which}-saved`);
    setText(saved, body === null ? tr('console.removed') : tr('console.saved_at', { time: new Date().toLocaleTimeString(I18N.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) }));
    saved.hidden = false;
    if (body === null) S.botsOwn.delete(scope); else S.botsOwn.add(scope);
    loadBotScopes();
    fillBotScopes();
  }

  function faqRow(entry) {
    const e = entry && typeof entry === 'object' ? entry : {};
    const row = el('li', { class: 'bots-faq-row', 'data-testid': 'bots-faq-row' },
      el('div', { class: 'bots-faq-fields' },
        el('input', { class: 'bots-faq-title', 'data-testid': 'bots-faq-title', placeholder: tr('console.title_a_menu_button_optional'), 'aria-label': tr('console.title'), autocomplete: 'off', maxlength: 100 }),
        el('textarea', { class: 'bots-faq-answer', 'data-testid': 'bots-faq-answer', rows: 2, placeholder: tr('console.answer'), 'aria-label': tr('console.answer') }),
        el('input', { class: 'bots-faq-keywords', 'data-testid': 'bots-faq-keywords', placeholder: tr('console.keywords_comma_separated'), 'aria-label': tr('console.keywords'), autocomplete: 'off' })),
      el('button', { class: 'chip-remove', type: 'button', 'data-testid': 'bots-faq-remove', title: tr('console.remove_the_entry'), 'aria-label': tr('console.remove_the_entry'), onclick: () => row.remove() }, '×'));
    // Values as properties: they are whatever was typed, never markup.
    row.querySelector('.bots-faq-title').value = typeof e.title === 'string' ? e.title : '';
    row.querySelector('.bots-faq-answer').value = typeof e.answer === 'string' ? e.answer : '';
    row.querySelector('.bots-faq-keywords').value = Array.isArray(e.keywords) ? e.keywords.join(', ') : '';
    return row;
  }

  function fillFlow(v) {
    const f = v && v.flow && typeof v.flow === 'object' ? v.flow : null;
    const texts = f && f.texts && typeof f.texts === 'object' ? f.texts : {};
    $('bots-language').value = f && f.language === 'en' ? 'en' : 'ru';
    $('bots-enabled').checked = f ? f.enabled !== false : true;
    $('bots-menu').checked = f ? f.menu !== false : true;
    $('bots-greeting').value = f && typeof f.greeting === 'string' ? f.greeting : '';
    $('bots-off-hours').value = f && typeof f.off_hours === 'string' ? f.off_hours : '';
    $('bots-handoff').value = f && Array.isArray(f.handoff) ? f.handoff.join(', ') : '';
    const faq = $('bots-faq');
    clear(faq);
    for (const entry of f && Array.isArray(f.faq) ? f.faq : []) faq.appendChild(faqRow(entry));
    S.botsCollect = new Map();
    const asked = new Set();
    for (const step of f && Array.isArray(f.collect) ? f.collect : []) {
      const field = typeof step === 'string' ? step : step && step.field;
      if (!COLLECT_FIELDS.includes(field)) continue;
      asked.add(field);
      // Keep prompts the flow file set apart from its texts (the form has no field for them).
      if (step && typeof step === 'object' && (step.prompt !== texts[`ask_${field}`] || step.retry !== texts[`bad_${field}`])) {
        S.botsCollect.set(field, { prompt: step.prompt, retry: step.retry });
      }
    }
    for (const box of document.querySelectorAll('input[name="bots-collect"]')) box.checked = asked.has(box.value);
    const box = $('bots-texts');
    clear(box);
    const keys = BOT_TEXTS.slice();
    for (const key of Object.keys(texts)) if (!keys.some(([k]) => k === key)) keys.push([key, key.replace(/_/g, ' ')]);
    for (const [key, label] of keys) {
      const area = el('textarea', { 'data-testid': `bots-text-${key}`, 'data-key': key, rows: 2, placeholder: tr('console.the_language_s_default') });
      area.value = typeof texts[key] === 'string' ? texts[key] : '';
      box.appendChild(el('label', { class: 'dialog-field' }, el('span', null, label, el('code', { class: 'bots-key' }, key)), area));
    }
    const none = $('bots-flow-none');
    const note = f ? '' : tr(S.botsScope === 'default' ? 'console.no_bot_inbox' : 'console.no_bot_queue');
    none.hidden = !note;
    setText(none, note);
    $('bots-remove-flow').hidden = !f;
  }

  function flowDocument() {
    const doc = {
      language: $('bots-language').value,
      enabled: $('bots-enabled').checked,
      menu: $('bots-menu').checked,
    };
    const greeting = $('bots-greeting').value.trim();
    if (greeting) doc.greeting = greeting;
    const offHours = $('bots-off-hours').value.trim();
    if (offHours) doc.off_hours = offHours;
    doc.faq = [];
    for (const row of $('bots-faq').querySelectorAll('.bots-faq-row')) {
      const title = row.querySelector('.bots-faq-title').value.trim();
      const answer = row.querySelector('.bots-faq-answer').value.trim();
      const keywords = P.splitList(row.querySelector('.bots-faq-keywords').value);
      if (!title && !answer && !keywords.length) continue;   // an empty row is no entry
      const entry = { answer, keywords };
      if (title) entry.title = title;
      doc.faq.push(entry);
    }
    const handoff = P.splitList($('bots-handoff').value);
    if (handoff.length) doc.handoff = handoff;
    doc.collect = [];
    for (const boxNode of document.querySelectorAll('input[name="bots-collect"]')) {
      if (!boxNode.checked) continue;
      const custom = S.botsCollect.get(boxNode.value);
      doc.collect.push(custom ? Object.assign({ field: boxNode.value }, custom) : boxNode.value);
    }
    const texts = {};
    for (const area of $('bots-texts').querySelectorAll('textarea[data-key]')) {
      const value = area.value.trim();
      if (value) texts[area.dataset.key] = value;
    }
    if (Object.keys(texts).length) doc.texts = texts;
    return doc;
  }

  async function saveFlow(remove) {
    await saveBots('flow', S.botsScope, remove ? null : flowDocument());
  }

  // Customer tags ------------------------------------------------------------------

  const tagsOf = new Map();   // conversation id -> the customer's tags

  async function loadTags(id) {
    try {
      const data = await api('GET', `/api/v1/conversations/${encodeURIComponent(id)}/contact`);
      tagsOf.set(id, (data.contact && data.contact.tags) || []);
    } catch (_) {
      tagsOf.set(id, []);
    }
    if (S.currentId === id) renderTags(id);
  }

  function renderTags(id) {
    const box = $('conv-tags');
    box.replaceChildren();
    for (const tag of tagsOf.get(id) || []) {
      const badge = document.createElement('span');
      badge.className = 'badge badge-tag';
      badge.textContent = tag;   // typed by an operator, but text all the same
      box.append(badge);
    }
  }

  function closeTags() {
    $('tags-form').hidden = true;
    $('tags-error').hidden = true;
  }

  function openTags() {
    const id = S.currentId;
    if (!id) return;
    $('tags-input').value = (tagsOf.get(id) || []).join(', ');
    $('tags-error').hidden = true;
    $('tags-form').hidden = false;
    $('tags-input').focus();
  }

  async function saveTags(ev) {
    ev.preventDefault();
    const id = S.currentId;
    if (!id) return;
    const tags = $('tags-input').value.split(',').map((t) => t.trim()).filter(Boolean);
    try {
      const data = await api('PUT', `/api/v1/conversations/${encodeURIComponent(id)}/contact/tags`, { tags });
      tagsOf.set(id, (data.contact && data.contact.tags) || []);
      renderTags(id);
      closeTags();
    } catch (e) {
      const err = $('tags-error');
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  // Customer satisfaction (the bot asks after a resolve) -----------------------------

  const csatOf = new Map();   // conversation id -> null | {rating, comment, at}

  function validCsat(v) {
    return v && typeof v === 'object' && typeof v.rating === 'number' ? v : null;
  }

  async function loadCsat(id) {
    const mySeq = S.bootSeq;
    try {
      const data = await api('GET', `/api/v1/conversations/${encodeURIComponent(id)}`);
      if (mySeq !== S.bootSeq) return;
      const c = data.conversation || {};
      // A live csat.received that came meanwhile is at least as new as this answer.
      if (!csatOf.get(id)) csatOf.set(id, validCsat(c.csat));
    } catch (_) {
      return;   // the header simply shows no rating
    }
    if (S.currentId === id) renderCsat(id);
  }

  function onCsatReceived(f) {
    if (typeof f.conversation_id !== 'string') return;
    csatOf.set(f.conversation_id, validCsat(f.csat));
    if (S.currentId === f.conversation_id) renderCsat(f.conversation_id);
  }

  function renderCsat(id) {
    const node = $('conv-csat');
    const csat = csatOf.get(id) || null;
    node.hidden = !csat;
    if (!csat) { setText(node, ''); node.removeAttribute('data-rating'); node.title = ''; return; }
    const rating = Math.max(0, Math.min(5, Math.round(csat.rating)));
    node.dataset.rating = String(csat.rating);
    const comment = typeof csat.comment === 'string' ? csat.comment.trim() : '';
    // The comment is the customer's words: text only.
    setText(node, tr(comment ? 'console.csat_comment' : 'console.csat', { stars: '★'.repeat(rating) + '☆'.repeat(5 - rating), rating: csat.rating, comment }));
    node.title = tr('console.customer_rating') + (csat.at ? `, ${fullTime(csat.at)}` : '') + (comment ? `: ${comment}` : '');
  }

  // Orders and payment links ------------------------------------------------------
  //
  // The panel beside the chat lists the open conversation's orders and edits them over
  // REST (operator_ws/rest/orders.py); order.updated frames keep it live. Money is exact:
  // decimal strings from the server, BigInt minor units here (console-parts.js, "money").
  // Everything shown (line names, SKUs, external ids, tracking numbers, the payment URL)
  // goes in as text or a plain attribute.

  const ORDERS_SHOWN_KEY = 'inbox.ordersPanel';
  // The server's limits (payments/orders.py).
  const MAX_ORDER_LINES = 100;
  const MAX_LINE_NAME = 200;
  const MAX_SKU = 100;
  const MAX_TRACKING = 100;
  const ORDER_STATUS_LABELS = {
    draft: tr('console.draft'), awaiting_payment: tr('console.awaiting_payment'), paid: tr('console.paid'), shipped: tr('console.shipped'),
    delivered: tr('console.order_delivered'), cancelled: tr('console.cancelled_2'), refunded: tr('console.refunded'),
  };
  const PAYMENT_STATUS_LABELS = {
    creating: tr('console.creating_the_link'), pending: tr('console.link_sent_not_paid_yet'),
    waiting_for_capture: tr('console.authorised_waiting_for_capture'), succeeded: tr('console.payment_paid'),
    canceled: tr('console.payment_cancelled'), refunded: tr('console.payment_refunded'),
  };
  const WHOLE_NUMBER = /^\s*-?\d{1,9}\s*$/;
  const moneyLocale = () => I18N.locale;

  const O = {
    shown: localStorage.getItem(ORDERS_SHOWN_KEY) !== 'hidden',
    convId: null,          // whose orders O.orders holds
    orders: new Map(),     // order id → order (JSON of the server)
    state: 'idle',         // loading | ok | error
    error: '',
    seq: 0,                // drops answers for a conversation no longer open
    providers: null,       // GET /api/v1/payment-providers, once loaded
    providersError: '',
    providersLoading: null,
    editing: null,         // the form: null (closed) | 'new' | the id of the draft edited
    saving: false,
    cards: new Map(),      // order id → {node, sig}
    ui: new Map(),         // order id → {provider, tracking, busy, error}
  };

  function resetOrders() {
    O.seq += 1;
    O.convId = null;
    O.orders = new Map();
    O.state = 'idle';
    O.error = '';
    O.providers = null;
    O.providersError = '';
    O.providersLoading = null;
    O.cards.clear();
    O.ui.clear();
    closeOrderForm();
    clear($('order-list'));
  }

  function uiOf(id) {
    if (!O.ui.has(id)) O.ui.set(id, { provider: '', tracking: '', busy: false, error: '' });
    return O.ui.get(id);
  }

  const validOrder = (o) => !!o && typeof o === 'object' && typeof o.id === 'string' && typeof o.status === 'string';

  /** True when `a` is known to be newer than `b` (a live frame racing a REST answer). */
  function newerOrder(a, b) {
    const ta = tsOf(a.updated_at);
    const tb = tsOf(b.updated_at);
    if (ta !== tb) return ta > tb;
    // The link's two steps share a time: the one with the URL is the later.
    return !!(a.payment && a.payment.url) && !(b.payment && b.payment.url);
  }

  function putOrder(o) {
    if (!validOrder(o) || o.conversation_id !== O.convId) return false;
    const old = O.orders.get(o.id);
    if (old && newerOrder(old, o)) return false;
    O.orders.set(o.id, o);
    return true;
  }

  function openOrdersFor(id) {
    if (id === O.convId) return;
    O.seq += 1;
    O.convId = id;
    O.orders = new Map();
    O.cards.clear();
    O.ui.clear();
    O.error = '';
    closeOrderForm();
    clear($('order-list'));
    loadOrders(id);
    if (O.providers === null) loadProviders();
  }

  async function loadOrders(id) {
    const mySeq = O.seq;
    O.state = 'loading';
    renderOrders();
    try {
      const data = await api('GET', `/api/v1/orders?conversation_id=${encodeURIComponent(id)}`);
      if (mySeq !== O.seq || O.convId !== id) return;
      // Live frames that came meanwhile are kept when they are newer.
      for (const o of data.orders || []) putOrder(o);
      O.state = 'ok';
      O.error = '';
    } catch (e) {
      if (mySeq !== O.seq || O.convId !== id || e.status === 401) return;
      O.state = 'error';
      O.error = tr('console.could_not_load_the_orders', { message: e.message });
    }
    renderOrders();
  }

  function loadProviders() {
    if (O.providersLoading) return O.providersLoading;
    const mySeq = S.bootSeq;
    O.providersLoading = (async () => {
      try {
        const data = await api('GET', '/api/v1/payment-providers');
        if (mySeq !== S.bootSeq) return;
        O.providers = (data.providers || []).filter((p) => p && typeof p.id === 'string');
        O.providersError = '';
      } catch (e) {
        if (mySeq !== S.bootSeq) return;
        O.providersError = tr('console.could_not_load_the_payment_providers', { message: e.message });
      } finally {
        if (mySeq === S.bootSeq) O.providersLoading = null;
      }
      renderOrders();
    })();
    return O.providersLoading;
  }

  function onOrderUpdated(f) {
    if (!validOrder(f.order) || f.conversation_id !== O.convId) return;
    if (!putOrder(f.order)) return;
    if (O.editing === f.order.id && f.order.status !== 'draft') {
      showOrderFormError(tr('console.order_no_longer_draft', { number: f.order.number, status: (ORDER_STATUS_LABELS[f.order.status] || f.order.status).toLowerCase() }));
    }
    renderOrders();
  }

  // -- the panel

  function renderOrdersPanel() {
    const c = S.currentId ? S.convs.get(S.currentId) : null;
    const visible = S.view === 'conversation' && !!c && O.shown;
    $('orders-panel').hidden = !visible;
    document.querySelector('.layout').classList.toggle('with-orders', visible);
    $('btn-orders').setAttribute('aria-pressed', String(O.shown));
    if (visible) renderOrders();
  }

  function toggleOrdersPanel() {
    O.shown = !O.shown;
    try { localStorage.setItem(ORDERS_SHOWN_KEY, O.shown ? 'shown' : 'hidden'); } catch (_) { /* only this tab remembers */ }
    renderOrdersPanel();
  }

  function providerName(id) {
    const p = (O.providers || []).find((x) => x.id === id);
    return p ? (p.name || p.kind || '') : '';
  }

  function renderOrders() {
    const c = S.currentId ? S.convs.get(S.currentId) : null;
    if (!c || c.id !== O.convId || $('orders-panel').hidden) return;
    const act = canAct(c);
    $('orders-new').hidden = !act || O.editing !== null;
    const stateNode = $('orders-state');
    setText(stateNode, O.state === 'loading' && !O.orders.size ? tr('console.loading') : '');
    const err = $('orders-error');
    const problems = [O.error, act ? O.providersError : ''].filter(Boolean);
    err.hidden = !problems.length;
    setText(err, problems.join(' '));

    const list = $('order-list');
    const orders = [...O.orders.values()].sort((a, b) => (b.number || 0) - (a.number || 0));
    const providersSig = JSON.stringify((O.providers || []).map((p) => [p.id, p.name]));
    const nodes = orders.map((o) => {
      const ui = uiOf(o.id);
      const sig = JSON.stringify([o, act, O.providers === null, providersSig, ui.busy, ui.error, moneyLocale()]);
      const known = O.cards.get(o.id);
      if (known && known.sig === sig) return known.node;
      const node = orderCard(o, act, ui);
      O.cards.set(o.id, { node, sig });
      return node;
    });
    if (!nodes.length) {
      const empty = O.state === 'ok' ? el('li', { class: 'order-empty', 'data-testid': 'orders-empty' }, tr('console.no_orders_in_this_conversation_yet')) : null;
      list.replaceChildren(...(empty ? [empty] : []));
      return;
    }
    const same = nodes.length === list.children.length && nodes.every((n, i) => list.children[i] === n);
    if (!same) list.replaceChildren(...nodes);
  }

  function orderCard(o, act, ui) {
    const currency = o.currency;
    const loc = moneyLocale();
    const lines = Array.isArray(o.lines) ? o.lines : [];
    return el('li', {
      class: 'order-item', 'data-testid': 'order-item', 'data-id': o.id, 'data-status': o.status,
      'aria-busy': ui.busy ? 'true' : null,
    },
    el('div', { class: 'order-item-head' },
      el('span', { class: 'order-number', 'data-testid': 'order-number' }, tr('console.order', { number: o.number })),
      el('span', { class: 'order-status', 'data-testid': 'order-status', 'data-status': o.status },
        ORDER_STATUS_LABELS[o.status] || o.status),
      el('span', { class: 'order-total', 'data-testid': 'order-total' }, P.formatAmount(o.total, currency, loc))),
    el('ul', { class: 'order-item-lines' }, lines.map((line) => el('li', { 'data-testid': 'order-item-line' },
      el('span', { class: 'order-item-line-name' }, `${line.quantity} × ${line.name}`),
      line.sku ? el('span', { class: 'order-item-line-sku' }, line.sku) : null,
      el('span', { class: 'order-item-line-total' }, P.formatAmount(line.total, currency, loc))))),
    o.external_id ? el('div', { class: 'order-meta', 'data-testid': 'order-external' }, tr('console.external_id', { external_id: o.external_id })) : null,
    o.tracking_number ? el('div', { class: 'order-meta', 'data-testid': 'order-tracking-number' }, tr('console.tracking_number', { tracking_number: o.tracking_number })) : null,
    paymentRow(o),
    act ? orderActions(o, ui) : null,
    el('div', { class: 'order-error', 'data-testid': 'order-error', role: 'alert', hidden: !ui.error }, ui.error || ''));
  }

  function paymentRow(o) {
    const p = o.payment;
    if (!p || typeof p !== 'object') return null;
    const provider = providerName(p.provider_id);
    // The provider's page for the customer; only ever opened by the operator's click.
    const url = typeof p.url === 'string' && /^https?:\/\//i.test(p.url) ? p.url : '';
    return el('div', { class: 'order-payment', 'data-testid': 'order-payment', 'data-status': p.status || '' },
      el('span', { 'data-testid': 'order-payment-status' },
        tr('console.payment_status', { status: PAYMENT_STATUS_LABELS[p.status] || p.status || '?' }) + (provider ? ` (${provider})` : '')),
      url ? el('a', {
        class: 'order-payment-url', 'data-testid': 'order-payment-url', href: url, target: '_blank', rel: 'noopener noreferrer',
      }, url) : null);
  }

  function orderButton(testid, label, onclick, opts) {
    const o = opts || {};
    return el('button', {
      class: `btn btn-sm${o.primary ? ' btn-primary' : ''}${o.ghost ? ' btn-ghost' : ''}`, type: 'button',
      'data-testid': testid, disabled: !!o.disabled, title: o.title || null, onclick,
    }, label);
  }

  function orderActions(o, ui) {
    const box = el('div', { class: 'order-actions' });
    const s = o.status;
    if (s === 'draft' || s === 'awaiting_payment') box.appendChild(linkControls(o, ui));
    const row = el('div', { class: 'order-actions-row' });
    if (s === 'draft') {
      row.appendChild(orderButton('order-edit', tr('console.edit'), () => openOrderForm(o), { disabled: ui.busy }));
    }
    if (s === 'awaiting_payment') {
      row.appendChild(orderButton('order-to-draft', tr('console.back_to_draft'), () => changeOrder(o, { status: 'draft' }),
        { disabled: ui.busy, title: tr('console.drop_the_payment_link_so_the') }));
    }
    if (s === 'paid') {
      const tracking = el('input', {
        class: 'order-input', 'data-testid': 'order-tracking', maxlength: String(MAX_TRACKING),
        placeholder: tr('console.tracking_number_optional'), 'aria-label': tr('console.tracking_number_2'), autocomplete: 'off', spellcheck: 'false',
        disabled: ui.busy, oninput: (ev) => { ui.tracking = ev.target.value; },
      });
      tracking.value = ui.tracking;
      const ship = () => {
        const number = ui.tracking.trim();
        changeOrder(o, number ? { status: 'shipped', tracking_number: number } : { status: 'shipped' });
      };
      tracking.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.isComposing) { ev.preventDefault(); ship(); } });
      row.appendChild(tracking);
      row.appendChild(orderButton('order-ship', tr('console.mark_shipped'), ship, { primary: true, disabled: ui.busy }));
    }
    if (s === 'paid' || s === 'shipped') {
      row.appendChild(orderButton('order-deliver', tr('console.order_delivered'), () => changeOrder(o, { status: 'delivered' }), { disabled: ui.busy }));
    }
    if (s === 'draft' || s === 'awaiting_payment') {
      row.appendChild(orderButton('order-cancel', tr('console.cancel_order'), () => changeOrder(o, { status: 'cancelled' }),
        { ghost: true, disabled: ui.busy, title: tr('console.the_customer_is_told_the_order') }));
    }
    if (row.children.length) box.appendChild(row);
    return box.children.length ? box : null;
  }

  function linkControls(o, ui) {
    const again = o.status === 'awaiting_payment';
    const wrap = el('div', { class: 'order-actions-row' });
    if (O.providers === null) {
      wrap.appendChild(el('span', { class: 'order-hint' }, O.providersError ? tr('console.no_payment_providers') : tr('console.loading_payment_providers')));
      return wrap;
    }
    if (!O.providers.length) {
      wrap.appendChild(el('span', { class: 'order-hint', 'data-testid': 'order-no-provider' },
        tr('console.no_payment_provider_is_set_up')));
      return wrap;
    }
    const select = el('select', {
      class: 'order-input', 'data-testid': 'order-provider', 'aria-label': tr('console.payment_provider'), disabled: ui.busy,
      onchange: (ev) => { ui.provider = ev.target.value; },
    }, O.providers.map((p) => el('option', { value: p.id }, p.name || p.kind || p.id)));
    const wanted = [ui.provider, o.payment && o.payment.provider_id].find((id) => id && O.providers.some((p) => p.id === id));
    select.value = wanted || O.providers[0].id;
    ui.provider = select.value;
    wrap.appendChild(select);
    wrap.appendChild(orderButton('order-send-link', again ? tr('console.send_the_link_again') : tr('console.send_payment_link'),
      () => sendPaymentLink(o, ui.provider), { primary: true, disabled: ui.busy,
        title: tr('console.the_customer_gets_a_button_with') }));
    return wrap;
  }

  async function orderRequest(o, method, path, body) {
    const convId = O.convId;
    const ui = uiOf(o.id);
    if (ui.busy) return false;
    ui.busy = true;
    ui.error = '';
    renderOrders();
    let ok = false;
    try {
      const data = await api(method, path, body);
      if (O.convId !== convId) return false;
      if (data.order) putOrder(data.order);
      ok = true;
    } catch (e) {
      if (O.convId !== convId || e.status === 401) return false;
      ui.error = e.message;   // what was typed (a tracking number) stays
    } finally {
      ui.busy = false;
    }
    renderOrders();
    return ok;
  }

  async function changeOrder(o, body) {
    if (await orderRequest(o, 'PATCH', `/api/v1/orders/${encodeURIComponent(o.id)}`, body) && body.status === 'shipped') {
      uiOf(o.id).tracking = '';
    }
  }

  function sendPaymentLink(o, providerId) {
    if (!providerId) return Promise.resolve();
    return orderRequest(o, 'POST', `/api/v1/orders/${encodeURIComponent(o.id)}/payment-link`, { provider_id: providerId });
  }

  // -- the form: a new order, or a draft's lines

  function fillCurrencies(selected) {
    const select = $('order-currency');
    select.replaceChildren(...P.CURRENCIES.map((code) => el('option', { value: code }, code)));
    select.value = P.CURRENCIES.includes(selected) ? selected : P.CURRENCIES[0];
  }

  function lineRow(line) {
    const l = line || {};
    const input = (testid, label, attrs, value) => {
      const node = el('input', Object.assign({
        class: 'order-input', 'data-testid': testid, 'aria-label': label, placeholder: label, autocomplete: 'off',
      }, attrs));
      node.value = value == null ? '' : String(value);
      return node;
    };
    const row = el('li', { class: 'order-line', 'data-testid': 'order-line' },
      input('order-line-name', tr('console.name'), { class: 'order-input order-line-name', maxlength: String(MAX_LINE_NAME) }, l.name),
      input('order-line-sku', tr('console.sku'), { class: 'order-input order-line-sku', maxlength: String(MAX_SKU), spellcheck: 'false' }, l.sku),
      input('order-line-quantity', tr('console.quantity'), { class: 'order-input order-line-quantity', type: 'number', step: '1', min: '1', inputmode: 'numeric' },
        l.quantity == null ? '1' : l.quantity),
      input('order-line-price', tr('console.unit_price'), { class: 'order-input order-line-price', inputmode: 'decimal', spellcheck: 'false' }, l.unit_price),
      el('output', { class: 'order-line-total', 'data-testid': 'order-line-total' }),
      el('button', {
        class: 'chip-remove', type: 'button', 'data-testid': 'order-line-remove', 'aria-label': tr('console.remove_this_line'), title: tr('console.remove_this_line'),
        onclick: () => removeLine(row),
      }, '×'));
    row.addEventListener('input', updateOrderTotal);
    return row;
  }

  function addLine(line) {
    const list = $('order-lines');
    if (list.children.length >= MAX_ORDER_LINES) return null;
    const row = lineRow(line);
    list.appendChild(row);
    updateOrderTotal();
    return row;
  }

  function removeLine(row) {
    row.remove();
    if (!$('order-lines').children.length) addLine(null);
    updateOrderTotal();
  }

  function readLine(row) {
    const value = (testid) => row.querySelector(`[data-testid="${testid}"]`).value;
    return {
      name: value('order-line-name'), sku: value('order-line-sku'),
      quantity: value('order-line-quantity'), price: value('order-line-price'),
    };
  }

  const blankLine = (l) => !l.name.trim() && !l.sku.trim() && !l.price.trim();

  /** The live total of the form, exact: quantity × unit price in BigInt minor units. */
  function updateOrderTotal() {
    const currency = $('order-currency').value;
    const loc = moneyLocale();
    const rows = [...$('order-lines').children];
    let sum = 0n;
    let complete = true;
    for (const row of rows) {
      const l = readLine(row);
      const out = row.querySelector('[data-testid="order-line-total"]');
      if (blankLine(l)) { setText(out, ''); continue; }
      const quantity = /^\s*\d{1,9}\s*$/.test(l.quantity) ? BigInt(l.quantity.trim()) : null;
      const price = P.parseMoney(l.price, currency);
      if (quantity === null || quantity < 1n || price === null) {
        complete = false;
        setText(out, '—');
        continue;
      }
      const total = quantity * price;
      sum += total;
      setText(out, P.formatMoney(total, currency, loc));
    }
    const node = $('order-form-total');
    node.dataset.state = complete ? 'ok' : 'incomplete';
    node.title = complete ? '' : tr('console.a_line_has_no_valid_quantity');
    setText(node, complete ? P.formatMoney(sum, currency, loc) : '—');
    $('order-add-line').disabled = rows.length >= MAX_ORDER_LINES;
  }

  /** The lines as the server takes them. What the client cannot read is sent as typed,
   *  so the server's message names the bad field. */
  function orderLinesBody(currency) {
    const lines = [];
    for (const row of $('order-lines').children) {
      const l = readLine(row);
      if (blankLine(l)) continue;
      const price = P.parseMoney(l.price, currency);
      const line = {
        name: l.name,
        quantity: WHOLE_NUMBER.test(l.quantity) ? parseInt(l.quantity, 10) : l.quantity,
        unit_price: price === null ? l.price.trim() : P.moneyToString(price, currency),
      };
      if (l.sku.trim()) line.sku = l.sku;
      lines.push(line);
    }
    return lines;
  }

  function openOrderForm(order) {
    const c = S.currentId ? S.convs.get(S.currentId) : null;
    if (!c || !canAct(c)) return;
    O.editing = order ? order.id : 'new';
    setText($('order-form-title'), order ? tr('console.edit_order', { number: order.number }) : tr('console.new_order'));
    fillCurrencies(order ? order.currency : 'RUB');
    $('order-external-id').value = order && order.external_id ? order.external_id : '';
    $('order-lines').replaceChildren();
    const lines = order && Array.isArray(order.lines) && order.lines.length ? order.lines : [null];
    for (const line of lines) addLine(line);
    showOrderFormError('');
    $('order-form').hidden = false;
    renderOrders();
    const first = $('order-lines').querySelector('[data-testid="order-line-name"]');
    if (first) first.focus();
  }

  function closeOrderForm() {
    O.editing = null;
    O.saving = false;
    $('order-form').hidden = true;
    $('order-lines').replaceChildren();
    $('order-save').disabled = false;
    showOrderFormError('');
    if (S.currentId) $('orders-new').hidden = !canAct(S.convs.get(S.currentId));
  }

  function showOrderFormError(text) {
    const node = $('order-form-error');
    node.hidden = !text;
    setText(node, text || '');
  }

  async function submitOrderForm(ev) {
    ev.preventDefault();
    if (O.saving || O.editing === null || !O.convId) return;
    const convId = O.convId;
    const editing = O.editing;
    const currency = $('order-currency').value;
    const externalId = $('order-external-id').value.trim();
    const body = { currency, lines: orderLinesBody(currency) };
    O.saving = true;
    $('order-save').disabled = true;
    showOrderFormError('');
    try {
      let data;
      if (editing === 'new') {
        if (externalId) body.external_id = externalId;
        data = await api('POST', '/api/v1/orders', Object.assign({ conversation_id: convId }, body));
      } else {
        body.external_id = externalId || null;
        data = await api('PATCH', `/api/v1/orders/${encodeURIComponent(editing)}`, body);
      }
      if (O.convId !== convId || O.editing !== editing) return;
      if (data.order) putOrder(data.order);
      closeOrderForm();
      renderOrders();
    } catch (e) {
      if (O.convId !== convId || O.editing !== editing || e.status === 401) return;
      // The typed values stay; the server's sentence says what to fix.
      showOrderFormError(e.message);
    } finally {
      if (O.convId === convId && O.editing === editing) {
        O.saving = false;
        $('order-save').disabled = false;
      }
    }
  }

  // Transfer ---------------------------------------------------------------------

  /** The assignee moves their conversation on; supervisors also move waiting ones. */
  function canTransfer(c) {
    if (!c || !S.me) return false;
    if (c.status === 'assigned') return canAct(c);
    return c.status === 'queued' && isSuper();
  }

  const PRESENCE_RANK = { online: 0, away: 1, offline: 2 };

  function transferMode() {
    const checked = document.querySelector('input[name="transfer-mode"]:checked');
    return checked ? checked.value : 'operator';
  }

  function setTransferMode(mode) {
    for (const input of document.querySelectorAll('input[name="transfer-mode"]')) input.checked = input.value === mode;
    $('transfer-operator-field').hidden = mode !== 'operator';
    $('transfer-queue-fields').hidden = mode !== 'queue';
  }

  function fillTransferOperators() {
    const c = S.convs.get(S.transferFor);
    const select = $('transfer-operator');
    const keep = select.value;
    clear(select);
    const everyone = Array.from(S.operators.values())
      .filter((o) => o && o.id && !o.disabled && (!c || o.id !== c.assignee_id))
      .sort((a, b) => ((PRESENCE_RANK[a.presence] ?? 3) - (PRESENCE_RANK[b.presence] ?? 3))
        || String(a.name || a.login).localeCompare(String(b.name || b.login)));
    let firstEnabled = '';
    for (const o of everyone) {
      const presence = o.presence || 'offline';
      // The server only lets a plain operator hand over to someone online.
      const disabled = !isSuper() && presence !== 'online';
      const me = S.me && o.id === S.me.id ? tr('console.you_suffix') : '';
      select.appendChild(el('option', { value: o.id, disabled, 'data-presence': presence },
        `${o.name || o.login}${me}${o.login && o.name ? ` (${o.login})` : ''} — ${tr(`console.presence_${presence}`)}`));
      if (!disabled && !firstEnabled) firstEnabled = o.id;
    }
    if (!everyone.length) select.appendChild(el('option', { value: '', disabled: true }, tr('console.no_other_operator')));
    const keepOk = everyone.some((o) => o.id === keep && !(!isSuper() && o.presence !== 'online'));
    select.value = keepOk ? keep : firstEnabled;
  }

  function fillTransferQueues() {
    const select = $('transfer-queue');
    const keep = select.value;
    clear(select);
    select.appendChild(el('option', { value: '' }, tr('console.its_current_queue_with_the_skills')));
    for (const q of S.queues || []) {
      select.appendChild(el('option', { value: q.id }, `${q.name || q.id}${q.is_default ? ' (default)' : ''}`));
    }
    if (Array.from(select.options).some((o) => o.value === keep)) select.value = keep;
  }

  function showTransferError(text) {
    const node = $('transfer-error');
    setText(node, text || '');
    node.hidden = !text;
  }

  async function openTransfer() {
    const c = S.convs.get(S.currentId);
    if (!canTransfer(c)) return;
    const dialog = $('transfer-dialog');
    S.transferFor = c.id;
    setTransferMode('operator');
    $('transfer-operator').value = '';
    $('transfer-queue').value = '';
    $('transfer-skills').value = '';
    $('transfer-note').value = '';
    $('transfer-submit').disabled = false;
    showTransferError('');
    fillTransferOperators();
    fillTransferQueues();
    if (!dialog.open) dialog.showModal();
    const mySeq = S.bootSeq;
    const [ops] = await Promise.all([
      api('GET', '/api/v1/operators').catch((e) => ({ error: e })),
      loadQueues(),
    ]);
    if (mySeq !== S.bootSeq || S.transferFor !== c.id || !dialog.open) return;
    if (ops && Array.isArray(ops.operators)) {
      for (const o of ops.operators) if (o && o.id) S.operators.set(o.id, Object.assign({}, S.operators.get(o.id) || {}, o));
    }
    fillTransferOperators();
    fillTransferQueues();
    if (S.queuesError && $('transfer-error').hidden) showTransferError(tr('console.could_not_load_the_queues', { queuesError: S.queuesError }));
  }

  /** "lenses=3, ru" → {lenses: 3, ru: 1}; null when empty. Throws Error with a sentence. */
  function parseSkills(text) {
    const out = {};
    for (const item of text.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [rawName, ...rest] = item.split('=');
      const name = rawName.trim();
      const level = rest.length ? rest.join('=').trim() : '1';
      if (!name || !/^[\p{L}\p{N}_:.-]+$/u.test(name)) throw new Error(tr('console.not_a_skill_name', { name: name || item }));
      if (!/^\d+$/.test(level) || Number(level) < 1 || Number(level) > 10) throw new Error(tr('console.the_level_of_must_be_a', { name }));
      out[name] = Number(level);
    }
    return Object.keys(out).length ? out : null;
  }

  function submitTransfer(ev) {
    ev.preventDefault();
    const id = S.transferFor;
    if (!id || $('transfer-submit').disabled) return;
    const frame = { type: 'conversation.transfer', conversation_id: id };
    if (transferMode() === 'operator') {
      const op = $('transfer-operator').value;
      if (!op) { showTransferError(tr('console.choose_an_operator')); return; }
      frame.operator_id = op;
    } else {
      let skills;
      try { skills = parseSkills($('transfer-skills').value); } catch (e) { showTransferError(e.message); return; }
      const queue = $('transfer-queue').value;
      if (!queue && !skills) { showTransferError(tr('console.choose_a_queue_or_give_the')); return; }
      if (queue) frame.queue = queue;
      if (skills) frame.skills = skills;
    }
    const note = $('transfer-note').value.trim();
    if (note) frame.note = note;
    showTransferError('');
    $('transfer-submit').disabled = true;
    const sent = command(frame, {
      conversationId: id,
      onAck: () => {
        $('transfer-submit').disabled = false;
        if (S.transferFor === id && $('transfer-dialog').open) $('transfer-dialog').close();
      },
      onError: (f) => {
        $('transfer-submit').disabled = false;
        if (S.transferFor === id) showTransferError(f.message || f.code || tr('console.the_server_refused_the_transfer'));
      },
    });
    if (!sent) {
      $('transfer-submit').disabled = false;
      showTransferError(tr('console.not_connected_try_again_when_the'));
    }
  }

  // Why? (supervisors) ------------------------------------------------------------

  const TASK_STATUS = { waiting: tr('console.waiting_in_the_queue'), assigned: tr('console.task_assigned'), done: tr('console.task_done'), finished: tr('console.task_done') };

  const whyNames = {
    operator: (id) => (id ? operatorName(id) || tr('console.operator_short_id', { id: String(id).slice(0, 8) }) : '—'),
    queue: (id) => queueName(id),
    time: (iso) => fullTime(iso),
  };

  async function openWhy() {
    const id = S.currentId;
    if (!id || !isSuper()) return;
    S.whyFor = id;
    const c = S.convs.get(id);
    setText($('why-title'), tr('console.routing_decisions_for', { name: (c && c.contact_name) || tr('console.conversation_word') }));
    if (!$('why-dialog').open) $('why-dialog').showModal();
    await loadWhy(id);
  }

  async function loadWhy(id) {
    const body = $('why-body');
    const mySeq = S.bootSeq;
    body.dataset.state = 'loading';
    body.setAttribute('aria-busy', 'true');
    clear(body);
    body.appendChild(el('p', { class: 'why-muted' }, tr('console.loading')));
    let data;
    try {
      [data] = await Promise.all([
        api('GET', `/api/v1/conversations/${encodeURIComponent(id)}/routing`),
        S.queues ? null : loadQueues(),
      ]);
    } catch (e) {
      if (mySeq !== S.bootSeq || S.whyFor !== id) return;
      body.dataset.state = 'error';
      body.removeAttribute('aria-busy');
      clear(body);
      body.appendChild(el('div', { class: 'dialog-error', 'data-testid': 'why-error', role: 'alert' },
        e.status === 403 ? tr('console.only_supervisors_and_admins_can_see') : tr('console.could_not_load_the_routing_decisions', { message: e.message }),
        el('button', { class: 'link-btn', type: 'button', onclick: () => loadWhy(id) }, tr('console.retry'))));
      return;
    }
    if (mySeq !== S.bootSeq || S.whyFor !== id) return;
    body.dataset.state = 'ready';
    body.removeAttribute('aria-busy');
    clear(body);
    body.appendChild(renderWhy(data || {}));
  }

  function renderWhy(data) {
    const task = data.task && typeof data.task === 'object' ? data.task : null;
    const sections = [];
    if (task) {
      const rows = [
        [tr('console.queue_2'), queueName(task.queue_id)],
        [tr('console.status'), TASK_STATUS[task.status] || String(task.status || '—')],
        [tr('console.priority'), typeof task.priority === 'number' ? String(task.priority) : '—'],
      ];
      if (task.assignee_id) rows.push([tr('console.assignee_2'), whyNames.operator(task.assignee_id)]);
      if (task.last_operator_id) rows.push([tr('console.last_operator'), whyNames.operator(task.last_operator_id)]);
      if (Array.isArray(task.declined_by) && task.declined_by.length) {
        rows.push([tr('console.declined_by'), task.declined_by.map(whyNames.operator).join(', ')]);
      }
      if (task.extra_skills && Object.keys(task.extra_skills).length) {
        rows.push([tr('console.skills_asked_for'), Object.entries(task.extra_skills).map(([k, v]) => `${k}≥${v}`).join(', ')]);
      }
      if (task.entered_queue_at) rows.push([tr('console.in_this_queue_since'), fullTime(task.entered_queue_at)]);
      if (task.first_response_due) {
        rows.push([tr('console.first_response_due'), fullTime(task.first_response_due) + (task.first_response_breached_at ? tr('console.breached') : '')]);
      }
      if (task.resolution_due) {
        rows.push([tr('console.resolution_due'), fullTime(task.resolution_due) + (task.resolution_breached_at ? tr('console.breached') : '')]);
      }
      sections.push(el('section', { class: 'why-section', 'data-testid': 'why-task' }, el('h3', null, tr('console.routing_task')), P.keyValues(rows, 'why-fields')));
    } else {
      sections.push(el('section', { class: 'why-section', 'data-testid': 'why-task' },
        el('p', { class: 'why-muted' }, tr('console.the_router_has_no_task_for'))));
    }
    const offers = Array.isArray(data.offers) ? data.offers : [];
    if (offers.length) {
      sections.push(el('section', { class: 'why-section', 'data-testid': 'why-offers' }, el('h3', null, tr('console.pending_offers')),
        el('ul', null, offers.map((o) => el('li', null, tr('console.offer_until', { name: whyNames.operator(o.operator_id), time: fullTime(o.expires_at) }))))));
    }
    if (data.now && typeof data.now === 'object') {
      sections.push(el('section', { class: 'why-section', 'data-testid': 'why-now' },
        el('h3', null, tr('console.if_router_decided_now', { outcome: P.outcomeLabel(data.now.outcome) })),
        P.renderExplanation(data.now, whyNames)));
    }
    const decisions = Array.isArray(data.decisions) ? data.decisions : [];
    sections.push(el('section', { class: 'why-section' },
      el('h3', null, tr('console.decisions', { length: decisions.length })),
      decisions.length
        ? el('ol', { class: 'why-decisions', 'data-testid': 'why-decisions' }, decisions.map((d) => {
          const x = d && typeof d === 'object' ? d : {};
          return el('li', { class: 'why-decision', 'data-testid': 'why-decision', 'data-outcome': x.outcome || '' },
            el('div', { class: 'why-decision-head' },
              el('span', { class: 'why-outcome', 'data-testid': 'why-outcome' }, P.outcomeLabel(x.outcome)),
              el('time', { class: 'why-time', datetime: x.decided_at || '' }, fullTime(x.decided_at)),
              x.queue_id ? el('span', { class: 'why-queue' }, tr('console.alert_queue', { name: queueName(x.queue_id) })) : null),
            P.renderExplanation(x.explanation, whyNames));
        }))
        : el('p', { class: 'why-muted' }, tr('console.no_routing_decisions_were_recorded_for'))));
    return el('div', null, sections);
  }

  // ---------------------------------------------------------------- comfort
  //
  // Presence on login, the "you are away" banner, desktop notifications and a beep, long
  // messages folded, the narrow (one column) layout and the keyboard shortcuts.

  const COLLAPSE_CHARS = 1200;   // a message longer than this (or of more lines) is folded
  const COLLAPSE_LINES = 18;

  /** After a fresh sign-in the operator goes online (INBOX_ONLINE_ON_LOGIN, in the login answer). */
  function goOnlineIfAsked() {
    if (!S.onlineAfterAuth) return;
    S.onlineAfterAuth = false;
    if (S.me && S.me.presence !== 'online') request({ type: 'presence.set', status: 'online' });
  }

  /** "You are Away: 3 conversations are waiting", from the console's own queue list. */
  function renderBanner() {
    const banner = $('away-banner');
    if (!banner) return;
    const presence = (S.me && S.me.presence) || 'offline';
    let waiting = 0;
    for (const c of S.convs.values()) if (bucketOf(c) === 'queue') waiting += 1;
    const show = !!S.me && presence !== 'online' && waiting > 0;
    banner.hidden = !show;
    banner.dataset.presence = presence;
    banner.dataset.waiting = String(waiting);
    if (show) setText($('away-banner-text'), I18N.tn(presence === 'away' ? 'comfort.banner_away' : 'comfort.banner_offline', waiting));
  }

  let audio = null;
  /** WebAudio needs a user gesture once; every click or key press offers one. */
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      if (!audio) audio = new Ctx();
      if (audio.state === 'suspended') audio.resume().catch(() => {});
    } catch (_) { audio = null; }
  }

  function beep() {
    if (!audio || audio.state !== 'running') return;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    const now = audio.currentTime;
    osc.type = 'sine';
    osc.frequency.setValueAtTime(880, now);
    osc.frequency.setValueAtTime(660, now + 0.12);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(now);
    osc.stop(now + 0.32);
  }

  const canNotify = () => typeof window.Notification === 'function';

  function renderNotifyButton() {
    const btn = $('notify-btn');
    btn.hidden = !canNotify() || Notification.permission !== 'default';
  }

  function askNotifications() {
    unlockAudio();
    if (!canNotify()) return;
    Promise.resolve(Notification.requestPermission()).catch(() => {}).then(renderNotifyButton);
  }

  /** A new offer or assignment: a beep, and a desktop notification when the tab is not in front. */
  function alertNew(kind, conversation, seq) {
    if (typeof seq === 'number' && seq <= S.replayUntil) return;   // a replayed frame: old news
    beep();
    if (!canNotify() || Notification.permission !== 'granted' || document.hasFocus()) return;
    const c = conversation || {};
    try {
      const n = new Notification(tr(kind === 'offer' ? 'comfort.notify_offer' : 'comfort.notify_assigned'), {
        body: tr('comfort.notify_body', { name: c.contact_name || tr('console.unknown_contact'), preview: c.preview || '' }),
        tag: `inbox-${c.id || kind}`,
      });
      n.onclick = () => { window.focus(); if (c.id) openConversation(c.id); n.close(); };
    } catch (_) { /* some browsers only notify from a service worker */ }
  }

  /** The text length of a message, to decide whether it is folded. */
  function messageSize(m) {
    const parts = Array.isArray(m.parts) && m.parts.length ? m.parts : [{ text: m.text || '' }];
    let chars = 0;
    let lines = 0;
    for (const p of parts) {
      for (const key of ['text', 'caption']) {
        if (p && typeof p[key] === 'string') { chars += p[key].length; lines += p[key].split('\n').length; }
      }
    }
    return { chars, lines };
  }

  /** A long message shows its start and a "Show more" button. */
  function foldable(bubble, m) {
    const { chars, lines } = messageSize(m);
    if (chars <= COLLAPSE_CHARS && lines <= COLLAPSE_LINES) return null;
    bubble.classList.add('is-collapsed');
    bubble.dataset.collapsed = 'true';
    const btn = el('button', { class: 'link-btn msg-more', type: 'button', 'data-testid': 'message-more', 'aria-expanded': 'false' },
      tr('comfort.show_more'));
    btn.addEventListener('click', () => {
      const open = bubble.classList.toggle('is-collapsed');
      bubble.dataset.collapsed = String(open);
      btn.setAttribute('aria-expanded', String(!open));
      setText(btn, tr(open ? 'comfort.show_more' : 'comfort.show_less'));
    });
    return btn;
  }

  /** One column (narrow screens): the list or the conversation. */
  function showPane(pane) {
    document.querySelector('.layout').dataset.pane = pane;
  }

  function nextConversation(step) {
    const items = Array.from(document.querySelectorAll('#list-mine [data-id], #list-queue [data-id], #list-others [data-id]'))
      .filter((n) => n.offsetParent !== null || window.matchMedia('(max-width: 640px)').matches);
    if (!items.length) return;
    const at = items.findIndex((n) => n.dataset.id === S.currentId);
    const next = items[(at + step + items.length) % items.length];
    if (next && next.dataset.id !== S.currentId) openConversation(next.dataset.id);
  }

  function onShortcut(ev) {
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      ev.preventDefault();
      nextConversation(ev.key === 'ArrowDown' ? 1 : -1);
    } else if (ev.altKey && !ev.ctrlKey && !ev.metaKey && ev.code === 'KeyR') {
      const btn = $('btn-resolve');
      if (!btn.hidden && !btn.disabled && S.currentId) { ev.preventDefault(); btn.click(); }
    }
  }

  function wireComfort() {
    const lang = $('lang-select');
    lang.value = I18N.lang;
    lang.addEventListener('change', () => I18N.setLang(lang.value));
    $('notify-btn').addEventListener('click', askNotifications);
    $('away-go-online').addEventListener('click', () => {
      if (!request({ type: 'presence.set', status: 'online' })) showComposerError(tr('console.not_connected_presence_was_not_changed'));
    });
    $('btn-back').addEventListener('click', () => showPane('list'));
    document.addEventListener('keydown', onShortcut);
    for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, unlockAudio, { passive: true });
    renderNotifyButton();
  }

  // ---------------------------------------------------------------- work: search, close reasons, canned replies, the customer card
  //
  // Everything from the server (results, reasons, replies, the card) goes in as text nodes (el()).

  const SEARCH_DEBOUNCE_MS = 250;
  const SEARCH_PAGE = 50;
  const W = {
    searchTimer: null,
    searchSeq: 0,
    searchCursor: null,
    searchResults: [],
    reasons: [],
    canned: [],
    cannedLoaded: null,        // the promise of the list load
    suggest: [],               // the replies offered under the composer
    suggestAt: -1,             // the highlighted one
    customerId: null,          // the contact shown in the customer panel
    customerSeq: 0,
  };

  // Search and filters ------------------------------------------------------

  function searchParams() {
    const p = new URLSearchParams();
    const q = $('search-q').value.trim();
    if (q) p.set('q', q);
    for (const [id, key] of [['search-status', 'status'], ['search-channel', 'channel'], ['search-assignee', 'assignee']]) {
      if ($(id).value) p.set(key, $(id).value);
    }
    const tag = $('search-tag').value.trim();
    if (tag) p.set('tag', tag);
    if ($('search-unread').checked) p.set('unread', 'true');
    const minutes = parseInt($('search-waiting').value, 10);
    if (minutes > 0) p.set('waiting_over', String(minutes * 60));
    return p;
  }

  function searching() {
    return [...searchParams().keys()].length > 0;
  }

  function scheduleSearch() {
    clearTimeout(W.searchTimer);
    W.searchTimer = setTimeout(() => runSearch(false), SEARCH_DEBOUNCE_MS);
  }

  async function runSearch(more) {
    clearTimeout(W.searchTimer);
    const active = searching();
    $('search-section').hidden = !active;
    $('bucket-lists').hidden = active;
    const mySeq = ++W.searchSeq;
    if (!active) { W.searchResults = []; W.searchCursor = null; return; }
    const p = searchParams();
    p.set('limit', String(SEARCH_PAGE));
    if (more && W.searchCursor) p.set('cursor', W.searchCursor);
    const state = $('search-state');
    state.hidden = false;
    setText(state, tr('console.loading'));
    try {
      const data = await api('GET', `/api/v1/conversations?${p}`);
      if (mySeq !== W.searchSeq) return;
      const found = data.conversations || [];
      W.searchResults = more ? W.searchResults.concat(found) : found;
      W.searchCursor = data.next_cursor || null;
      state.hidden = true;
      renderSearch();
    } catch (e) {
      if (mySeq !== W.searchSeq || e.status === 401) return;
      setText(state, tr('work.search_failed', { message: e.message }));
    }
  }

  function renderSearch() {
    const ul = $('search-results');
    clear(ul);
    for (const c of W.searchResults) {
      const item = renderItem(c);
      item.dataset.testid = 'search-result';
      ul.appendChild(item);
    }
    if (!W.searchResults.length) ul.appendChild(el('li', { class: 'conv-list-empty' }, tr('work.nothing_found')));
    setText($('count-search'), W.searchResults.length + (W.searchCursor ? '+' : ''));
    $('search-more').hidden = !W.searchCursor;
  }

  /** A live change of a conversation shown in the results updates it there (it stays listed). */
  function refreshSearchResult(c) {
    const i = W.searchResults.findIndex((r) => r.id === c.id);
    if (i < 0 || $('search-section').hidden) return;
    W.searchResults[i] = Object.assign({}, W.searchResults[i], c);
    renderSearch();
  }

  function clearSearch() {
    $('search-form').reset();
    runSearch(false);
  }

  async function loadChannelsFilter() {
    try {
      const data = await api('GET', '/api/v1/channels');
      const select = $('search-channel');
      const chosen = select.value;
      while (select.options.length > 1) select.remove(1);
      for (const ch of data.channels || []) {
        select.appendChild(el('option', { value: ch.id }, `${ch.name || ch.id} (${P.channelLabel(ch.kind)})`));
      }
      select.value = chosen;
    } catch (_) { /* the filter stays "any channel" */ }
  }

  // Close reasons -----------------------------------------------------------

  async function loadCloseReasons() {
    try {
      const data = await api('GET', '/api/v1/close-reasons');
      W.reasons = (data.reasons || []).filter((r) => typeof r === 'string');
    } catch (_) { W.reasons = []; }
    const select = $('resolve-reason');
    while (select.options.length > 1) select.remove(1);
    for (const r of W.reasons) select.appendChild(el('option', { value: r }, r));
    if (S.currentId) renderHeader();
  }

  function resolveCurrent() {
    const id = S.currentId;
    if (!id) return;
    const select = $('resolve-reason');
    const reason = select.value;
    // The administrator keeps a list of close reasons for the reports: resolving asks for
    // one (the API still takes a resolve without one, for bots and scripts).
    if (W.reasons.length && !reason) {
      select.classList.add('invalid');
      select.setAttribute('aria-invalid', 'true');
      showComposerError(tr('work.choose_a_close_reason_first'), 'close_reason_required');
      select.focus();
      return;
    }
    select.classList.remove('invalid');
    select.removeAttribute('aria-invalid');
    hideComposerError();
    const frame = { type: 'conversation.resolve', conversation_id: id };
    if (reason) frame.reason = reason;
    if (!request(frame, { conversationId: id })) showComposerError(tr('console.not_connected_try_again_when_the'));
  }

  function renderWorkHeader(c) {
    const tag = $('conv-close-reason');
    const reason = c.status === 'resolved' ? (c.close_reason || '') : '';
    tag.hidden = !reason;
    setText(tag, reason ? tr('work.closed_as', { reason }) : '');
    const select = $('resolve-reason');
    select.hidden = $('btn-resolve').hidden || !W.reasons.length;
    if (select.dataset.for !== c.id) {
      select.value = ''; select.dataset.for = c.id;
      select.classList.remove('invalid'); select.removeAttribute('aria-invalid');
    }
    $('btn-customer').hidden = !c.contact_id;
  }

  // Canned replies ----------------------------------------------------------

  function loadCanned() {
    W.cannedLoaded = api('GET', '/api/v1/canned-replies')
      .then((data) => { W.canned = data.replies || []; renderCannedList(); })
      .catch(() => { W.canned = []; });
    return W.cannedLoaded;
  }

  /** The "/word" the caret is at the end of, or null. */
  function slashToken(input) {
    const before = input.value.slice(0, input.selectionStart);
    const m = /(^|\s)(\/[\w-]*)$/.exec(before);
    return m ? { text: m[2], start: before.length - m[2].length, end: before.length } : null;
  }

  function updateSuggest() {
    const input = $('composer-input');
    const token = S.mode === 'reply' || S.mode === 'note' ? slashToken(input) : null;
    const word = token ? token.text.toLowerCase() : '';
    W.suggest = token ? W.canned.filter((r) => r.shortcut.startsWith(word)).slice(0, 8) : [];
    if (token && !W.canned.length && !W.cannedLoaded) loadCanned().then(updateSuggest);
    if (W.suggestAt >= W.suggest.length) W.suggestAt = 0;
    if (W.suggestAt < 0 && W.suggest.length) W.suggestAt = 0;
    const ul = $('canned-suggest');
    clear(ul);
    W.suggest.forEach((r, i) => {
      ul.appendChild(el('li', {
        class: `canned-option${i === W.suggestAt ? ' is-active' : ''}`,
        role: 'option',
        'aria-selected': i === W.suggestAt ? 'true' : 'false',
        'data-testid': 'canned-option',
        'data-shortcut': r.shortcut,
        onmousedown: (ev) => { ev.preventDefault(); chooseCanned(r); },
      },
      el('strong', null, r.shortcut), ' ',
      el('span', { class: 'canned-option-text' }, r.text)));
    });
    ul.hidden = !W.suggest.length;
  }

  function closeSuggest() {
    W.suggest = [];
    W.suggestAt = -1;
    $('canned-suggest').hidden = true;
  }

  async function chooseCanned(reply) {
    const id = S.currentId;
    const input = $('composer-input');
    const token = slashToken(input);
    closeSuggest();
    if (!id) return;
    let text = reply.text;
    try {
      const data = await api('POST', `/api/v1/canned-replies/${encodeURIComponent(reply.id)}/render`, { conversation_id: id });
      if (typeof data.text === 'string') text = data.text;
    } catch (e) {
      if (e.status === 401) return;
      showComposerError(tr('work.canned_render_failed', { message: e.message }));
      return;
    }
    if (S.currentId !== id) return;
    const value = input.value;
    const start = token ? token.start : value.length;
    const end = token ? token.end : value.length;
    input.value = value.slice(0, start) + text + value.slice(end);
    const caret = start + text.length;
    input.focus();
    input.setSelectionRange(caret, caret);
    input.dispatchEvent(new Event('input'));
  }

  function onSuggestKey(ev) {
    if ($('canned-suggest').hidden || !W.suggest.length) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const n = W.suggest.length;
      W.suggestAt = (W.suggestAt + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      updateSuggest();
    } else if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.isComposing && !ev.shiftKey) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      chooseCanned(W.suggest[Math.max(0, W.suggestAt)]);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      closeSuggest();
    }
  }

  function renderCannedList() {
    const ul = $('canned-list');
    clear(ul);
    for (const r of W.canned) {
      const own = S.me && r.owner_id === S.me.id;
      ul.appendChild(el('li', { class: 'canned-row', 'data-testid': 'canned-row', 'data-shortcut': r.shortcut },
        el('strong', null, r.shortcut),
        r.shared ? el('span', { class: 'badge' }, tr('work.shared')) : null,
        el('span', { class: 'canned-row-text' }, r.text),
        own || isSuper() ? el('button', {
          class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'canned-delete',
          onclick: () => deleteCanned(r),
        }, tr('work.delete')) : null));
    }
    if (!W.canned.length) ul.appendChild(el('li', { class: 'conv-list-empty' }, tr('work.no_canned')));
  }

  function cannedError(text) {
    const box = $('canned-error');
    box.hidden = !text;
    setText(box, text || '');
  }

  async function openCanned() {
    cannedError('');
    $('canned-dialog').showModal();
    await loadCanned();
    $('canned-shortcut').focus();
  }

  async function addCanned(ev) {
    ev.preventDefault();
    cannedError('');
    let shortcut = $('canned-shortcut').value.trim();
    if (shortcut && !shortcut.startsWith('/')) shortcut = `/${shortcut}`;
    const body = { shortcut, text: $('canned-text').value, shared: $('canned-shared').checked };
    try {
      await api('POST', '/api/v1/canned-replies', body);
      $('canned-form').reset();
      await loadCanned();
    } catch (e) {
      cannedError(e.message);
    }
  }

  async function deleteCanned(reply) {
    cannedError('');
    try {
      await api('DELETE', `/api/v1/canned-replies/${encodeURIComponent(reply.id)}`);
      await loadCanned();
    } catch (e) {
      cannedError(e.message);
    }
  }

  // The customer card -------------------------------------------------------

  function customerError(text) {
    const box = $('customer-error');
    box.hidden = !text;
    setText(box, text || '');
  }

  function openCustomer() {
    const c = S.convs.get(S.currentId);
    if (!c || !c.contact_id) return;
    W.customerId = c.contact_id;
    customerError('');
    $('customer-saved').hidden = true;
    if (!$('customer-dialog').open) $('customer-dialog').showModal();
    loadCustomer(c.contact_id);
  }

  async function loadCustomer(id) {
    const mySeq = ++W.customerSeq;
    setText($('customer-state'), tr('console.loading'));
    try {
      const [card, dups] = await Promise.all([
        api('GET', `/api/v1/contacts/${encodeURIComponent(id)}`),
        api('GET', `/api/v1/contacts/${encodeURIComponent(id)}/duplicates`).catch(() => ({ duplicates: [] })),
      ]);
      if (mySeq !== W.customerSeq) return;
      setText($('customer-state'), '');
      renderCustomer(card.contact || {}, dups.duplicates || []);
    } catch (e) {
      if (mySeq !== W.customerSeq || e.status === 401) return;
      setText($('customer-state'), '');
      customerError(tr('work.customer_failed', { message: e.message }));
    }
  }

  function renderCustomer(card, duplicates) {
    $('customer-name').value = card.name || '';
    $('customer-tags').value = (card.tags || []).join(', ');
    $('customer-notes').value = card.notes || '';
    for (const id of ['customer-name', 'customer-tags', 'customer-notes', 'customer-save']) $(id).disabled = card.may_edit === false;
    setText($('customer-summary'), [
      card.returning ? tr('work.returning') : tr('work.new_customer'),
      card.first_contact_at ? tr('work.first_contact', { when: clockTime(card.first_contact_at) }) : '',
      card.last_contact_at ? tr('work.last_contact', { when: clockTime(card.last_contact_at) }) : '',
    ].filter(Boolean).join(' · '));
    const reach = [...(card.phones || []), ...(card.emails || []),
      ...(card.identities || []).map((v) => `${P.channelLabel(v.channel_kind)}: ${v.username || v.display_name || v.external_user_id || ''}`)];
    setText($('customer-contacts'), reach.join(' · ') || '—');

    const convs = $('customer-conversations');
    clear(convs);
    for (const c of card.conversations || []) {
      convs.appendChild(el('li', { class: 'customer-item', 'data-testid': 'customer-conversation', 'data-id': c.id, 'data-status': c.status },
        el('span', { class: 'badge badge-kind', 'data-kind': c.channel_kind || '' }, P.channelLabel(c.channel_kind)), ' ',
        el('span', { class: 'status-pill', 'data-status': c.status }, STATUS_LABELS[c.status] || c.status || ''), ' ',
        c.close_reason ? el('span', { class: 'conv-close-reason', 'data-testid': 'customer-conversation-reason' }, c.close_reason) : null, ' ',
        el('time', { datetime: c.last_message_at || c.created_at || '' }, clockTime(c.last_message_at || c.created_at)), ' ',
        c.id !== S.currentId ? el('button', {
          class: 'btn btn-sm btn-ghost', type: 'button', 'data-testid': 'customer-conversation-open',
          onclick: () => { $('customer-dialog').close(); openConversation(c.id); },
        }, tr('work.open')) : null));
    }
    if (!(card.conversations || []).length) convs.appendChild(el('li', { class: 'conv-list-empty' }, tr('console.empty')));

    const orders = $('customer-orders');
    clear(orders);
    for (const o of card.orders || []) {
      orders.appendChild(el('li', { class: 'customer-item', 'data-testid': 'customer-order' },
        el('span', null, o.number || o.external_id || o.id || ''), ' ',
        el('span', null, o.status || ''), ' ',
        el('span', null, o.total !== undefined ? `${o.total} ${o.currency || ''}` : '')));
    }
    if (!(card.orders || []).length) orders.appendChild(el('li', { class: 'conv-list-empty' }, tr('console.empty')));

    const dupList = $('customer-duplicates');
    clear(dupList);
    for (const d of duplicates) {
      const other = d.contact || {};
      const shared = [...((d.shared || {}).phones || []), ...((d.shared || {}).emails || [])].join(', ');
      dupList.appendChild(el('li', { class: 'customer-item', 'data-testid': 'customer-duplicate', 'data-id': other.id },
        el('strong', null, other.name || tr('console.unknown_contact')), ' ',
        el('span', null, shared), ' ',
        isSuper() ? el('button', {
          class: 'btn btn-sm', type: 'button', 'data-testid': 'customer-merge',
          onclick: () => mergeCustomer(card.id, other.id),
        }, tr('work.merge')) : null));
    }
    if (!duplicates.length) dupList.appendChild(el('li', { class: 'conv-list-empty' }, tr('work.no_duplicates')));
  }

  async function saveCustomer(ev) {
    ev.preventDefault();
    const id = W.customerId;
    if (!id) return;
    customerError('');
    const tags = $('customer-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
    const body = { name: $('customer-name').value.trim(), notes: $('customer-notes').value, tags };
    try {
      const data = await api('PATCH', `/api/v1/contacts/${encodeURIComponent(id)}`, body);
      if (W.customerId !== id) return;
      const saved = $('customer-saved');
      saved.hidden = false;
      setText(saved, tr('work.saved'));
      loadCustomer(id);
      if (data.contact && S.currentId) loadTags(S.currentId);
    } catch (e) {
      customerError(e.message);
    }
  }

  async function mergeCustomer(id, otherId) {
    customerError('');
    try {
      await api('POST', `/api/v1/contacts/${encodeURIComponent(id)}/merge`, { other_id: otherId });
      loadCustomer(id);
    } catch (e) {
      customerError(e.message);
    }
  }

  function wireWork() {
    $('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); runSearch(false); });
    $('search-q').addEventListener('input', scheduleSearch);
    $('search-tag').addEventListener('input', scheduleSearch);
    $('search-waiting').addEventListener('input', scheduleSearch);
    for (const id of ['search-status', 'search-channel', 'search-assignee', 'search-unread']) {
      $(id).addEventListener('change', () => runSearch(false));
    }
    $('search-clear').addEventListener('click', clearSearch);
    $('search-more').addEventListener('click', () => runSearch(true));
    // Before the composer's own Enter handler: Enter picks the highlighted reply.
    $('composer-input').addEventListener('keydown', onSuggestKey);
    $('composer-input').addEventListener('input', updateSuggest);
    $('composer-input').addEventListener('blur', closeSuggest);
    $('canned-manage').addEventListener('click', openCanned);
    $('canned-form').addEventListener('submit', addCanned);
    $('btn-customer').addEventListener('click', openCustomer);
    $('customer-form').addEventListener('submit', saveCustomer);
    $('customer-dialog').addEventListener('close', () => { W.customerId = null; W.customerSeq++; });
  }

  /** After sign-in: the lists the work tools need. */
  function loadWork() {
    loadCloseReasons();
    loadChannelsFilter();
    loadCanned();
    if (searching()) runSearch(false);
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    wireWork();
    wireComfort();
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout-btn').addEventListener('click', logout);
    $('presence-select').addEventListener('change', (ev) => {
      const status = ev.target.value;
      if (!request({ type: 'presence.set', status })) {
        showComposerError(tr('console.not_connected_presence_was_not_changed'));
        renderMe();
        return;
      }
      $('presence-dot').dataset.status = status;
    });
    $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); submitComposer(); });
    $('composer-input').addEventListener('keydown', (ev) => {
      // Enter or Ctrl/Cmd+Enter sends; Shift+Enter is a new line.
      if (ev.key === 'Enter' && !ev.isComposing && !ev.altKey && (!ev.shiftKey || ev.ctrlKey || ev.metaKey)) {
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
    $('btn-claim').addEventListener('click', claimCurrent);
    $('btn-resolve').addEventListener('click', resolveCurrent);
    $('resolve-reason').addEventListener('change', (ev) => {
      if (!ev.target.value) return;
      ev.target.classList.remove('invalid');
      ev.target.removeAttribute('aria-invalid');
      if ($('composer-error').dataset.code === 'close_reason_required') hideComposerError();
    });
    $('btn-reopen').addEventListener('click', () => conversationCommand('conversation.reopen'));
    // Routing: offers, transfers, queues and the "Why?" of a conversation.
    setInterval(tickOffers, OFFER_TICK_MS);
    $('btn-transfer').addEventListener('click', openTransfer);
    $('btn-tags').addEventListener('click', openTags);
    $('btn-orders').addEventListener('click', toggleOrdersPanel);
    $('orders-new').addEventListener('click', () => openOrderForm(null));
    $('order-add-line').addEventListener('click', () => {
      const row = addLine(null);
      if (row) row.querySelector('[data-testid="order-line-name"]').focus();
    });
    $('order-currency').addEventListener('change', updateOrderTotal);
    $('order-form').addEventListener('submit', submitOrderForm);
    $('order-form-cancel').addEventListener('click', () => { closeOrderForm(); renderOrders(); });
    $('tags-form').addEventListener('submit', saveTags);
    $('tags-cancel').addEventListener('click', closeTags);
    $('transfer-form').addEventListener('submit', submitTransfer);
    for (const input of document.querySelectorAll('input[name="transfer-mode"]')) {
      input.addEventListener('change', () => { setTransferMode(transferMode()); showTransferError(''); });
    }
    $('transfer-dialog').addEventListener('close', () => { S.transferFor = null; });
    $('btn-why').addEventListener('click', openWhy);
    $('why-reload').addEventListener('click', () => { if (S.whyFor) loadWhy(S.whyFor); });
    $('why-dialog').addEventListener('close', () => { S.whyFor = null; });
    for (const btn of document.querySelectorAll('dialog [data-close]')) {
      btn.addEventListener('click', () => btn.closest('dialog').close());
    }
    $('queues-btn').addEventListener('click', () => showQueues(S.view !== 'queues'));
    $('queues-refresh').addEventListener('click', () => loadQueues());
    $('queues-close').addEventListener('click', () => showQueues(false));
    $('bots-btn').addEventListener('click', () => showBots(S.view !== 'bots'));
    $('settings-btn').addEventListener('click', () => showSettings(S.view !== 'settings'));
    $('my-canned-btn').addEventListener('click', () => showSettings(S.view !== 'settings', 'canned'));
    $('bots-close').addEventListener('click', () => showBots(false));
    $('bots-reload').addEventListener('click', () => { loadBotScopes(); loadBots(S.botsScope); });
    $('bots-scope').addEventListener('change', (ev) => selectBotScope(ev.target.value));
    $('bots-hours-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveHours(false); });
    $('bots-remove-hours').addEventListener('click', () => saveHours(true));
    $('bots-flow-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveFlow(false); });
    $('bots-remove-flow').addEventListener('click', () => saveFlow(true));
    $('bots-faq-add').addEventListener('click', () => { const row = faqRow({}); $('bots-faq').appendChild(row); row.querySelector('input').focus(); });
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
