// Composer: live counters by each platform's rules, per-account tabs,
// previews, thread editor, media upload, next free slot, live validation.
'use strict';
(function () {
  var form = document.getElementById('composer');
  if (!form) { return; }
  var api = window.herald.api;
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
      .map(function (b) { return { id: b.value, platform: b.getAttribute('data-platform'), name: b.getAttribute('data-name'), handle: b.getAttribute('data-handle'), avatar: b.getAttribute('data-avatar') }; });
  }
  function overrideOf(id) { var t = document.getElementById('override-' + id); return t && t.value.trim() ? t.value : null; }
  // An account's settings object, built as the server builds it from the
  // same fields: only what differs from the platform's default; stored
  // keys the form cannot show (the hidden JSON) are kept.
  function settingsOf(id) {
    var out = {};
    try { out = JSON.parse(form.querySelector('input[name="settings_extra.' + id + '"]').value) || {}; } catch (e) { out = {}; }
    form.querySelectorAll('[data-settings="' + id + '"] [data-setting]').forEach(function (el) {
      var name = el.getAttribute('data-setting'), kind = el.getAttribute('data-kind'), v = el.value.trim();
      var num = function (s) { return el.hasAttribute('data-numbers') && /^-?\d+$/.test(s) ? Number(s) : s; };
      if (kind === 'checkbox') { if (el.checked !== el.hasAttribute('data-default-on')) { out[name] = el.checked; } }
      else if (kind === 'list') { var items = v.split(',').map(function (x) { return x.trim(); }).filter(Boolean).map(num); if (items.length) { out[name] = items; } }
      else if (v) { out[name] = num(v); }
    });
    return Object.keys(out).length ? out : null;
  }
  // Files attached to one item (the post's grid or a reply's), as previews want them.
  function mediaIn(grid) {
    return grid ? Array.prototype.map.call(grid.querySelectorAll('figure'), function (f) {
      var alt = f.querySelector('[data-alt-for]');
      return { id: f.getAttribute('data-media'), url: f.getAttribute('data-url'), mime: f.getAttribute('data-mime'), altText: alt ? alt.value.trim() : '' };
    }) : [];
  }
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

  // ---- Thread editor: each reply has its text, its own media and controls ----
  var list = document.getElementById('thread-items');
  // Numbers in labels and the ids/error boxes that follow a reply's place.
  function relabel() {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.querySelectorAll('[data-n="reply"]').forEach(function (n) { n.textContent = i + 1; });
      var t = li.querySelector('textarea'), f = li.querySelector('input[type=file]'), boxes = li.querySelectorAll(':scope > [data-errors]');
      t.id = 'thread-' + i; li.querySelector('label').htmlFor = t.id;
      f.id = 'thread-file-' + i; li.querySelector('.reply-upload label').htmlFor = f.id;
      boxes[0].setAttribute('data-errors', 'thread[' + i + ']');
      boxes[boxes.length - 1].setAttribute('data-errors', 'thread[' + i + '].mediaIds');
    });
    form.querySelectorAll('.media-grid').forEach(function (g) {
      g.querySelectorAll('figure').forEach(function (fig, k) { fig.querySelectorAll('[data-n="media"]').forEach(function (n) { n.textContent = k + 1; }); });
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
  // The server's empty last box (the no-script way to add a reply) is the
  // pattern for new ones; empty replies without media are dropped.
  // With script, a chosen file is uploaded at once: no "Upload" buttons.
  form.querySelectorAll('[data-upload-button]').forEach(function (b) { b.hidden = true; });
  var blank = list.lastElementChild ? list.lastElementChild.cloneNode(true) : null;
  Array.prototype.forEach.call(list.querySelectorAll('.thread-item'), function (li) {
    if (!li.querySelector('textarea').value.trim() && !li.querySelector('figure')) { li.remove(); } else { controls(li); }
  });
  var addBtn = document.getElementById('thread-add');
  addBtn.hidden = !blank;
  document.getElementById('thread-hint').textContent = 'Replies are published in order after the first post, each with its own images.';
  addBtn.addEventListener('click', function () {
    var li = blank.cloneNode(true);
    li.querySelectorAll('figure, .field-error').forEach(function (x) { x.remove(); });
    li.querySelector('textarea').value = '';
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
    var items = Array.prototype.map.call(list.children, function (li) { return { text: li.querySelector('textarea').value, media: mediaIn(li.querySelector('.reply-media')) }; });
    list.querySelectorAll('.thread-item').forEach(function (li, i) {
      li.querySelector('.counters').innerHTML = counterHtml(accounts.map(function (a) { return { platform: a.platform, text: items[i].text, label: a.name }; }));
    });
    var media = mediaIn(mediaList);
    var html = accounts.map(function (a) {
      var r = rules[a.platform] || { name: a.platform };
      // The replies that will be published there (none where there are no threads).
      var replies = r.supportsThreads === false ? [] : items.filter(function (x) { return x.text.trim() || x.media.length; });
      // A platform look-alike, drawn by preview.js.
      return window.herald.preview({ platform: a.platform, platformName: r.name, account: { name: a.name, handle: a.handle, avatarUrl: a.avatar },
        text: overrideOf(a.id) || content, media: media, replies: replies, settings: settingsOf(a.id) || {} });
    }).join('');
    document.getElementById('previews').innerHTML = html || '<p class="muted">Select an account to see how the post will look there.</p>';
    scheduleValidation();
  }

  // ---- Time zone math for the schedule field ----
  var zoned = window.herald.zoned, toIso = window.herald.toIso;

  // ---- Validation by the server, shown beside each field ----
  var timer = null;
  function body(status) {
    var overrides = {};
    selected().forEach(function (a) {
      var t = overrideOf(a.id), s = settingsOf(a.id);
      if (t || s) { overrides[a.id] = {}; if (t) { overrides[a.id].content = t; } if (s) { overrides[a.id].settings = s; } }
    });
    var at = toIso(document.getElementById('scheduled-for').value);
    return {
      content: document.getElementById('content').value,
      platforms: selected().map(function (a) { return a.id; }),
      status: status || (at ? 'SCHEDULED' : 'DRAFT'), scheduledFor: at,
      mediaIds: Array.prototype.map.call(form.querySelectorAll('input[name="media"]'), function (i) { return i.value; }),
      thread: Array.prototype.map.call(list.children, function (li) {
        return { content: li.querySelector('textarea').value, mediaIds: mediaIn(li.querySelector('.reply-media')).map(function (m) { return m.id; }) };
      }).filter(function (t) { return t.content.trim() || t.mediaIds.length; }),
      overrides: overrides
    };
  }
  function scheduleValidation() { clearTimeout(timer); timer = setTimeout(validate, 500); }
  function validate() {
    api('POST', '/api/posts/validate', body()).then(function (r) {
      if (!r.body) { return; }
      // Warnings (the same text already went to an account) do not stop the post.
      var warn = document.getElementById('composer-warnings');
      if (warn) {
        warn.innerHTML = '';
        (r.body.warnings || []).forEach(function (w) {
          var acct = selected().filter(function (a) { return a.id === w.integrationId; })[0];
          var p = document.createElement('p'); p.className = 'warning small';
          p.setAttribute('data-code', w.code);
          p.textContent = (acct ? acct.name + ': ' : '') + w.message.replace(/^DUPLICATE_CONTENT: /, '');
          warn.appendChild(p);
        });
      }
      var errors = (r.body.errors || []).slice();
      (r.body.targets || []).forEach(function (t) { errors = errors.concat(t.errors || []); });
      if (r.body.error && r.body.error.details && Array.isArray(r.body.error.details)) { errors = errors.concat(r.body.error.details); }
      var boxes = form.querySelectorAll('[data-errors]');
      boxes = Array.prototype.filter.call(boxes, function (b) { return b.getAttribute('data-errors').indexOf('media_alt.') !== 0; });
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

  // ---- Media: upload a file or fetch a URL, for the post or a reply ----
  var mediaList = document.getElementById('media-list');
  // A thumbnail as the server draws it (components/media_thumb.html).
  function addMedia(m, grid, inputName) {
    var fig = document.createElement('figure'), alt = m.altText || '', kind = /^image\//.test(m.mime) ? 'image' : 'video', id = esc(m.id);
    var where = kind + ' <span data-n="media"></span>' + (inputName === 'thread_media' ? ' of reply <span data-n="reply"></span>' : '');
    fig.setAttribute('data-media', m.id); fig.setAttribute('data-mime', m.mime); fig.setAttribute('data-url', m.url);
    fig.innerHTML = '<input type="hidden" name="' + inputName + '" value="' + id + '">' +
      (kind === 'image' ? '<img src="' + esc(m.url) + '" alt="' + esc(alt) + '">' : '<p class="small">' + esc(m.mime) + '</p>') +
      '<figcaption><label for="alt-' + id + '" class="small">Alt text for ' + where + '</label><input id="alt-' + id + '" name="media_alt.' + id +
      '" value="' + esc(alt) + '" maxlength="1500" data-alt-for="' + id + '" aria-describedby="alt-' + id + '-none"><p class="error-text small" id="alt-' + id +
      '-none" data-no-alt' + (alt ? ' hidden' : '') + '>No alt text</p><div data-errors="media_alt.' + id + '"></div></figcaption>' +
      '<button type="submit" name="action" value="remove:' + id + '" class="btn small ghost" data-remove-media>Remove<span class="sr-only"> ' + where + '</span></button>';
    grid.appendChild(fig);
    relabel();
    window.herald.announce(alt ? 'Media attached' : 'Media attached; add its alt text');
    update();
    return fig;
  }
  function showError(box, msg) {
    box.innerHTML = ''; if (msg) { var p = document.createElement('p'); p.className = 'field-error'; p.textContent = msg; box.appendChild(p); }
  }
  function failed(r, what) { return r.body && r.body.error ? r.body.error.message : what + ' (' + r.status + ').'; }
  function upload(input, alt, grid, inputName, box) {
    var data = new FormData();
    data.append('file', input.files[0]);
    if (alt) { data.append('altText', alt); }
    showError(box, '');
    return api('POST', '/api/media', data).then(function (r) {
      if (!r.ok) { showError(box, failed(r, 'The upload failed')); return null; }
      input.value = '';
      return addMedia(r.body, grid, inputName);
    });
  }
  var mediaBox = form.querySelector('[data-errors="media"]');
  document.getElementById('media-file').addEventListener('change', function (e) {
    if (!e.target.files[0]) { return; }
    var alt = document.getElementById('media-alt');
    upload(e.target, alt.value.trim(), mediaList, 'media', mediaBox).then(function (fig) { if (fig) { alt.value = ''; } });
  });
  // A reply's own file: uploaded at once; its alt text is typed on the thumbnail.
  list.addEventListener('change', function (e) {
    var li = e.target.closest('.thread-item');
    if (e.target.name !== 'thread_file' || !e.target.files[0] || !li) { return; }
    var boxes = li.querySelectorAll(':scope > [data-errors]');
    upload(e.target, '', li.querySelector('.reply-media'), 'thread_media', boxes[boxes.length - 1]).then(function (fig) {
      if (fig) { fig.querySelector('[data-alt-for]').focus(); }
    });
  });
  document.getElementById('media-attach').addEventListener('click', function (e) {
    var url = document.getElementById('media-url').value.trim();
    if (!url) { return; }
    e.preventDefault();
    var alt = document.getElementById('media-alt').value.trim();
    showError(mediaBox, '');
    api('POST', '/api/media/from-url', { url: url, altText: alt || null }).then(function (r) {
      if (r.ok) { addMedia(r.body, mediaList, 'media'); document.getElementById('media-url').value = ''; document.getElementById('media-alt').value = ''; }
      else { showError(mediaBox, failed(r, 'Could not fetch it')); }
    });
  });
  // Remove one file (the no-script button submits "remove:<id>").
  form.addEventListener('click', function (e) {
    var b = e.target.closest('[data-remove-media]');
    if (!b) { return; }
    e.preventDefault();
    var fig = b.closest('figure'), grid = fig.parentNode;
    fig.remove(); relabel(); update();
    window.herald.announce('Media removed');
    (grid.closest('.thread-item') || form.querySelector('#media')).querySelector('input[type=file]').focus();
  });
  // Alt text: the warning follows what is typed; a change is saved at once.
  form.addEventListener('input', function (e) {
    var fig = e.target.hasAttribute('data-alt-for') && e.target.closest('figure');
    if (!fig) { return; }
    fig.querySelector('[data-no-alt]').hidden = !!e.target.value.trim();
    var img = fig.querySelector('img'); if (img) { img.alt = e.target.value.trim(); }
  });
  // Enter in an alt text saves it (instead of submitting the whole form).
  form.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && e.target.hasAttribute('data-alt-for')) { e.preventDefault(); e.target.dispatchEvent(new Event('change', { bubbles: true })); }
  });
  form.addEventListener('change', function (e) {
    var input = e.target;
    if (!input.hasAttribute('data-alt-for')) { return; }
    var box = input.closest('figure').querySelector('[data-errors]');
    api('PATCH', '/api/media/' + input.getAttribute('data-alt-for'), { altText: input.value.trim() || null }).then(function (r) {
      showError(box, r.ok ? '' : failed(r, 'The alt text was not saved'));
      if (r.ok) { window.herald.announce(r.body.altText ? 'Alt text saved' : 'Alt text removed'); }
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
  // Scripts loaded after this one (preview.js) have run by then: draw the previews again.
  document.addEventListener('DOMContentLoaded', update);
})();
