/* Herald API docs: a small dependency-free OpenAPI 3.x viewer.
 * DOM is built with createElement/textContent only; spec data never reaches innerHTML. */
(() => {
  'use strict';
  const SPEC_URL = '/api/openapi.json';
  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];
  const FMT = { 'date-time': '2024-01-01T00:00:00Z', date: '2024-01-01', uuid: '00000000-0000-0000-0000-000000000000',
    email: 'user@example.com', uri: 'https://example.com' };
  const COMB = { allOf: 'All of:', oneOf: 'Exactly one of:', anyOf: 'Any of:' };
  const LIMITS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength',
    'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties'];
  let spec = {};
  let apiKey = '';
  let fieldN = 0;
  const usedIds = new Set();
  const items = [];
  const groups = [];
  const $ = (id) => document.getElementById(id);
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const own = (o, k) => isObj(o) && Object.prototype.hasOwnProperty.call(o, k);
  const str = (v) => (typeof v === 'string' ? v : String(JSON.stringify(v)));
  const obj = (v) => (isObj(v) ? v : {});

  // ---------- DOM ----------
  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (typeof v === 'function') e.addEventListener(k, v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    return add(e, kids);
  }
  function add(e, kids) {
    for (const c of kids.flat(Infinity)) if (c != null && c !== false && c !== '') e.append(c);
    return e;
  }
  const codes = (vals) => vals.map((v) => [el('code', { text: str(v) }), ' ']);
  const kv = (label, ...vals) => el('div', { class: 'kv' }, el('span', { class: 'k', text: label + ' ' }), vals);
  const tag = (text, cls) => el('span', { class: 'tag ' + (cls || ''), text });
  // Minimal Markdown: paragraphs, "-" lists, `code`, **bold**.
  const inline = (t) => String(t).split('`').map((p, i) => (i % 2 ? el('code', { text: p })
    : p.split(/\*\*(?=\S)(.+?)\*\*/).map((q, j) => (j % 2 ? el('strong', { text: q }) : q))));
  function md(text) {
    const d = el('div', { class: 'md' });
    const ok = typeof text === 'string' || typeof text === 'number';
    for (const block of ok ? String(text).trim().split(/\n\s*\n/) : []) {
      const lines = block.split('\n');
      d.append(lines.every((l) => /^\s*[-*+] /.test(l))
        ? el('ul', null, lines.map((l) => el('li', null, inline(l.replace(/^\s*[-*+] /, '')))))
        : el('p', null, inline(block)));
    }
    return d;
  }
  const errBox = (title, detail) => el('div', { class: 'error', role: 'alert' }, el('strong', { text: title }), ' ', detail);
  const slug = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  function uniqueId(base) {
    let id = base;
    for (let i = 2; usedIds.has(id) || $(id); i++) id = base + '-' + i;
    usedIds.add(id);
    return id;
  }
  const badge = (m, extra) => el('span', { class: 'm m-' + m + (extra || ''), text: m.toUpperCase() });

  // ---------- $ref ----------
  function pointer(ref) {
    if (!ref.startsWith('#/')) return undefined;
    let o = spec;
    for (const raw of ref.slice(2).split('/')) {
      let k;
      try { k = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~'); } catch (_) { return undefined; }
      if (!own(o, k)) return undefined;
      o = o[k];
    }
    return o;
  }
  const refName = (ref) => String(ref).split('/').pop().replace(/~1/g, '/').replace(/~0/g, '~');
  // Follows a $ref chain. `stack` holds refs already expanded on this branch (cycle guard).
  // 3.1 sibling keywords next to $ref (e.g. description) override the target's.
  function resolve(x, stack) {
    let s = obj(x);
    let name = null;
    const st = new Set(stack);
    while (typeof s.$ref === 'string') {
      const ref = s.$ref;
      name = refName(ref);
      if (st.has(ref)) return { s: {}, name, st, cyc: true };
      st.add(ref);
      const { $ref, ...rest } = s;
      const t = pointer(ref);
      if (!isObj(t)) return { s: rest, name, st, missing: ref };
      s = { ...t, ...rest };
    }
    return { s, name, st };
  }
  const deref = (x) => resolve(x).s;

  // ---------- schemas ----------
  function types(s) {
    const t = (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []).map(String);
    if (!t.length && (s.properties || isObj(s.additionalProperties))) t.push('object');
    if (!t.length && s.items) t.push('array');
    if (s.nullable === true && !t.includes('null')) t.push('null');
    return t;
  }
  function typeLabel(s) {
    const t = types(s).map((x) => (x === 'array' ? 'array<' + itemLabel(s.items) + '>' : x));
    return t.length ? t.join(' | ') : s.allOf || s.oneOf || s.anyOf || own(s, 'const') || s.enum ? '' : 'any';
  }
  function itemLabel(it) {
    if (!isObj(it)) return 'any';
    if (typeof it.$ref === 'string') return refName(it.$ref);
    const np = nullPair(it);
    return np ? itemLabel(np) + ' | null' : typeLabel(it) || 'mixed';
  }
  // `oneOf: [X, {type: "null"}]` (how 3.1 generators express Option<T>) -> X
  function nullPair(s) {
    const alt = s.oneOf || s.anyOf;
    if (!Array.isArray(alt) || alt.length !== 2 || s.properties) return null;
    const i = alt.findIndex((x) => isObj(x) && x.type === 'null' && Object.keys(x).length === 1);
    return i < 0 || !isObj(alt[1 - i]) ? null : alt[1 - i];
  }
  const unNull = (s) => { const np = nullPair(s); return np ? { ...deref(np), nullable: true } : s; };
  function row(label, schema, req, stack, depth) {
    const r = resolve(schema, stack);
    const s = r.s;
    const np = !r.cyc && nullPair(s);
    if (np) {
      const { oneOf, anyOf, ...rest } = s;
      return row(label, { ...np, ...rest, nullable: true }, req, r.st, depth);
    }
    const ty = r.cyc ? '' : typeLabel(s);
    const head = el('span', { class: 'sh' },
      label != null && el('span', { class: 'pn', text: label }), req && tag('required', 'req'),
      ty && el('span', { class: 'ty', text: ty }), s.format != null && el('span', { class: 'fmt', text: '(' + str(s.format) + ')' }),
      r.name && el('span', { class: 'ref', text: r.name }), s.deprecated === true && tag('deprecated', 'dep'),
      s.readOnly === true && tag('read-only'), s.writeOnly === true && tag('write-only'));
    if (r.cyc) return el('li', { class: 'sn' }, head, el('span', { class: 'note', text: ' (recursive, shown above)' }));
    const ex = own(s, 'example') ? [s.example] : Array.isArray(s.examples) ? s.examples.slice(0, 3) : [];
    const lim = LIMITS.filter((k) => own(s, k)).map((k) => k + ' ' + str(s[k]));
    const body = [r.missing && el('div', { class: 'note', text: 'Unresolved reference ' + r.missing }),
      (s.description || s.title) && md(s.description || s.title),
      Array.isArray(s.enum) && kv('Allowed:', codes(s.enum)), own(s, 'const') && kv('Constant:', codes([s.const])),
      own(s, 'default') && kv('Default:', codes([s.default])), ex.length > 0 && kv('Example:', codes(ex)),
      lim.length > 0 && kv('Constraints:', lim.join(', '))];
    const kids = [];
    if (depth > 24) kids.push(el('li', { class: 'note', text: '… (nesting too deep)' }));
    else {
      const reqs = Array.isArray(s.required) ? s.required : [];
      for (const [k, v] of Object.entries(obj(s.properties))) kids.push(row(k, v, reqs.includes(k), r.st, depth + 1));
      if (isObj(s.additionalProperties)) kids.push(row('{any key}', s.additionalProperties, false, r.st, depth + 1));
      else if (s.additionalProperties === true) kids.push(el('li', { class: 'note', text: 'Additional properties allowed' }));
      // A plain `items: {type: string}` is already described by the array<…> label.
      if (isObj(s.items) && !Object.keys(resolve(s.items, r.st).s).every((k) => k === 'type' || k === 'format')) {
        kids.push(row('[items]', s.items, false, r.st, depth + 1));
      }
      for (const k of Object.keys(COMB)) {
        if (!Array.isArray(s[k]) || !s[k].length) continue;
        kids.push(el('li', { class: 'sn' }, el('span', { class: 'comb', text: COMB[k] }),
          el('ul', { class: 'tree' }, s[k].map((x) => row(null, x, false, r.st, depth + 1)))));
      }
    }
    if (!kids.length) return el('li', { class: 'sn' }, head, body);
    return el('li', { class: 'sn' }, el('details', { class: 'node', open: depth < 2 },
      el('summary', null, head), body, el('ul', { class: 'tree' }, kids)));
  }
  const tree = (schema) => el('ul', { class: 'tree root' }, row(null, schema, false, [], 0));

  // Example value for a schema (prefills "Try it").
  function sample(schema, stack, depth) {
    const r = resolve(schema, stack);
    const s = r.s;
    const next = (x) => sample(x, r.st, depth + 1);
    if (r.cyc || depth > 10) return null;
    for (const k of ['example', 'const', 'default']) if (own(s, k)) return s[k];
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    if (Array.isArray(s.allOf) && s.allOf.length) {
      let o = {};
      for (const x of s.allOf) {
        const v = next(x);
        if (isObj(v)) o = { ...o, ...v };
        else if (v != null) return v;
      }
      return o;
    }
    const alt = s.oneOf || s.anyOf;
    if (Array.isArray(alt) && alt.length) return next(alt.find((x) => deref(x).type !== 'null') || alt[0]);
    const t = types(s);
    switch (t.find((x) => x !== 'null') || t[0]) {
      case 'object': {
        const o = {};
        for (const [k, v] of Object.entries(obj(s.properties))) {
          if (k !== '__proto__' && resolve(v, r.st).s.readOnly !== true) o[k] = next(v);
        }
        if (!Object.keys(o).length && isObj(s.additionalProperties)) o.key = next(s.additionalProperties);
        return o;
      }
      case 'array': return isObj(s.items) ? [next(s.items)] : [];
      case 'string': return FMT[s.format] || 'string';
      case 'integer': case 'number': return typeof s.minimum === 'number' ? s.minimum : 0;
      case 'boolean': return true;
      default: return null;
    }
  }

  // ---------- security ----------
  const schemes = () => obj(obj(spec.components).securitySchemes);
  function schemeText(name) {
    const s = deref(schemes()[name]);
    const scheme = String(s.scheme || '').toLowerCase();
    if (s.type === 'http') return scheme === 'bearer' ? 'Bearer token (Authorization: Bearer …)' : 'HTTP ' + scheme + ' authentication';
    if (s.type === 'apiKey') return 'API key in ' + s.in + ' “' + s.name + '”';
    return { oauth2: 'OAuth 2.0', openIdConnect: 'OpenID Connect', mutualTLS: 'Mutual TLS' }[s.type] || 'Unknown scheme';
  }
  function securityBlock(reqs) {
    if (!Array.isArray(reqs)) return null;
    const h = el('h4', { text: 'Authentication' });
    if (!reqs.length) return [h, el('p', { text: 'None required.' })];
    return [h, reqs.length > 1 && el('p', { text: 'Any one of:' }), el('ul', { class: 'sec' }, reqs.map((q) => {
      const all = Object.entries(obj(q));
      return el('li', null, all.length ? all.map(([n, sc], i) => [i ? ' and ' : '', el('strong', { text: n }),
        ': ' + schemeText(n), Array.isArray(sc) && sc.length ? ' (scopes: ' + sc.join(', ') + ')' : '']) : 'No authentication');
    }))];
  }

  // ---------- operation details ----------
  function paramTable(params) {
    const rows = params.map((p) => {
      const r = resolve(p.schema);
      const s = unNull(r.s);
      return el('tr', null,
        el('td', null, el('code', { text: p.name }), p.required && [' ', tag('required', 'req')]),
        el('td', { text: p.in }),
        el('td', null, el('span', { class: 'ty', text: typeLabel(s) || r.name || 'any' }),
          s.format != null && el('span', { class: 'fmt', text: ' (' + str(s.format) + ')' })),
        el('td', null, p.deprecated && tag('deprecated', 'dep'), md(p.description || s.description),
          Array.isArray(s.enum) && kv('Allowed:', codes(s.enum)), own(s, 'default') && kv('Default:', codes([s.default]))));
    });
    return el('div', { class: 'tw' }, el('table', null, el('thead', null, el('tr', null,
      ['Name', 'In', 'Type', 'Description'].map((t) => el('th', { scope: 'col', text: t })))), el('tbody', null, rows)));
  }
  const contentBlocks = (content) => Object.entries(obj(content)).map(([ct, m]) => el('div', { class: 'media' },
    el('p', { class: 'ct' }, el('code', { text: ct })), deref(m).schema && tree(deref(m).schema)));
  function opBody(o) {
    const { op } = o;
    const rb = op.requestBody && deref(op.requestBody);
    return el('div', { class: 'ob' }, op.description && md(op.description),
      op.operationId && el('p', { class: 'meta' }, 'Operation ID: ', el('code', { text: op.operationId })),
      securityBlock(own(op, 'security') ? op.security : spec.security),
      o.params.length > 0 && [el('h4', { text: 'Parameters' }), paramTable(o.params)],
      rb && [el('h4', null, 'Request body', rb.required && [' ', tag('required', 'req')]),
        rb.description && md(rb.description), contentBlocks(rb.content)],
      isObj(op.responses) && [el('h4', { text: 'Responses' }), Object.entries(op.responses).map(([code, r0]) => {
        const r = deref(r0);
        return el('div', { class: 'resp' },
          el('h5', null, el('span', { class: 'sc s' + code[0], text: code }), ' ', r.description || ''),
          isObj(r.headers) && kv('Headers:', codes(Object.keys(r.headers))), contentBlocks(r.content));
      })],
      tryIt(o));
  }

  // ---------- "Try it" ----------
  function basePath() {
    const sv = Array.isArray(spec.servers) && obj(spec.servers[0]);
    if (!sv || typeof sv.url !== 'string') return '';
    const url = sv.url.replace(/\{([^}]+)\}/g, (_, k) => str(obj(obj(sv.variables)[k]).default ?? ''));
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin ? u.pathname.replace(/\/+$/, '') : '';
    } catch (_) { return ''; }
  }
  function field(label, input) {
    input.id = 'f' + ++fieldN;
    return el('div', { class: 'fld' }, el('label', { for: input.id }, label), input);
  }
  function tryIt(o) {
    const { method, path, op } = o;
    const fields = [];
    const inputs = [];
    for (const p of o.params.filter((x) => ['path', 'query', 'header'].includes(x.in))) {
      const s = unNull(deref(p.schema));
      const req = p.in === 'path' || p.required === true;
      const vals = Array.isArray(s.enum) ? s.enum : types(s).includes('boolean') ? [true, false] : null;
      const ex = own(p, 'example') ? p.example : sample(p.schema, [], 0);
      const inp = vals
        ? el('select', { required: req }, el('option', { value: '', text: req ? 'Select…' : '(not set)' }),
          vals.map((v) => el('option', { value: str(v), text: str(v) })))
        : el('input', { type: 'text', required: req, autocomplete: 'off', spellcheck: 'false',
          placeholder: ex == null ? '' : Array.isArray(ex) ? ex.map(str).join(',') : str(ex) });
      inputs.push([p, inp, types(s).includes('array')]);
      fields.push(field([el('code', { text: p.name }), ' (' + p.in + (req ? ', required' : '') + ')'], inp));
    }
    let ta = null;
    let ct = null;
    const rb = op.requestBody && deref(op.requestBody);
    if (rb && isObj(rb.content) && method !== 'get' && method !== 'head') {
      const cts = Object.keys(rb.content);
      ct = cts.find((c) => /json/i.test(c)) || cts.find((c) => /^text\//i.test(c)) || cts[0];
      if (/json|^text\//i.test(ct)) {
        const m = deref(rb.content[ct]);
        const exs = Object.values(obj(m.examples)).map(deref).filter((e) => own(e, 'value'));
        const ex = own(m, 'example') ? m.example : exs.length ? exs[0].value : sample(m.schema, [], 0);
        ta = el('textarea', { rows: 10, spellcheck: 'false', autocomplete: 'off' });
        ta.value = /json/i.test(ct) ? JSON.stringify(ex === undefined ? {} : ex, null, 2) : typeof ex === 'string' ? ex : '';
        fields.push(field(['Request body (', el('code', { text: ct }), ')'], ta));
      } else if (ct) fields.push(el('p', { class: 'note', text: 'Bodies of type ' + ct + ' cannot be sent from this panel.' }));
    }
    const btn = el('button', { type: 'submit', text: 'Send request' });
    const live = el('p', { class: 'st', role: 'status' });
    const code = el('code');
    const pre = el('pre', { class: 'rb', tabindex: '0', 'aria-label': 'Response body', hidden: true }, code);
    const show = (cls, msg) => { live.className = 'st ' + cls; live.textContent = msg; };
    const form = el('form', { class: 'try-f' }, fields,
      el('p', { class: 'hint', text: 'Sent from this page with your session cookies and, if entered at the top, your API key.' }),
      el('div', { class: 'actions' }, btn), live, pre);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      pre.hidden = true;
      let url = basePath() + path;
      const q = new URLSearchParams();
      const headers = { Accept: 'application/json' };
      for (const [p, inp, isArr] of inputs) {
        const v = inp.value.trim();
        if (p.in === 'path') url = url.split('{' + p.name + '}').join(encodeURIComponent(v));
        else if (v && p.in === 'query') (isArr && p.explode !== false ? v.split(',') : [v]).forEach((x) => q.append(p.name, x.trim()));
        else if (v) headers[p.name] = v;
      }
      if (/\{[^}]*\}/.test(url)) return show('bad', 'The path has undeclared parameters: ' + url);
      if (q.toString()) url += '?' + q;
      let body;
      if (ta && ta.value.trim()) {
        body = ta.value;
        try { if (/json/i.test(ct)) JSON.parse(body); } catch (err) { return show('bad', 'Request body is not valid JSON: ' + err.message); }
        headers['Content-Type'] = ct;
      }
      if (apiKey) headers.Authorization = 'Bearer ' + apiKey;
      const M = method.toUpperCase();
      btn.disabled = true;
      form.setAttribute('aria-busy', 'true');
      show('', 'Sending ' + M + ' ' + url + ' …');
      const t0 = performance.now();
      try {
        const res = await fetch(url, { method: M, headers, body, credentials: 'same-origin', cache: 'no-store' });
        let out = await res.text();
        try { if (out) out = JSON.stringify(JSON.parse(out), null, 2); } catch (_) { /* not JSON: show as text */ }
        show(res.ok ? 'ok' : 'bad', (res.status + ' ' + res.statusText).trim() + ' · ' +
          Math.round(performance.now() - t0) + ' ms · ' + M + ' ' + url);
        code.textContent = out.length > 2e5 ? out.slice(0, 2e5) + '\n… (truncated)' : out || '(empty body)';
        pre.hidden = false;
      } catch (err) {
        show('bad', 'Request failed: ' + err.message);
      } finally {
        btn.disabled = false;
        form.removeAttribute('aria-busy');
      }
    });
    return el('details', { class: 'try' }, el('summary', { text: 'Try it' }), form);
  }

  // ---------- page ----------
  function collect() {
    const ops = [];
    const key = (p) => p.in + ':' + p.name;
    const list = (x) => (Array.isArray(x) ? x.map(deref).filter((p) => p.name != null && p.in != null) : []);
    for (const [path, item0] of Object.entries(obj(spec.paths))) {
      const item = deref(item0);
      for (const method of METHODS.filter((m) => isObj(item[m]))) {
        const op = item[method];
        const mine = list(op.parameters);
        const params = list(item.parameters).filter((c) => !mine.some((p) => key(p) === key(c))).concat(mine);
        ops.push({ path, method, op, params, tags: Array.isArray(op.tags) && op.tags.length ? op.tags.map(String) : ['default'] });
      }
    }
    return ops;
  }
  function opSummary(o, id, tagName) {
    const { op, method, path } = o;
    const d = el('details', { class: 'op' + (op.deprecated ? ' dep' : ''), id },
      el('summary', null, el('h3', { class: 'oh' }, badge(method), el('code', { class: 'path', text: path }),
        op.summary && el('span', { class: 'sum', text: op.summary }), op.deprecated === true && tag('deprecated', 'dep'))));
    d.addEventListener('toggle', () => {
      if (!d.open || d.dataset.done) return;
      d.dataset.done = '1';
      try { d.append(opBody(o)); } catch (err) { d.append(errBox('Could not render this operation.', err.message)); }
    });
    const li = el('li', null, el('a', { href: '#' + id, title: method.toUpperCase() + ' ' + path },
      badge(method, ' sm'), ' ', el('span', { text: op.summary || path })));
    return { d, li, hay: [method, path, op.summary, op.operationId, tagName, ...o.tags].join(' ').toLowerCase() };
  }
  function render() {
    const info = obj(spec.info);
    const title = String(info.title || 'API');
    document.title = title + ' · API documentation';
    $('title').textContent = title;
    if (info.version != null) $('ver').textContent = 'Version ' + str(info.version);
    const sch = schemes();
    add($('intro'), [md(info.description), el('p', { class: 'meta' }, spec.openapi && 'OpenAPI ' + str(spec.openapi) + ' · ',
      el('a', { href: SPEC_URL, text: 'Raw specification (JSON)' })),
    Object.keys(sch).length > 0 && [el('h2', { text: 'Authentication' }), el('ul', { class: 'sec' }, Object.keys(sch).map((n) =>
      el('li', null, el('strong', { text: n }), ': ' + schemeText(n), deref(sch[n]).description && md(deref(sch[n]).description))))]]);

    const byTag = new Map();
    const tagDesc = new Map();
    for (const t of Array.isArray(spec.tags) ? spec.tags : []) {
      if (isObj(t) && t.name != null) { byTag.set(String(t.name), []); tagDesc.set(String(t.name), t.description); }
    }
    for (const o of collect()) for (const t of o.tags) byTag.set(t, (byTag.get(t) || []).concat(o));
    if (byTag.has('default')) { const d = byTag.get('default'); byTag.delete('default'); byTag.set('default', d); }

    const tocList = el('ul', { class: 'toc-l' });
    for (const [name, list] of byTag) {
      if (!list.length) continue;
      const gid = uniqueId('tag-' + slug(name));
      const g = { items: list.map((o) => opSummary(o, uniqueId('op-' + slug(name) + '-' + slug(o.op.operationId || o.method + ' ' + o.path)), name)) };
      g.sec = el('section', { class: 'group', id: gid, 'aria-labelledby': gid + '-h' },
        el('h2', { id: gid + '-h', text: name }), tagDesc.get(name) && md(tagDesc.get(name)), g.items.map((i) => i.d));
      g.li = el('li', null, el('a', { href: '#' + gid, class: 'toc-t', text: name }), el('ul', null, g.items.map((i) => i.li)));
      items.push(...g.items);
      groups.push(g);
      $('ops').append(g.sec);
      tocList.append(g.li);
    }
    $('toc').append(el('h2', { class: 'toc-h', text: 'Contents' }), tocList);
    $('toc').hidden = false;
    if (!items.length) $('ops').append(el('p', { class: 'empty', text: 'This specification has no operations.' }));
    filter();
  }
  function filter() {
    const words = $('q').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let n = 0;
    for (const it of items) {
      it.d.hidden = it.li.hidden = !words.every((w) => it.hay.includes(w));
      if (!it.d.hidden) n++;
    }
    for (const g of groups) g.sec.hidden = g.li.hidden = g.items.every((i) => i.d.hidden);
    $('count').textContent = words.length ? n + ' of ' + items.length + ' operations match' : items.length + ' operations';
    $('empty').hidden = n > 0 || !items.length;
  }
  function openTarget(hash, scroll) {
    let t = null;
    try { t = $(decodeURIComponent(hash.slice(1))); } catch (_) { /* malformed anchor */ }
    if (t && t.tagName === 'DETAILS') t.open = true;
    if (t && scroll) t.scrollIntoView();
  }
  async function load() {
    try {
      const res = await fetch(SPEC_URL, { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-cache' })
        .catch((err) => { throw new Error('network error (' + err.message + ')'); });
      if (!res.ok) throw new Error(('HTTP ' + res.status + ' ' + res.statusText).trim());
      const text = await res.text();
      try { spec = JSON.parse(text); } catch (err) { throw new Error('the response is not valid JSON (' + err.message + ')'); }
      if (!isObj(spec)) throw new Error('the document is not a JSON object');
      render();
      $('status').hidden = true;
      if (location.hash) openTarget(location.hash, true);
    } catch (err) {
      $('status').replaceWith(errBox('Could not load the API specification.', 'Fetching ' + SPEC_URL + ' failed: ' + err.message));
    }
  }
  function init() {
    $('controls').addEventListener('submit', (e) => e.preventDefault());
    $('q').addEventListener('input', filter);
    $('apikey').addEventListener('input', (e) => { apiKey = e.target.value.trim(); });
    window.addEventListener('hashchange', () => openTarget(location.hash, true));
    // Open the target <details> before the browser scrolls to it (also when the hash is unchanged).
    document.addEventListener('click', (e) => {
      const a = e.target instanceof Element && e.target.closest('a[href^="#"]');
      if (a) openTarget(a.hash, false);
    });
    load();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
