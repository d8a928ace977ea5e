// The console's languages: the chosen language, the message catalogue and Intl formatting.
//
// Catalogues: static/i18n-en.js and static/i18n-ru.js (loaded before this file), one object
// each of keyed strings with {placeholders}; a value may be an object of plural forms
// ({one, few, many, other}, chosen with Intl.PluralRules). A key missing in a language falls
// back to English, then to the key itself. docs/console-ui.md tells how to add a string.
//
// The language: localStorage "inbox.lang" (the operator's choice in the header), else the
// browser's (navigator.language ru* → ru), else English. Changing it reloads the page (the
// token and the outbox are in localStorage, so nothing is lost).
//
// Static markup is translated through attributes: data-i18n="key" (the element's text) and
// data-i18n-attr="placeholder:key;title:key2" (attributes).
'use strict';

window.InboxI18n = (() => {
  const LANG_KEY = 'inbox.lang';
  const LANGS = ['en', 'ru'];
  const CATALOGUES = window.InboxI18nCatalogues || {};

  function browserLang() {
    const list = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || 'en'];
    return /^ru\b/i.test(String(list[0] || '')) ? 'ru' : 'en';
  }

  function storedLang() {
    try {
      const v = localStorage.getItem(LANG_KEY);
      return LANGS.includes(v) ? v : null;
    } catch (_) {
      return null;
    }
  }

  const lang = storedLang() || browserLang();
  // Intl locale: the browser's own when it is of this language (en-US, en-GB), else the language.
  const nav = String(navigator.language || '');
  const locale = nav.toLowerCase().split('-')[0] === lang ? nav : (lang === 'ru' ? 'ru-RU' : 'en-GB');
  const plurals = new Intl.PluralRules(locale);
  document.documentElement.lang = lang;

  function lookup(key) {
    const own = CATALOGUES[lang] && CATALOGUES[lang][key];
    if (own !== undefined) return own;
    const en = CATALOGUES.en && CATALOGUES.en[key];
    return en !== undefined ? en : key;
  }

  function fill(text, params) {
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (all, name) => (
      Object.prototype.hasOwnProperty.call(params, name) && params[name] !== undefined && params[name] !== null
        ? String(params[name]) : all));
  }

  /** The message `key` in the chosen language, {placeholders} filled from `params`. */
  function t(key, params) {
    const v = lookup(key);
    return fill(typeof v === 'string' ? v : (v.other || key), params);
  }

  /** A plural message: the form for `n` (Intl.PluralRules); {n} is n formatted. */
  function tn(key, n, params) {
    const v = lookup(key);
    const forms = typeof v === 'string' ? { other: v } : v;
    const form = forms[plurals.select(n)] || forms.other || key;
    return fill(form, Object.assign({ n: number(n) }, params || {}));
  }

  const numberFormats = new Map();
  function number(n, options) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
    const k = JSON.stringify(options || {});
    if (!numberFormats.has(k)) numberFormats.set(k, new Intl.NumberFormat(locale, options));
    return numberFormats.get(k).format(n);
  }

  function dateTime(value, options) {
    const d = value instanceof Date ? value : new Date(value);
    return Number.isNaN(d.getTime()) ? '' : new Intl.DateTimeFormat(locale, options).format(d);
  }

  /** Translate data-i18n / data-i18n-attr under `root`. */
  function apply(root) {
    const base = root || document;
    for (const node of base.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of base.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of node.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':').map((x) => x.trim());
        if (attr && key) node.setAttribute(attr, t(key));
      }
    }
  }

  function setLang(next) {
    if (!LANGS.includes(next) || next === lang) return;
    try { localStorage.setItem(LANG_KEY, next); } catch (_) { /* private mode: this page only */ }
    location.reload();
  }

  // The console's markup is parsed by now (the scripts are deferred).
  apply(document);

  return { lang, locale, langs: LANGS, t, tn, number, dateTime, apply, setLang, catalogues: CATALOGUES };
})();
