// Operator console, part 1 of 2: DOM helpers, message parts and their files.
// Loaded before console.js, which uses window.InboxParts.
//
// Security rule for this file: anything that came from a customer or a provider (text,
// titles, URLs, file names, mime types) is inserted with text nodes or plain attributes
// only — every node is built with el(), which never touches innerHTML. The only URLs ever
// loaded are blob: URLs made here from files fetched with the operator's token from
// /api/v1/messages/{id}/media/{index}; button URLs are shown as text, never followed.
'use strict';

window.InboxParts = (() => {
  const I18N = window.InboxI18n;
  const tr = I18N.t;

  // ---------------------------------------------------------------- DOM helper

  /** el('div', {class: 'x', 'data-id': id, onclick: fn}, 'text', node, [more]) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on') && typeof value === 'function') {
          node.addEventListener(key.slice(2), value);
        } else if (key === 'class') {
          node.className = value;
        } else if (value === true) {
          node.setAttribute(key, '');
        } else {
          node.setAttribute(key, String(value));
        }
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
  }

  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };
  const setText = (node, text) => { node.textContent = text == null ? '' : String(text); };
  const str = (v) => (typeof v === 'string' ? v : (typeof v === 'number' ? String(v) : ''));

  function firstString(obj, keys) {
    for (const k of keys) {
      const v = obj[k];
      if (typeof v === 'string' && v.trim()) return v;
      if (typeof v === 'number') return String(v);
    }
    return '';
  }

  function formatSize(n) {
    if (typeof n !== 'number' || !(n >= 0)) return '';
    if (n < 1024) return tr('parts.size_b', { n: I18N.number(n) });
    if (n < 1048576) return tr('parts.size_kb', { n: I18N.number(n / 1024, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
    return tr('parts.size_mb', { n: I18N.number(n / 1048576, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
  }

  function formatDuration(s) {
    if (typeof s !== 'number' || !(s >= 0)) return '';
    const total = Math.round(s);
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }

  const CHANNEL_LABELS = {
    telegram: 'Telegram', vk: 'VK', whatsapp: 'WhatsApp', viber: 'Viber', email: tr('parts.email'), webchat: tr('parts.web_chat'),
    api: tr('integrations.api_channel'),
  };
  const channelLabel = (kind) => CHANNEL_LABELS[kind] || kind || '?';

  // Images shown inline are limited to raster types: an SVG opened from a blob: URL would
  // be a document of this origin. Anything else is offered as a download.
  const SAFE_IMAGE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/avif']);
  const mimeOf = (media) => (media && typeof media.mime_type === 'string' ? media.mime_type.toLowerCase().split(';')[0].trim() : '');

  /** The part type an attachment of this mime type becomes (operator_ws/compose.py). */
  function partTypeOfMime(mime) {
    const m = String(mime || '').toLowerCase();
    if (m.startsWith('image/')) return 'image';
    if (m.startsWith('video/')) return 'video';
    if (m.startsWith('audio/')) return 'audio';
    return 'file';
  }

  // ---------------------------------------------------------------- media loader

  const FETCH_CONCURRENCY = 3;
  const AUTO_FILE_BYTES = 1024 * 1024;   // smaller files are fetched at once, larger on click

  /**
   * Fetches message files with the operator's token and keeps their blob: URLs and widgets
   * for the open conversation (renders rebuild the list; widgets survive, so a playing
   * audio keeps playing). reset() aborts fetches and revokes every URL.
   * opts: {token: () => string|null, onUnauthorized: () => void}
   */
  function createMediaLoader(opts) {
    let ctrl = new AbortController();
    const widgets = new Map();    // `${messageId}:${index}` → widget node
    const urls = new Set();
    const queue = [];
    let active = 0;

    function pump() {
      while (active < FETCH_CONCURRENCY && queue.length) {
        const job = queue.shift();
        if (job.signal.aborted) { job.reject(new DOMException('aborted', 'AbortError')); continue; }
        active += 1;
        download(job.path, job.signal).then(job.resolve, job.reject).finally(() => { active -= 1; pump(); });
      }
    }

    async function download(path, signal) {
      const token = opts.token();
      const res = await fetch(path, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        credentials: 'same-origin', signal,
      });
      if (!res.ok) {
        let message = `HTTP ${res.status}`;
        try {
          const data = await res.json();
          if (data && data.error && data.error.message) message = String(data.error.message);
        } catch (_) { /* not JSON */ }
        if (res.status === 401) opts.onUnauthorized();
        const err = new Error(message);
        err.status = res.status;
        throw err;
      }
      return res.blob();
    }

    /** A blob: URL for part `index` of message `messageId`, typed as `type`. */
    function load(messageId, index, type) {
      const signal = ctrl.signal;
      const path = `/api/v1/messages/${encodeURIComponent(messageId)}/media/${index}`;
      return new Promise((resolve, reject) => {
        queue.push({ path, signal, resolve, reject });
        pump();
      }).then((blob) => {
        if (signal.aborted) throw new DOMException('aborted', 'AbortError');
        const url = URL.createObjectURL(type ? new Blob([blob], { type }) : blob);
        urls.add(url);
        return { url, size: blob.size };
      });
    }

    function reset() {
      ctrl.abort();
      ctrl = new AbortController();
      queue.length = 0;
      for (const url of urls) URL.revokeObjectURL(url);
      urls.clear();
      widgets.clear();
      closeLightbox();
    }

    function widget(message, index, part, build) {
      const key = `${message.id}:${index}`;
      let node = widgets.get(key);
      if (!node) {
        node = build(message.id, index, part, loader);
        widgets.set(key, node);
      }
      return node;
    }

    const loader = { load, reset, widget };
    return loader;
  }

  // One media box: a state line ("Loading…", "File unavailable" + Retry) replaced by the
  // real element once the file is here.
  function mediaBox(kind, part, start, auto) {
    const media = part.media || {};
    const box = el('div', { class: `media media-${kind}`, 'data-testid': 'media', 'data-media': kind, 'data-state': 'idle' });
    const run = () => {
      box.dataset.state = 'loading';
      clear(box);
      box.appendChild(el('span', { class: 'media-state' }, tr(`parts.loading_${kind === 'file' || !PART_LABELS[kind] ? 'file' : kind}`)));
      start().then((node) => {
        box.dataset.state = 'ready';
        clear(box);
        box.appendChild(node);
      }, (err) => {
        if (err && err.name === 'AbortError') return;
        box.dataset.state = 'error';
        clear(box);
        box.appendChild(el('span', { class: 'media-unavailable', 'data-testid': 'media-unavailable', title: (err && err.message) || '' },
          tr('parts.file_unavailable')));
        if (media.filename) box.appendChild(el('span', { class: 'media-name' }, ` · ${media.filename}`));
        box.appendChild(el('button', { class: 'link-btn', type: 'button', onclick: run }, tr('parts.retry')));
      });
    };
    if (auto) run();
    return { box, run };
  }

  function imageWidget(messageId, index, part, loader) {
    const media = part.media || {};
    const mime = mimeOf(media);
    if (!SAFE_IMAGE.has(mime)) return fileWidget(messageId, index, part, loader);
    const name = str(media.filename) || tr('parts.image');
    return mediaBox('image', part, () => loader.load(messageId, index, mime).then(({ url }) =>
      el('button', { class: 'media-thumb-btn', type: 'button', title: tr('parts.open_full_size', { name }), onclick: () => openLightbox(url, name) },
        el('img', { class: 'media-thumb', 'data-testid': 'media-image', src: url, alt: name }))), true).box;
  }

  function stickerWidget(messageId, index, part, loader) {
    const mime = mimeOf(part.media);
    if (SAFE_IMAGE.has(mime)) {
      return mediaBox('sticker', part, () => loader.load(messageId, index, mime).then(({ url }) =>
        el('img', { class: 'media-sticker', src: url, alt: str(part.emoji) || tr('parts.sticker') })), true).box;
    }
    if (mime.startsWith('video/')) {
      return mediaBox('sticker', part, () => loader.load(messageId, index, mime).then(({ url }) =>
        el('video', { class: 'media-sticker', src: url, autoplay: true, loop: true, muted: true, playsinline: true })), true).box;
    }
    return null;   // e.g. animated .tgs: the emoji and label say enough
  }

  function playable(tag, url, name, downloadUrl) {
    const node = el(tag, { class: `media-${tag}-el`, controls: true, preload: 'metadata', src: url });
    node.addEventListener('error', () => {
      node.replaceWith(el('span', { class: 'media-state' }, tr('parts.this_file_cannot_be_played_here'),
        el('a', { href: downloadUrl, download: name, class: 'media-file-link' }, tr('parts.download'))));
    }, { once: true });
    return node;
  }

  function audioWidget(messageId, index, part, loader) {
    const media = part.media || {};
    const mime = mimeOf(media);
    const name = str(media.filename) || 'audio';
    return mediaBox('audio', part, () => loader.load(messageId, index, mime.startsWith('audio/') ? mime : 'application/octet-stream')
      .then(({ url }) => playable('audio', url, name, url)), true).box;
  }

  function videoWidget(messageId, index, part, loader) {
    const media = part.media || {};
    const mime = mimeOf(media);
    const name = str(media.filename) || 'video';
    const { box, run } = mediaBox('video', part, () => loader.load(messageId, index, mime.startsWith('video/') ? mime : 'application/octet-stream')
      .then(({ url }) => playable('video', url, name, url)), false);
    box.appendChild(el('button', { class: 'media-load', type: 'button', 'data-testid': 'media-load', onclick: run },
      el('span', { class: 'media-play', 'aria-hidden': 'true' }, '▶'),
      [tr('parts.load_video'), str(media.filename), formatSize(media.size)].filter(Boolean).join(' · ')));
    return box;
  }

  function fileWidget(messageId, index, part, loader) {
    const media = part.media || {};
    const name = str(media.filename) || 'file';
    const size = formatSize(media.size);
    const label = () => [el('span', { class: 'media-file-icon', 'aria-hidden': 'true' }),
      el('span', { class: 'media-file-name' }, name), size ? el('span', { class: 'media-file-size' }, size) : null];
    // Always saved as bytes, never opened as a page of this origin.
    const fetchLink = () => loader.load(messageId, index, 'application/octet-stream').then(({ url }) =>
      el('a', { class: 'media-file-link', 'data-testid': 'media-file', href: url, download: name, title: tr('parts.save_name', { name }) }, label()));
    const auto = typeof media.size === 'number' && media.size <= AUTO_FILE_BYTES;
    const { box, run } = mediaBox('file', part, fetchLink, auto);
    if (!auto) {
      box.appendChild(el('button', {
        class: 'media-file-link', type: 'button', 'data-testid': 'media-file-fetch', title: tr('parts.download_name', { name }),
        onclick: () => {
          run();
          // Once here, save it at once: the operator asked for it.
          const watch = new MutationObserver(() => {
            const a = box.querySelector('a[download]');
            if (a) { watch.disconnect(); a.click(); } else if (box.dataset.state === 'error') watch.disconnect();
          });
          watch.observe(box, { childList: true });
        },
      }, label()));
    }
    return box;
  }

  // ---------------------------------------------------------------- lightbox

  let lightbox = null;
  let lightboxReturn = null;

  function openLightbox(url, name) {
    closeLightbox();
    lightboxReturn = document.activeElement;
    const close = el('button', { class: 'lightbox-close', type: 'button', 'aria-label': tr('parts.close'), onclick: closeLightbox }, '×');
    lightbox = el('div', {
      class: 'lightbox', 'data-testid': 'media-overlay', role: 'dialog', 'aria-modal': 'true', 'aria-label': name,
      onclick: (ev) => { if (ev.target === lightbox) closeLightbox(); },
    },
    el('img', { class: 'lightbox-img', src: url, alt: name, onclick: closeLightbox }),
    el('div', { class: 'lightbox-bar' },
      el('span', { class: 'lightbox-name' }, name),
      el('a', { class: 'lightbox-save', href: url, download: name }, tr('parts.download')),
      close));
    document.body.appendChild(lightbox);
    close.focus();
  }

  function closeLightbox() {
    if (!lightbox) return;
    lightbox.remove();
    lightbox = null;
    if (lightboxReturn && typeof lightboxReturn.focus === 'function' && document.contains(lightboxReturn)) lightboxReturn.focus();
    lightboxReturn = null;
  }

  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && lightbox) closeLightbox(); });

  // ---------------------------------------------------------------- parts

  const MEDIA_WIDGETS = { image: imageWidget, file: fileWidget, audio: audioWidget, video: videoWidget, sticker: stickerWidget };
  const PART_LABELS = {
    image: tr('parts.image'), file: tr('parts.file'), audio: tr('parts.audio'), video: tr('parts.video'), sticker: tr('parts.sticker'), location: tr('parts.location'),
    contact: tr('parts.contact'), buttons: tr('parts.buttons'), unsupported: tr('parts.unsupported_content'),
  };

  /** The nodes for a message's parts. `loader`: a media loader, or null (nothing fetched). */
  function renderParts(m, loader) {
    const parts = Array.isArray(m.parts) && m.parts.length ? m.parts : [{ type: 'text', text: m.text || '' }];
    return parts.map((p, index) => renderPart(p && typeof p === 'object' ? p : {}, index, m, loader));
  }

  function renderPart(p, index, m, loader) {
    const type = typeof p.type === 'string' ? p.type : 'unsupported';
    switch (type) {
      case 'text':
        return el('div', { class: 'part-text' }, str(p.text));
      case 'image': case 'file': case 'audio': case 'video': case 'sticker':
        return renderMediaPart(type, p, index, m, loader);
      case 'buttons':
        return el('div', { class: 'part-buttons-block', 'data-part': 'buttons' },
          str(p.text) ? el('div', { class: 'part-text' }, str(p.text)) : null,
          renderButtonChips(Array.isArray(p.buttons) ? p.buttons : []));
      case 'button_reply':
        return el('div', { class: 'part-pill part-button-reply', 'data-part': 'button_reply' },
          el('span', { class: 'part-pill-label' }, tr('parts.pressed')),
          el('span', { class: 'part-pill-value' }, firstString(p, ['title', 'payload'])));
      case 'reaction':
        return str(p.emoji)
          ? el('div', { class: 'part-reaction', 'data-part': 'reaction' },
            el('span', { class: 'part-reaction-emoji' }, str(p.emoji)),
            el('span', { class: 'part-pill-label' }, tr('parts.reaction')))
          : el('div', { class: 'part-reaction is-removed', 'data-part': 'reaction' }, tr('parts.reaction_removed'));
      case 'template': {
        const params = Array.isArray(p.params) ? p.params.map(str) : [];
        return el('div', { class: 'part-template', 'data-part': 'template' },
          el('div', { class: 'part-label' }, tr('parts.template_name', { name: str(p.name), language: str(p.language) })),
          params.length ? el('ol', { class: 'part-template-params' }, params.map((v) => el('li', null, v))) : null);
      }
      default:
        return renderPlaceholder(type, p);
    }
  }

  /** Buttons as chips that do nothing: a title and, for link buttons, the URL as text. */
  function renderButtonChips(buttons) {
    if (!buttons.length) return null;
    return el('div', { class: 'part-buttons' }, buttons.map((b) => {
      const btn = typeof b === 'string' ? { title: b } : (b || {});
      const url = str(btn.url);
      return el('span', { class: 'part-button', 'data-testid': 'part-button', 'data-kind': url ? 'url' : 'reply' },
        el('span', { class: 'part-button-title' }, firstString(btn, ['title', 'text', 'label', 'payload'])),
        url ? el('span', { class: 'part-button-url' }, url) : null);
    }));
  }

  function renderMediaPart(type, p, index, m, loader) {
    const media = p.media && typeof p.media === 'object' ? p.media : {};
    const caption = str(p.caption);
    let head = null;
    if (type === 'sticker') {
      head = el('div', { class: 'part-sticker-head' },
        str(p.emoji) ? el('span', { class: 'part-sticker-emoji' }, str(p.emoji)) : null,
        el('span', { class: 'part-label' }, tr('parts.sticker')));
    } else if (type === 'audio') {
      head = el('div', { class: 'part-media-head' },
        el('span', { class: 'part-label' }, p.voice ? tr('parts.voice_message') : tr('parts.audio')),
        [str(media.filename), formatDuration(typeof p.duration_s === 'number' ? p.duration_s : p.duration)]
          .filter(Boolean).map((t) => el('span', { class: 'part-detail' }, ` · ${t}`)));
    }
    let body;
    if (loader && m.id && !m.local) {
      body = loader.widget(m, index, p, MEDIA_WIDGETS[type]);
    } else {
      // Not stored yet (an outbox entry): name and size only.
      body = el('div', { class: 'media media-pending', 'data-media': type },
        el('span', { class: 'part-label' }, `[${PART_LABELS[type]}]`),
        ' ', [str(media.filename), formatSize(media.size)].filter(Boolean).join(' · '));
    }
    return el('div', { class: `part-media part-${type}`, 'data-part': type },
      head, body, caption ? el('div', { class: 'part-text part-caption' }, caption) : null);
  }

  function renderPlaceholder(type, p) {
    const label = PART_LABELS[type] || tr('parts.unsupported_content_2', { type });
    let detail = '';
    switch (type) {
      case 'location': {
        const coords = (typeof p.latitude === 'number' && typeof p.longitude === 'number')
          ? `${p.latitude.toFixed(5)}, ${p.longitude.toFixed(5)}` : '';
        detail = [firstString(p, ['title', 'name']), firstString(p, ['address']), coords].filter(Boolean).join(' · ');
        break;
      }
      case 'contact':
        detail = [firstString(p, ['name', 'display_name', 'first_name']), firstString(p, ['phone', 'phone_number']),
          firstString(p, ['email'])].filter(Boolean).join(' · ');
        break;
      default:
        detail = [firstString(p, ['kind', 'original_type']), firstString(p, ['description', 'text', 'caption', 'reason'])]
          .filter(Boolean).join(': ');
    }
    return el('div', { class: `part-placeholder part-${type}`, 'data-part': type },
      el('span', { class: 'part-label' }, `[${label}]`),
      detail ? el('span', { class: 'part-detail' }, ` ${detail}`) : null);
  }

  // ---------------------------------------------------------------- routing: words and explanations

  const OUTCOME_LABELS = {
    assign: tr('parts.assigned'), offer: tr('parts.offered'), wait: tr('parts.kept_waiting'), overflow: tr('parts.moved_to_the_overflow_queue'),
    accept: tr('parts.offer_accepted'), decline: tr('parts.offer_declined'), timeout: tr('parts.offer_timed_out'), pick: tr('parts.picked_by_hand'),
    transfer: tr('parts.transferred'), requeue: tr('parts.put_back_in_the_queue'), response_timeout: tr('parts.no_answer_in_time'),
  };
  const outcomeLabel = (o) => OUTCOME_LABELS[o] || String(o || '?').replace(/_/g, ' ');

  const EXCLUSION_LABELS = {
    unknown: tr('parts.unknown_or_disabled'), not_online: tr('parts.not_online'), missing_skill: tr('parts.lacks_a_required_skill'),
    step_skill: tr('parts.lacks_this_step_s_skills'), not_last_operator: tr('parts.not_the_last_operator'),
    declined: tr('parts.declined_or_let_the_offer_time'), offer_pending: tr('parts.already_holds_an_offer_for_it'),
    no_capacity: tr('parts.no_free_capacity'),
  };
  const exclusionLabel = (x) => EXCLUSION_LABELS[x] || String(x || '').replace(/_/g, ' ');

  const ALERT_TARGETS = { first_response: tr('parts.first_response'), resolution: tr('parts.resolution'), response: tr('parts.answer_to_the_customer') };

  /** "SLA warning: first response due soon" and the like, for a routing.alert. */
  function alertLabel(kind, target) {
    const what = ALERT_TARGETS[target] || String(target || '').replace(/_/g, ' ');
    switch (kind) {
      case 'sla_warning': return tr('parts.sla_warning_due_soon', { what });
      case 'sla_breach': return tr('parts.sla_breached_overdue', { what });
      case 'response_overdue': return tr('parts.response_overdue_the_customer_is_waiting');
      default: return `${String(kind || tr('parts.alert')).replace(/_/g, ' ')}${what ? ` (${what})` : ''}`;
    }
  }

  const SCORE_NAMES = { load_ratio: tr('parts.load'), idle_seconds: tr('parts.idle'), turn_distance: tr('parts.turn_distance') };

  function formatNumber(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '';
    return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  }

  /** [["load_ratio", 0.33], ["idle_seconds", null]] → "load 0.33 · idle never assigned". */
  function scoreText(score) {
    if (!Array.isArray(score)) return '';
    return score.map((pair) => {
      const [name, value] = Array.isArray(pair) ? pair : [pair, null];
      const label = SCORE_NAMES[name] || String(name).replace(/_/g, ' ');
      let shown;
      if (value === null || value === undefined) shown = name === 'idle_seconds' ? tr('parts.never_assigned') : '—';
      else if (name === 'idle_seconds') shown = tr('parts.seconds', { n: formatNumber(value) });
      else if (name === 'load_ratio' && typeof value === 'number') shown = `${formatNumber(value)} (${Math.round(value * 100)}%)`;
      else shown = formatNumber(value) || String(value);
      return `${label} ${shown}`;
    }).join(' · ');
  }

  /** A JSON value of a free-form explanation as one line of text. */
  function plainValue(v) {
    if (v === null || v === undefined || v === '') return '—';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return formatNumber(v);
    if (typeof v === 'boolean') return v ? tr('parts.yes') : tr('parts.no');
    if (Array.isArray(v)) return v.length ? v.map(plainValue).join(', ') : '—';
    const entries = Object.entries(v);
    return entries.length ? entries.map(([k, x]) => `${k}=${plainValue(x)}`).join(', ') : '—';
  }

  const MANUAL_KEYS = {
    operator: tr('parts.operator'), by: tr('parts.by'), from: tr('parts.from'), to: tr('parts.to'), to_queue: tr('parts.to_queue'), from_queue: tr('parts.from_queue'),
    skills: tr('parts.skills_required'), note: tr('parts.note'), reason: tr('parts.reason'), offered_at: tr('parts.offered_at'), queue: tr('parts.queue'),
  };
  const OPERATOR_KEYS = new Set(['operator', 'by', 'from', 'to', 'assignee', 'operator_id']);
  const QUEUE_KEYS = new Set(['to_queue', 'from_queue', 'queue', 'queue_id']);

  /**
   * One routing explanation as nodes: a policy decision (step, strategy, winners and a
   * table of every candidate with its score or why it was left out) or a manual one (its
   * fields as a list). names: {operator(id) → label, queue(id) → label, time(iso) → label}.
   */
  function renderExplanation(x, names) {
    const e = x && typeof x === 'object' ? x : {};
    if (!Array.isArray(e.candidates) && typeof e.step !== 'string') {
      const rows = Object.entries(e).map(([key, value]) => {
        let shown;
        if (OPERATOR_KEYS.has(key) && typeof value === 'string') shown = names.operator(value);
        else if (QUEUE_KEYS.has(key) && typeof value === 'string') shown = names.queue(value);
        else if (/_at$/.test(key) && typeof value === 'string') shown = names.time(value);
        else if (key === 'skills' && value && typeof value === 'object' && !Array.isArray(value)) {
          shown = Object.keys(value).length ? Object.entries(value).map(([k, v]) => `${k}≥${plainValue(v)}`).join(', ') : '—';
        }
        else shown = plainValue(value);
        return [MANUAL_KEYS[key] || key.replace(/_/g, ' '), shown];
      });
      return rows.length ? keyValues(rows, 'why-fields') : el('p', { class: 'why-muted' }, tr('parts.no_details_were_recorded'));
    }
    const winners = Array.isArray(e.winners) ? e.winners : [];
    const rows = [
      [tr('parts.step'), str(e.step) || '—'],
      [tr('parts.strategy'), [str(e.strategy).replace(/_/g, ' '), str(e.rule)].filter(Boolean).join(': ') || '—'],
      [tr('parts.waited'), typeof e.waited_seconds === 'number' ? tr('parts.seconds', { n: formatNumber(e.waited_seconds) }) : '—'],
      [tr('parts.priority'), typeof e.priority === 'number' ? String(e.priority) : '—'],
      [tr('parts.winners'), winners.length ? winners.map((w) => names.operator(w)).join(', ') : tr('parts.nobody')],
    ];
    if (Array.isArray(e.winner_score)) rows.push([tr('parts.winning_score'), scoreText(e.winner_score)]);
    const candidates = Array.isArray(e.candidates) ? e.candidates : [];
    const winnerSet = new Set(winners);
    const table = candidates.length ? el('table', { class: 'why-table', 'data-testid': 'why-candidates' },
      el('thead', null, el('tr', null,
        el('th', { scope: 'col' }, tr('parts.operator')), el('th', { scope: 'col' }, tr('parts.result')),
        el('th', { scope: 'col' }, tr('parts.score_or_reason')), el('th', { scope: 'col' }, tr('parts.detail')))),
      el('tbody', null, candidates.map((c) => {
        const cand = c && typeof c === 'object' ? c : {};
        const op = str(cand.operator);
        const excluded = str(cand.excluded);
        const won = winnerSet.has(op);
        return el('tr', {
          'data-testid': 'why-candidate', 'data-operator': op,
          'data-result': excluded ? 'excluded' : (won ? 'winner' : 'eligible'),
          class: excluded ? 'is-excluded' : (won ? 'is-winner' : null),
        },
        el('td', null, names.operator(op)),
        el('td', null, excluded ? tr('parts.result_excluded') : (won ? tr('parts.result_winner') : tr('parts.result_eligible'))),
        el('td', null, excluded ? exclusionLabel(excluded) : scoreText(cand.score)),
        el('td', null, str(cand.detail)));
      }))) : el('p', { class: 'why-muted' }, tr('parts.no_candidates_were_considered'));
    // A large queue's stored decision keeps a sample of the candidates and counts the rest.
    let omitted = null;
    if (typeof e.candidates_total === 'number' && e.candidates_total > candidates.length) {
      const counts = e.excluded_counts && typeof e.excluded_counts === 'object' ? e.excluded_counts : {};
      const parts = Object.keys(counts).map((k) => `${exclusionLabel(k)}: ${Number(counts[k]) || 0}`);
      omitted = el('p', { class: 'why-muted', 'data-testid': 'why-omitted' },
        tr('parts.showing_of_members', { length: candidates.length, candidates_total: e.candidates_total }) +
        (typeof e.eligible_total === 'number' ? tr('parts.eligible', { eligible_total: e.eligible_total }) : '') +
        (parts.length ? tr('parts.excluded_list', { list: parts.join(', ') }) : '.'));
    }
    return el('div', { class: 'why-explanation' }, keyValues(rows, 'why-fields'), table, omitted);
  }

  function keyValues(rows, cls) {
    return el('dl', { class: cls }, rows.map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }

  // ---------------------------------------------------------------- routing styles

  // The routing panels' styles. console.css belongs to the base console; these rules are
  // adopted as a constructed style sheet (CSP's style-src governs <style> and style="",
  // not the CSSOM), so no inline style is ever needed.
  const ROUTING_CSS = `
.offers-section { background: #f5f9ff; }
.offer-list { list-style: none; margin: 0; padding: 0 8px 8px; display: flex; flex-direction: column; gap: 6px; }
.offer-item { padding: 8px 10px; border: 1px solid #c9d8fb; border-left: 3px solid var(--accent); border-radius: var(--radius); background: #fff; }
.offer-item.is-busy { opacity: .7; }
.offer-row { display: flex; align-items: center; gap: 6px; min-width: 0; }
.offer-name { flex: 1; min-width: 0; font-weight: 650; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: left; }
button.offer-name { border: 0; background: none; padding: 0; cursor: pointer; color: inherit; }
button.offer-name:hover { color: var(--accent); text-decoration: underline; }
.offer-countdown { flex: none; min-width: 34px; padding: 0 6px; border-radius: 999px; background: var(--accent-soft); color: var(--accent); font-weight: 700; font-size: 12px; text-align: center; font-variant-numeric: tabular-nums; }
.offer-countdown[data-urgent="true"] { background: #ffebe9; color: var(--danger); }
.offer-queue { margin-top: 2px; color: var(--muted); font-size: 12px; }
.offer-preview { margin-top: 2px; color: var(--text); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.offer-progress { display: block; width: 100%; height: 4px; margin-top: 6px; }
.offer-actions { display: flex; gap: 6px; margin-top: 6px; }
.offer-actions .btn { height: 26px; padding: 0 10px; font-size: 12px; }
.offer-error { margin-top: 4px; color: var(--danger); font-size: 12px; }
.alert-stack { flex: none; list-style: none; margin: 0; padding: 6px 12px; display: flex; flex-direction: column; gap: 4px; background: var(--bg); border-bottom: 1px solid var(--border); max-height: 30vh; overflow-y: auto; }
.alert-item { display: flex; align-items: center; gap: 8px; padding: 5px 8px 5px 10px; border-radius: var(--radius); font-size: 12px; background: #fff4d6; color: #6b4a00; border: 1px solid #f0d78a; border-left: 3px solid #d4a72c; }
.alert-item[data-kind="sla_breach"], .alert-item[data-kind="response_overdue"] { background: #ffebe9; color: #82071e; border-color: #ffcecb; border-left-color: var(--danger); }
.alert-kind { font-weight: 650; }
.alert-text { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.alert-item .link-btn { margin-left: 0; font-size: 12px; color: inherit; font-weight: 600; }
.alert-dismiss { flex: none; width: 22px; height: 22px; border: 0; border-radius: 4px; background: none; color: inherit; font-size: 15px; line-height: 1; cursor: pointer; }
.alert-dismiss:hover { background: rgba(0, 0, 0, .08); }
.btn[aria-pressed="true"] { background: var(--accent-soft); border-color: #c9d8fb; color: var(--accent); }
.queues-view { flex: 1; min-height: 0; overflow: auto; padding: 14px 16px; }
.queues-head { display: flex; align-items: center; gap: 10px; margin-bottom: 10px; }
.queues-head h2 { margin: 0; font-size: 15px; font-weight: 650; }
.queues-updated { color: var(--faint); font-size: 12px; margin-right: auto; }
.data-table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius); font-size: 12px; }
.data-table th, .data-table td { padding: 6px 10px; text-align: left; border-bottom: 1px solid var(--border); vertical-align: top; }
.data-table th { font-weight: 650; color: var(--muted); background: #f6f8fa; white-space: nowrap; }
.data-table tbody th { font-weight: 600; color: var(--text); background: none; }
.data-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.data-table tr.has-breach td.breaches { color: var(--danger); font-weight: 700; }
.queues-settings { color: var(--muted); }
.queues-error, .dialog-error { margin: 0 0 10px; padding: 6px 10px; border-radius: var(--radius); background: #ffebe9; color: var(--danger); border: 1px solid #ffcecb; font-size: 12px; }
.panel-dialog { width: min(560px, 92vw); max-height: 86vh; padding: 0; border: 1px solid var(--border-strong); border-radius: 10px; box-shadow: 0 16px 40px rgba(31, 35, 40, .22); color: var(--text); }
.panel-dialog.wide { width: min(900px, 94vw); }
.panel-dialog::backdrop { background: rgba(15, 17, 20, .35); }
.dialog-head { display: flex; align-items: center; gap: 8px; padding: 12px 16px; border-bottom: 1px solid var(--border); }
.dialog-head h2 { flex: 1; margin: 0; font-size: 15px; font-weight: 650; }
.dialog-body { padding: 12px 16px; overflow: auto; max-height: calc(86vh - 110px); }
.dialog-foot { display: flex; justify-content: flex-end; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--border); }
.dialog-close { width: 28px; height: 28px; border: 0; border-radius: 50%; background: none; color: var(--muted); font-size: 18px; line-height: 1; cursor: pointer; }
.dialog-close:hover { background: #eef0f2; color: var(--text); }
.transfer-modes { display: flex; gap: 16px; margin: 0 0 10px; padding: 0; border: 0; }
.transfer-modes label { display: inline-flex; align-items: center; gap: 5px; cursor: pointer; }
.dialog-field { display: block; margin-bottom: 10px; }
.dialog-field > span { display: block; margin-bottom: 4px; font-weight: 500; }
.dialog-field select, .dialog-field input, .dialog-field textarea { width: 100%; padding: 5px 8px; border: 1px solid var(--border-strong); border-radius: var(--radius); background: #fff; }
.dialog-field select, .dialog-field input { height: 30px; }
.dialog-field textarea { min-height: 60px; resize: vertical; }
.dialog-field :focus { outline: none; border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.dialog-hint { display: block; margin-top: 3px; color: var(--faint); font-size: 11px; }
.why-section + .why-section { margin-top: 14px; }
.why-section h3 { margin: 0 0 6px; font-size: 13px; font-weight: 650; }
.why-decisions { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.why-decision { padding: 8px 10px; border: 1px solid var(--border); border-radius: var(--radius); background: #fbfcfd; }
.why-decision-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; margin-bottom: 4px; }
.why-outcome { font-weight: 700; }
.why-decision[data-outcome="assign"] .why-outcome, .why-decision[data-outcome="accept"] .why-outcome, .why-decision[data-outcome="pick"] .why-outcome { color: var(--ok); }
.why-decision[data-outcome="timeout"] .why-outcome, .why-decision[data-outcome="decline"] .why-outcome, .why-decision[data-outcome="response_timeout"] .why-outcome { color: var(--warn); }
.why-time, .why-queue { color: var(--muted); font-size: 12px; }
.why-fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 6px; font-size: 12px; }
.why-fields dt { color: var(--muted); }
.why-fields dd { margin: 0; overflow-wrap: anywhere; }
.why-table { width: 100%; border-collapse: collapse; font-size: 12px; background: #fff; }
.why-table th, .why-table td { padding: 3px 8px; border: 1px solid var(--border); text-align: left; vertical-align: top; }
.why-table th { background: #f6f8fa; color: var(--muted); font-weight: 600; }
.why-table tr.is-winner td { background: #e6f4ea; }
.why-table tr.is-excluded td { color: var(--muted); }
.why-muted { margin: 0; color: var(--faint); font-style: italic; }
`;

  function installRoutingStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(ROUTING_CSS);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    } catch (_) { /* an old browser: the panels still work, unstyled */ }
  }
  installRoutingStyles();

  // ---------------------------------------------------------------- business hours as text

  const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

  /** {"mon": ["09:00-13:00", "14:00-20:00"], …} → the CLI's "mon-fri 09:00-13:00,14:00-20:00; sat …". */
  function weekToText(week) {
    const w = week && typeof week === 'object' ? week : {};
    const hours = DAY_NAMES.map((d) => (Array.isArray(w[d]) ? w[d].filter((x) => typeof x === 'string').join(',') : ''));
    const clauses = [];
    let i = 0;
    while (i < 7) {
      let j = i;
      while (j + 1 < 7 && hours[j + 1] === hours[i]) j += 1;
      if (hours[i]) clauses.push(`${i === j ? DAY_NAMES[i] : `${DAY_NAMES[i]}-${DAY_NAMES[j]}`} ${hours[i]}`);
      i = j + 1;
    }
    return clauses.length ? clauses.join('; ') : 'mon-sun closed';  // the schedule grammar, not a label
  }

  /** "a, b\nc" → ["a", "b", "c"] (commas or new lines). */
  function splitList(text) {
    return String(text || '').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
  }

  /** {"2027-03-06": ["10:00-16:00"], "2027-03-08": []} → "2027-03-06=10:00-16:00\n2027-03-08=closed". */
  function exceptionsToText(exceptions) {
    const e = exceptions && typeof exceptions === 'object' ? exceptions : {};
    return Object.keys(e).sort().map((day) => {
      const list = Array.isArray(e[day]) ? e[day] : [];
      return `${day}=${list.length ? list.join(',') : 'closed'}`;
    }).join('\n');
  }

  /** The inverse (the CLI's --open grammar, one a line); throws Error with a sentence. */
  function parseExceptions(text) {
    const out = {};
    for (const raw of String(text || '').split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const eq = line.indexOf('=');
      if (eq < 0) throw new Error(tr('parts.exception_the_between_the_date_and', { line }));
      const day = line.slice(0, eq).trim();
      const hours = line.slice(eq + 1).trim();
      if (Object.prototype.hasOwnProperty.call(out, day)) throw new Error(tr('parts.exception_is_given_twice_give_each', { line, day }));
      out[day] = /^closed$/i.test(hours) ? [] : hours.split(',').map((x) => x.trim()).filter(Boolean);
      if (!out[day].length && !/^closed$/i.test(hours)) throw new Error(tr('parts.exception_the_hours_are_missing_write', { line }));
    }
    return out;
  }

  // ---------------------------------------------------------------- money

  // Money is never a float here: JSON carries decimal strings ("1725.00"), sums are BigInt
  // minor units (kopecks, cents), and Intl only draws the result. The exponents are the
  // server's (payments/money.py).
  const CURRENCY_EXPONENT = { RUB: 2, USD: 2, EUR: 2 };
  const CURRENCIES = Object.keys(CURRENCY_EXPONENT);
  const exponentOf = (currency) => (Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENT, currency) ? CURRENCY_EXPONENT[currency] : 2);
  const MONEY_TEXT = /^(\d{1,13})(?:[.,](\d*))?$/;

  /** "1725.00", "1725,5", "1725" → 172500n (BigInt minor units); null for anything else
   *  (a sign, letters, more decimals than the currency has). */
  function parseMoney(text, currency) {
    const m = MONEY_TEXT.exec(String(text == null ? '' : text).trim());
    if (!m) return null;
    const exp = exponentOf(currency);
    const frac = m[2] || '';
    if (frac.length > exp) return null;
    return BigInt(m[1]) * 10n ** BigInt(exp) + BigInt(frac.padEnd(exp, '0') || '0');
  }

  /** 172500n → "1725.00" (the JSON form). */
  function moneyToString(minor, currency) {
    const exp = exponentOf(currency);
    const neg = minor < 0n;
    const abs = neg ? -minor : minor;
    const unit = 10n ** BigInt(exp);
    const whole = (abs / unit).toString();
    const frac = exp ? `.${(abs % unit).toString().padStart(exp, '0')}` : '';
    return `${neg ? '-' : ''}${whole}${frac}`;
  }

  const moneyFormats = new Map();   // "locale|currency" → Intl.NumberFormat | null

  function moneyFormat(locale, currency) {
    const key = `${locale}|${currency}`;
    if (!moneyFormats.has(key)) {
      const exp = exponentOf(currency);
      let nf = null;
      try {
        nf = new Intl.NumberFormat(locale, {
          style: 'currency', currency, minimumFractionDigits: exp, maximumFractionDigits: exp,
        });
      } catch (_) { nf = null; }
      moneyFormats.set(key, nf);
    }
    return moneyFormats.get(key);
  }

  /** 345010n, "RUB", "ru-RU" → "3 450,10 ₽"; "en-US" → "RUB 3,450.10". Exact: Intl formats
   *  the whole units (an integer) and the fraction digits are ours, never a float's. */
  function formatMoney(minor, currency, locale) {
    if (typeof minor !== 'bigint') return '';
    const exp = exponentOf(currency);
    const neg = minor < 0n;
    const abs = neg ? -minor : minor;
    const unit = 10n ** BigInt(exp);
    const whole = abs / unit;
    const frac = (abs % unit).toString().padStart(exp, '0');
    const nf = moneyFormat(locale, currency);
    if (!nf || typeof nf.formatToParts !== 'function') return `${neg ? '-' : ''}${moneyToString(abs, currency)} ${currency}`;
    const integer = whole <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(whole) : whole;
    const text = nf.formatToParts(integer).map((p) => (p.type === 'fraction' ? frac : p.value)).join('');
    return neg ? `-${text}` : text;
  }

  /** A decimal string from the server ("3450.10") drawn for the locale; the string itself
   *  when it is not one. */
  function formatAmount(text, currency, locale) {
    const minor = parseMoney(text, currency);
    return minor === null ? String(text == null ? '' : text) : formatMoney(minor, currency, locale);
  }

  return {
    weekToText, splitList, exceptionsToText, parseExceptions,
    CURRENCIES, exponentOf, parseMoney, moneyToString, formatMoney, formatAmount,
    el, append, clear, setText, firstString, formatSize, channelLabel, partTypeOfMime,
    SAFE_IMAGE, createMediaLoader, renderParts, renderButtonChips, closeLightbox,
    outcomeLabel, exclusionLabel, alertLabel, scoreText, formatNumber, renderExplanation, keyValues,
  };
})();
