// Composer: live counters by each platform's rules, per-account tabs,
// previews, thread editor, media upload, next free slot, live validation.
'use strict';
(function () {
  var form = document.getElementById('composer');
  if (!form) { return; }
  var api = window.herald.api;
  var tz = document.body.getAttribute('data-tz') || 'UTC';
  var rules = {};
  try { JSON.parse(form.getAttribute('data-rules')).forEach(function (r) { rules[r.id] = r; }); } catch (e) { /* none */ }
  // Prefer the server's catalog when it offers one.
  api('GET', '/api/platforms').then(function (r) {
    var list = r.ok && r.body && (Array.isArray(r.body) ? r.body : r.body.platforms);
    if (list) { list.forEach(function (p) { var x = p.rules || p; if (x.maxLength) { x.id = x.id || p.id; x.name = x.name || p.name; rules[x.id] = x; } }); update(); }
  });

  // ---- Counting, as each platform counts ----
  var urlRe = /(^|[\s(\["'])(https?:\/\/[^\s]*[^\s.,;:!?)"'])/g;
  var seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null;
  function graphemes(s) { if (!seg) { return Array.from(s); } var out = []; for (var g of seg.segment(s)) { out.push(g.segment); } return out; }
  function xWeight(s) {
    return graphemes(s).reduce(function (n, g) {
      var cp = g.codePointAt(0);
      if (/\p{Extended_Pictographic}/u.test(g)) { return n + 2; }
      return n + Array.from(g).reduce(function (m, c) {
        var v = c.codePointAt(0);
        return m + ((v <= 0x10ff || (v >= 0x2000 && v <= 0x200d) || (v >= 0x2010 && v <= 0x201f) || (v >= 0x2032 && v <= 0x2037)) ? 1 : 2);
      }, 0) + (cp ? 0 : 0);
    }, 0);
  }
  function withUrls(s, count) {
    var total = 0, last = 0, m;
    urlRe.lastIndex = 0;
    while ((m = urlRe.exec(s))) {
      var start = m.index + m[1].length;
      total += count(s.slice(last, start)) + 23;
      last = start + m[2].length;
    }
    return total + count(s.slice(last));
  }
  function count(text, counting) {
    switch (counting) {
      case 'graphemes': return graphemes(text).length;
      case 'utf16': return text.length;
      case 'graphemesUrlsAs23': return withUrls(text, function (s) { return graphemes(s).length; });
      case 'xWeighted': return withUrls(text, xWeight);
      default: return Array.from(text).length;
    }
  }

  function selected() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="platforms"]'), function (b) { return b.checked; })
      .map(function (b) { return { id: b.value, platform: b.getAttribute('data-platform'), name: b.getAttribute('data-name') }; });
  }
  function overrideOf(id) { var t = document.getElementById('override-' + id); return t && t.value.trim() ? t.value : null; }
  function counterHtml(parts) {
    return parts.map(function (p) {
      var r = rules[p.platform] || { maxLength: 100000, counting: 'characters', name: p.platform };
      var n = count(p.text, r.counting);
      var over = n > r.maxLength;
      return '<span' + (over ? ' class="over"' : '') + '>' + esc(p.label || r.name) + ' ' + n + '/' + r.maxLength + (over ? ' — too long' : '') + '</span>';
    }).join('');
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }

  // ---- Tabs: "All accounts" plus one per selected account ----
  var tabs = document.getElementById('editor-tabs');
  var details = document.getElementById('overrides');
  var active = 'all';
  function buildTabs() {
    var accounts = selected();
    tabs.hidden = accounts.length === 0;
    details.open = true;
    details.querySelector('summary').hidden = true;
    var items = [{ id: 'all', label: 'All accounts' }].concat(accounts.map(function (a) { return { id: a.id, label: a.name + (overrideOf(a.id) ? ' •' : '') }; }));
    if (!items.some(function (i) { return i.id === active; })) { active = 'all'; }
    tabs.innerHTML = '';
    items.forEach(function (item) {
      var b = document.createElement('button');
      b.type = 'button'; b.setAttribute('role', 'tab'); b.id = 'tab-' + item.id; b.textContent = item.label;
      b.setAttribute('aria-selected', item.id === active ? 'true' : 'false');
      b.setAttribute('aria-controls', 'panel-' + item.id); b.tabIndex = item.id === active ? 0 : -1;
      b.addEventListener('click', function () { active = item.id; buildTabs(); document.getElementById('tab-' + item.id).focus(); });
      b.addEventListener('keydown', function (e) {
        var idx = items.findIndex(function (i) { return i.id === active; });
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          active = items[(idx + (e.key === 'ArrowRight' ? 1 : items.length - 1)) % items.length].id;
          buildTabs(); document.getElementById('tab-' + active).focus();
        }
      });
      tabs.appendChild(b);
    });
    document.getElementById('panel-all').hidden = active !== 'all';
    form.querySelectorAll('.override').forEach(function (p) {
      p.hidden = p.getAttribute('data-account') !== active;
      p.setAttribute('role', 'tabpanel');
    });
  }

  // ---- Thread editor ----
  var list = document.getElementById('thread-items');
  function relabel() {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.querySelector('label').textContent = 'Reply ' + (i + 1);
      li.querySelector('textarea').id = 'thread-' + i;
      li.querySelector('label').htmlFor = 'thread-' + i;
      li.querySelector('[data-errors]').setAttribute('data-errors', 'thread[' + i + ']');
    });
  }
  function controls(li) {
    if (li.querySelector('.item-controls')) { return; }
    var bar = document.createElement('div'); bar.className = 'row item-controls';
    [['Move up', -1], ['Move down', 1], ['Remove', 0]].forEach(function (spec) {
      var b = document.createElement('button'); b.type = 'button'; b.className = 'btn small ghost'; b.textContent = spec[0];
      b.addEventListener('click', function () {
        if (spec[1] === 0) { var next = li.nextElementSibling || li.previousElementSibling; li.remove(); if (next) { next.querySelector('textarea').focus(); } }
        else if (spec[1] < 0 && li.previousElementSibling) { list.insertBefore(li, li.previousElementSibling); b.focus(); }
        else if (spec[1] > 0 && li.nextElementSibling) { list.insertBefore(li.nextElementSibling, li); b.focus(); }
        relabel(); update();
      });
      bar.appendChild(b);
    });
    li.appendChild(bar);
  }
  Array.prototype.forEach.call(list.children, function (li) {
    if (!li.querySelector('textarea').value.trim()) { li.remove(); } else { controls(li); }
  });
  var addBtn = document.getElementById('thread-add');
  addBtn.hidden = false;
  document.getElementById('thread-hint').textContent = 'Replies are published in order after the first post.';
  addBtn.addEventListener('click', function () {
    var li = document.createElement('li'); li.className = 'thread-item';
    li.innerHTML = '<label></label><textarea name="thread" rows="3"></textarea><p class="counters" aria-live="polite"></p><div data-errors=""></div>';
    list.appendChild(li); controls(li); relabel(); li.querySelector('textarea').focus(); update();
  });

  // ---- Previews and counters ----
  function update() {
    var accounts = selected();
    var content = document.getElementById('content').value;
    document.getElementById('content-counters').innerHTML = counterHtml(accounts.filter(function (a) { return !overrideOf(a.id); })
      .map(function (a) { return { platform: a.platform, text: content, label: a.name }; }));
    form.querySelectorAll('.override').forEach(function (p) {
      var t = p.querySelector('textarea');
      p.querySelector('.counters').innerHTML = t.value ? counterHtml([{ platform: t.getAttribute('data-platform'), text: t.value }]) : '';
    });
    var replies = Array.prototype.map.call(list.querySelectorAll('textarea'), function (t) { return t.value; });
    list.querySelectorAll('.thread-item').forEach(function (li, i) {
      li.querySelector('.counters').innerHTML = counterHtml(accounts.map(function (a) { return { platform: a.platform, text: replies[i] || '', label: a.name }; }));
    });
    var media = Array.prototype.map.call(document.querySelectorAll('#media-list figure'), function (f) {
      var img = f.querySelector('img'), p = f.querySelector('p');
      return { url: img ? img.getAttribute('src') : '', mime: img ? 'image/*' : (p ? p.textContent : ''), altText: img ? img.alt : '' };
    });
    var html = accounts.map(function (a) {
      var r = rules[a.platform] || { name: a.platform };
      var box = form.querySelector('input[name="platforms"][value="' + a.id + '"]');
      var rest = r.supportsThreads === false ? [] : replies.filter(function (x) { return x.trim(); });
      return window.herald.preview({ platform: a.platform, platformName: r.name, text: overrideOf(a.id) || content, media: media, settings: {},
        account: { name: a.name, handle: box.getAttribute('data-handle'), avatarUrl: box.getAttribute('data-avatar') },
        replies: rest.map(function (x) { return { text: x, media: [] }; }) });
    }).join('');
    document.getElementById('previews').innerHTML = html || '<p class="muted">Select an account to see how the post will look there.</p>';
    scheduleValidation();
  }

  // ---- Time zone math for the schedule field ----
  function zoned(date) {
    var parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(date);
    var get = function (t) { return parts.find(function (p) { return p.type === t; }).value; };
    return get('year') + '-' + get('month') + '-' + get('day') + 'T' + get('hour') + ':' + get('minute');
  }
  function toIso(local) {
    if (!local) { return null; }
    var m = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/.exec(local);
    if (!m) { return null; }
    var guess = Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]);
    for (var i = 0; i < 2; i++) {
      var shown = zoned(new Date(guess));
      var s = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/.exec(shown);
      var diff = Date.UTC(+s[1], s[2] - 1, +s[3], +s[4], +s[5]) - Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]);
      guess -= diff;
    }
    return new Date(guess).toISOString();
  }

  // ---- Validation by the server, shown beside each field ----
  var timer = null;
  function body(status) {
    var overrides = {};
    selected().forEach(function (a) { var t = overrideOf(a.id); if (t) { overrides[a.id] = { content: t }; } });
    var at = toIso(document.getElementById('scheduled-for').value);
    return {
      content: document.getElementById('content').value,
      platforms: selected().map(function (a) { return a.id; }),
      status: status || (at ? 'SCHEDULED' : 'DRAFT'), scheduledFor: at,
      mediaIds: Array.prototype.map.call(form.querySelectorAll('input[name="media"]'), function (i) { return i.value; }),
      thread: Array.prototype.map.call(list.querySelectorAll('textarea'), function (t) { return { content: t.value }; }).filter(function (t) { return t.content.trim(); }),
      overrides: overrides
    };
  }
  function scheduleValidation() { clearTimeout(timer); timer = setTimeout(validate, 500); }
  function validate() {
    api('POST', '/api/posts/validate', body()).then(function (r) {
      if (!r.body) { return; }
      var errors = (r.body.errors || []).slice();
      (r.body.targets || []).forEach(function (t) { errors = errors.concat(t.errors || []); });
      if (r.body.error && r.body.error.details && Array.isArray(r.body.error.details)) { errors = errors.concat(r.body.error.details); }
      var boxes = form.querySelectorAll('[data-errors]');
      boxes.forEach(function (b) { b.innerHTML = ''; });
      var seen = {};
      errors.forEach(function (e) {
        var best = null;
        boxes.forEach(function (b) {
          var key = b.getAttribute('data-errors');
          if (key && e.field.indexOf(key) === 0 && (!best || key.length > best.getAttribute('data-errors').length)) { best = b; }
        });
        best = best || form.querySelector('[data-errors="content"]');
        var k = e.field + e.message;
        if (seen[k]) { return; } seen[k] = 1;
        var p = document.createElement('p'); p.className = 'field-error'; p.textContent = e.message; best.appendChild(p);
      });
    });
  }

  // ---- Media: upload a file or fetch a URL ----
  var mediaList = document.getElementById('media-list');
  function addMedia(m) {
    var fig = document.createElement('figure'); fig.setAttribute('data-media', m.id);
    var alt = m.altText || '';
    fig.innerHTML = '<input type="hidden" name="media" value="' + esc(m.id) + '">' +
      (/^image\//.test(m.mime) ? '<img src="' + esc(m.url) + '" alt="' + esc(alt) + '">' : '<p>' + esc(m.mime) + '</p>') +
      '<figcaption class="small">' + (alt ? 'Alt: ' + esc(alt) : '<span class="error-text">No alt text</span>') + '</figcaption>';
    var rm = document.createElement('button'); rm.type = 'button'; rm.className = 'btn small ghost'; rm.textContent = 'Remove';
    rm.addEventListener('click', function () { fig.remove(); update(); });
    fig.appendChild(rm);
    mediaList.appendChild(fig);
    window.herald.announce('Media attached');
    update();
  }
  function mediaError(msg) {
    var box = form.querySelector('[data-errors="media"]');
    box.innerHTML = ''; if (msg) { var p = document.createElement('p'); p.className = 'field-error'; p.textContent = msg; box.appendChild(p); }
  }
  document.getElementById('media-file').addEventListener('change', function (e) {
    var file = e.target.files[0];
    if (!file) { return; }
    var data = new FormData();
    data.append('file', file);
    var alt = document.getElementById('media-alt').value.trim();
    if (alt) { data.append('altText', alt); }
    mediaError('');
    api('POST', '/api/media', data).then(function (r) {
      if (r.ok) { addMedia(r.body); e.target.value = ''; document.getElementById('media-alt').value = ''; }
      else { mediaError(r.body && r.body.error ? r.body.error.message : 'The upload failed (' + r.status + ').'); }
    });
  });
  document.getElementById('media-attach').addEventListener('click', function (e) {
    var url = document.getElementById('media-url').value.trim();
    if (!url) { return; }
    e.preventDefault();
    var alt = document.getElementById('media-alt').value.trim();
    mediaError('');
    api('POST', '/api/media/from-url', { url: url, altText: alt || null }).then(function (r) {
      if (r.ok) { addMedia(r.body); document.getElementById('media-url').value = ''; document.getElementById('media-alt').value = ''; }
      else { mediaError(r.body && r.body.error ? r.body.error.message : 'Could not fetch it (' + r.status + ').'); }
    });
  });

  // ---- Next free slot of the first selected account ----
  document.getElementById('next-slot').addEventListener('click', function (e) {
    var first = selected()[0];
    if (!first) { return; }
    e.preventDefault();
    api('GET', '/api/integrations/' + first.id + '/next-slot').then(function (r) {
      if (r.ok && r.body) {
        document.getElementById('scheduled-for').value = zoned(new Date(r.body.slot));
        window.herald.announce('Next free slot: ' + zoned(new Date(r.body.slot)).replace('T', ' '));
        update();
      } else { var box = form.querySelector('[data-errors="scheduledFor"]'); box.textContent = r.body && r.body.error ? r.body.error.message : 'No free slot.'; }
    });
  });

  form.addEventListener('input', update);
  form.addEventListener('change', function (e) { if (e.target.name === 'platforms') { buildTabs(); } update(); });
  buildTabs();
  relabel();
  update();
})();
