// The REST API's docs page (/api/docs, docs/openapi.md): reads /api/openapi.json and lists
// its tags, operations (method, path, least role, parameters, body, responses) and schemas.
// No library and no build step. Every text comes from the document and goes into the page
// with textContent only: nothing of it is ever parsed as HTML.
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
  let doc = null;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text) {
    const a = el("a", null, text);
    a.setAttribute("href", "#" + encodeURIComponent(href));
    return a;
  }

  function refName(ref) {
    return String(ref).split("/").pop();
  }

  // "#/components/responses/BadRequest" -> that object of the document (or {}).
  function resolve(ref) {
    let node = doc;
    for (const raw of String(ref).replace(/^#\//, "").split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      node = node && Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    }
    return node || {};
  }

  function deref(obj) {
    let seen = 0;
    while (obj && obj.$ref && seen++ < 10) obj = resolve(obj.$ref);
    return obj || {};
  }

  function typeText(schema) {
    if (!schema || typeof schema !== "object") return "any";
    if (schema.$ref) return refName(schema.$ref);
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.oneOf || schema.anyOf) return "one of";
    let type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || "any";
    if (schema.type === "array" && schema.items) type = "array of " + typeText(schema.items);
    if (schema.format) type += " (" + schema.format + ")";
    return type;
  }

  function notes(schema) {
    const out = [];
    if (!schema || typeof schema !== "object") return out;
    if (schema.enum) out.push("one of: " + schema.enum.map((v) => JSON.stringify(v)).join(", "));
    const limits = [
      ["minimum", "≥ "], ["maximum", "≤ "], ["minLength", "length ≥ "], ["maxLength", "length ≤ "],
      ["minItems", "items ≥ "], ["maxItems", "items ≤ "],
    ];
    for (const [key, label] of limits) if (schema[key] !== undefined) out.push(label + schema[key]);
    if (schema.pattern) out.push("pattern " + schema.pattern);
    if (schema.default !== undefined) out.push("default " + JSON.stringify(schema.default));
    if (schema.description) out.push(schema.description);
    return out;
  }

  // A schema as a nested list; references are links to the schema's own entry.
  function schemaNode(schema, depth) {
    const box = el("div", "schema");
    const head = el("span", "type");
    const items = schema && schema.type === "array" ? schema.items : null;
    if (schema && schema.$ref) {
      head.appendChild(link("schema-" + refName(schema.$ref), refName(schema.$ref)));
    } else if (items && items.$ref) {
      head.appendChild(document.createTextNode("array of "));
      head.appendChild(link("schema-" + refName(items.$ref), refName(items.$ref)));
    } else {
      head.textContent = typeText(schema);
    }
    box.appendChild(head);
    const extra = notes(schema).join(" · ");
    if (extra) box.appendChild(el("span", "note", " — " + extra));
    if (!schema || schema.$ref || depth > 6) return box;
    const list = el("ul");
    const required = new Set(schema.required || []);
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const li = el("li");
      li.appendChild(el("span", "name", name));
      if (required.has(name)) li.appendChild(el("span", "req", "*"));
      li.appendChild(document.createTextNode(": "));
      li.appendChild(schemaNode(prop, depth + 1));
      list.appendChild(li);
    }
    for (const alt of schema.oneOf || schema.anyOf || []) {
      const li = el("li");
      if (alt && alt.title) li.appendChild(el("span", "name", alt.title + ": "));
      li.appendChild(schemaNode(alt, depth + 1));
      list.appendChild(li);
    }
    if (schema.type === "array" && schema.items && !schema.items.$ref && schema.items.properties) {
      const li = el("li");
      li.appendChild(schemaNode(schema.items, depth + 1));
      list.appendChild(li);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
      const li = el("li");
      li.appendChild(el("span", "name", "{any key}: "));
      li.appendChild(schemaNode(schema.additionalProperties, depth + 1));
      list.appendChild(li);
    }
    if (list.childNodes.length) box.appendChild(list);
    return box;
  }

  function parametersTable(params) {
    const table = el("table");
    const head = el("tr");
    for (const h of ["name", "in", "type", "about"]) head.appendChild(el("th", null, h));
    table.appendChild(head);
    for (const raw of params) {
      const p = deref(raw);
      const row = el("tr");
      row.appendChild(el("td", "mono", p.name + (p.required ? " *" : "")));
      row.appendChild(el("td", null, p.in));
      row.appendChild(el("td", "mono", typeText(p.schema)));
      const about = [p.description || "", ...notes(p.schema || {})];
      row.appendChild(el("td", null, about.filter(Boolean).join(" · ")));
      table.appendChild(row);
    }
    return table;
  }

  function contentNodes(content) {
    const out = [];
    for (const [type, media] of Object.entries(content || {})) {
      out.push(el("div", "muted mono", type));
      out.push(schemaNode(media.schema || {}, 0));
    }
    return out;
  }

  function operationNode(path, method, op, pathParams) {
    const box = el("article", "op");
    box.id = "op-" + (op.operationId || method + path);
    const title = el("h3");
    title.appendChild(el("span", "method " + method, method));
    title.appendChild(el("code", null, path));
    title.appendChild(el("span", null, op.summary || ""));
    const role = op.security && op.security.length === 0 ? "no token" : op["x-min-role"];
    if (role) title.appendChild(el("span", "role", role === "no token" ? role : role + "+"));
    box.appendChild(title);
    if (op.description) box.appendChild(el("p", "description", op.description));
    const params = [...(pathParams || []), ...(op.parameters || [])];
    if (params.length) {
      box.appendChild(el("h4", null, "Parameters"));
      box.appendChild(parametersTable(params));
    }
    if (op.requestBody) {
      const body = deref(op.requestBody);
      box.appendChild(el("h4", null, "Body" + (body.required ? " (required)" : "")));
      for (const node of contentNodes(body.content)) box.appendChild(node);
    }
    box.appendChild(el("h4", null, "Responses"));
    const table = el("table");
    for (const [status, raw] of Object.entries(op.responses || {})) {
      const response = deref(raw);
      const row = el("tr");
      row.appendChild(el("td", "mono", status));
      const cell = el("td");
      cell.appendChild(el("div", null, response.description || ""));
      for (const node of contentNodes(response.content)) cell.appendChild(node);
      row.appendChild(cell);
      table.appendChild(row);
    }
    box.appendChild(table);
    box.dataset.method = method;
    box.dataset.search = [path, method, op.summary, (op.tags || []).join(" ")].join(" ").toLowerCase();
    return box;
  }

  function render() {
    const content = document.getElementById("content");
    const toc = document.getElementById("toc");
    content.replaceChildren();
    toc.replaceChildren();
    const info = doc.info || {};
    document.getElementById("title").textContent = info.title || "REST API";
    document.title = info.title || "REST API";
    if (info.description) content.appendChild(el("p", "description", info.description));

    const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const name = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(name)) byTag.set(name, { tag: { name }, ops: [] });
        byTag.get(name).ops.push(operationNode(path, method, op, item.parameters));
      }
    }
    for (const { tag, ops } of byTag.values()) {
      if (!ops.length) continue;
      const section = el("section", "tag");
      section.id = "tag-" + tag.name;
      section.appendChild(el("h2", null, tag.name));
      if (tag.description) section.appendChild(el("p", "muted", tag.description));
      toc.appendChild(el("h3", null, tag.name));
      for (const op of ops) {
        section.appendChild(op);
        const entry = link(op.id, "");
        entry.appendChild(el("span", "method " + op.dataset.method, op.dataset.method));
        entry.appendChild(document.createTextNode(op.querySelector("code").textContent));
        entry.title = op.querySelector("h3").textContent;
        entry.dataset.search = op.dataset.search;
        toc.appendChild(entry);
      }
      content.appendChild(section);
    }

    const schemas = (doc.components && doc.components.schemas) || {};
    const section = el("section", "tag schemas");
    section.appendChild(el("h2", null, "Schemas"));
    toc.appendChild(el("h3", null, "schemas"));
    for (const name of Object.keys(schemas).sort()) {
      const box = el("article", "op");
      box.id = "schema-" + name;
      box.appendChild(el("h3", null, name));
      box.appendChild(schemaNode(schemas[name], 0));
      box.dataset.search = "schema " + name.toLowerCase();
      section.appendChild(box);
      const entry = link(box.id, name);
      entry.dataset.search = box.dataset.search;
      toc.appendChild(entry);
    }
    content.appendChild(section);
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  function applyFilter() {
    const words = document.getElementById("filter").value.trim().toLowerCase();
    for (const node of document.querySelectorAll("[data-search]")) {
      node.hidden = Boolean(words) && !node.dataset.search.includes(words);
    }
  }

  async function load() {
    const status = document.getElementById("status");
    try {
      const resp = await fetch("/api/openapi.json", { headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      doc = await resp.json();
      render();
    } catch (err) {
      status.textContent = "Could not load /api/openapi.json: " + err.message;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("filter").addEventListener("input", applyFilter);
    load();
  });
})();
