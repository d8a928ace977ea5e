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
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1048576).toFixed(1)} MB`;
  }

  function formatDuration(s) {
    if (typeof s !== 'number' || !(s >= 0)) return '';
    const total = Math.round(s);
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }

  const CHANNEL_LABELS = {
    telegram: 'Telegram', vk: 'VK', whatsapp: 'WhatsApp', viber: 'Viber', email: 'Email', webchat: 'Web chat',
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
      box.appendChild(el('span', { class: 'media-state' }, `Loading ${kind === 'file' ? 'file' : kind}…`));
      start().then((node) => {
        box.dataset.state = 'ready';
        clear(box);
        box.appendChild(node);
      }, (err) => {
        if (err && err.name === 'AbortError') return;
        box.dataset.state = 'error';
        clear(box);
        box.appendChild(el('span', { class: 'media-unavailable', 'data-testid': 'media-unavailable', title: (err && err.message) || '' },
          'File unavailable'));
        if (media.filename) box.appendChild(el('span', { class: 'media-name' }, ` · ${media.filename}`));
        box.appendChild(el('button', { class: 'link-btn', type: 'button', onclick: run }, 'Retry'));
      });
    };
    if (auto) run();
    return { box, run };
  }

  function imageWidget(messageId, index, part, loader) {
    const media = part.media || {};
    const mime = mimeOf(media);
    if (!SAFE_IMAGE.has(mime)) return fileWidget(messageId, index, part, loader);
    const name = str(media.filename) || 'Image';
    return mediaBox('image', part, () => loader.load(messageId, index, mime).then(({ url }) =>
      el('button', { class: 'media-thumb-btn', type: 'button', title: `${name} — open full size`, onclick: () => openLightbox(url, name) },
        el('img', { class: 'media-thumb', 'data-testid': 'media-image', src: url, alt: name }))), true).box;
  }

  function stickerWidget(messageId, index, part, loader) {
    const mime = mimeOf(part.media);
    if (SAFE_IMAGE.has(mime)) {
      return mediaBox('sticker', part, () => loader.load(messageId, index, mime).then(({ url }) =>
        el('img', { class: 'media-sticker', src: url, alt: str(part.emoji) || 'Sticker' })), true).box;
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
      node.replaceWith(el('span', { class: 'media-state' }, 'This file cannot be played here. ',
        el('a', { href: downloadUrl, download: name, class: 'media-file-link' }, 'Download')));
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
      ['Load video', str(media.filename), formatSize(media.size)].filter(Boolean).join(' · ')));
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
      el('a', { class: 'media-file-link', 'data-testid': 'media-file', href: url, download: name, title: `Save ${name}` }, label()));
    const auto = typeof media.size === 'number' && media.size <= AUTO_FILE_BYTES;
    const { box, run } = mediaBox('file', part, fetchLink, auto);
    if (!auto) {
      box.appendChild(el('button', {
        class: 'media-file-link', type: 'button', 'data-testid': 'media-file-fetch', title: `Download ${name}`,
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
    const close = el('button', { class: 'lightbox-close', type: 'button', 'aria-label': 'Close', onclick: closeLightbox }, '×');
    lightbox = el('div', {
      class: 'lightbox', 'data-testid': 'media-overlay', role: 'dialog', 'aria-modal': 'true', 'aria-label': name,
      onclick: (ev) => { if (ev.target === lightbox) closeLightbox(); },
    },
    el('img', { class: 'lightbox-img', src: url, alt: name, onclick: closeLightbox }),
    el('div', { class: 'lightbox-bar' },
      el('span', { class: 'lightbox-name' }, name),
      el('a', { class: 'lightbox-save', href: url, download: name }, 'Download'),
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
    image: 'Image', file: 'File', audio: 'Audio', video: 'Video', sticker: 'Sticker', location: 'Location',
    contact: 'Contact', buttons: 'Buttons', unsupported: 'Unsupported content',
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
          el('span', { class: 'part-pill-label' }, 'pressed: '),
          el('span', { class: 'part-pill-value' }, firstString(p, ['title', 'payload'])));
      case 'reaction':
        return str(p.emoji)
          ? el('div', { class: 'part-reaction', 'data-part': 'reaction' },
            el('span', { class: 'part-reaction-emoji' }, str(p.emoji)),
            el('span', { class: 'part-pill-label' }, ' reaction'))
          : el('div', { class: 'part-reaction is-removed', 'data-part': 'reaction' }, 'reaction removed');
      case 'template': {
        const params = Array.isArray(p.params) ? p.params.map(str) : [];
        return el('div', { class: 'part-template', 'data-part': 'template' },
          el('div', { class: 'part-label' }, `Template ${str(p.name)} (${str(p.language)})`),
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
        el('span', { class: 'part-label' }, 'Sticker'));
    } else if (type === 'audio') {
      head = el('div', { class: 'part-media-head' },
        el('span', { class: 'part-label' }, p.voice ? 'Voice message' : 'Audio'),
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
    const label = PART_LABELS[type] || `Unsupported content (${type})`;
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

  return {
    el, append, clear, setText, firstString, formatSize, channelLabel, partTypeOfMime,
    SAFE_IMAGE, createMediaLoader, renderParts, renderButtonChips, closeLightbox,
  };
})();
