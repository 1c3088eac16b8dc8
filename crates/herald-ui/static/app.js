// Herald: progressive enhancement shared by every page. Pages work without it.
'use strict';
(function () {
  var body = document.body;
  var csrf = body.getAttribute('data-csrf') || '';

  // JSON helper for /api calls (session cookie + CSRF header).
  window.herald = {
    csrf: csrf,
    api: function (method, path, data) {
      var opts = { method: method, credentials: 'same-origin', headers: { 'x-csrf-token': csrf } };
      if (data instanceof FormData) { opts.body = data; }
      else if (data !== undefined) { opts.body = JSON.stringify(data); opts.headers['content-type'] = 'application/json'; }
      return fetch(path, opts).then(function (r) {
        return r.text().then(function (t) {
          var json = null; try { json = t ? JSON.parse(t) : null; } catch (e) { json = null; }
          return { ok: r.ok, status: r.status, body: json };
        });
      });
    },
    announce: function (text) {
      var live = document.getElementById('live-region');
      if (live) { live.textContent = ''; setTimeout(function () { live.textContent = text; }, 50); }
    },
    // "YYYY-MM-DDTHH:MM" of a Date in the user's time zone (body data-tz).
    zoned: function (date) {
      var f = new Intl.DateTimeFormat('en-CA', { timeZone: body.getAttribute('data-tz') || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      var parts = f.formatToParts(date), get = function (t) { return parts.find(function (p) { return p.type === t; }).value; };
      return get('year') + '-' + get('month') + '-' + get('day') + 'T' + get('hour') + ':' + get('minute');
    },
    // The ISO instant of such a local time (null if blank): guess, then
    // correct twice by the zone's offset (enough across DST changes).
    toIso: function (local) {
      var utc = function (s) { var m = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/.exec(s); return m && Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]); };
      var want = utc(local || ''), guess = want;
      if (!want) { return null; }
      for (var i = 0; i < 2; i++) { guess -= utc(window.herald.zoned(new Date(guess))) - want; }
      return new Date(guess).toISOString();
    }
  };

  // The browser's own time zone as the default on the registration form.
  document.querySelectorAll('[data-autotz]').forEach(function (input) {
    try {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz && (!input.value || input.value === 'UTC')) { input.value = tz; }
    } catch (e) { /* keep UTC */ }
  });

  // Confirmation before destructive actions.
  document.addEventListener('submit', function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });

  // The workspace switcher submits on change; its button is for no-JS.
  document.querySelectorAll('[data-autosubmit]').forEach(function (select) {
    var form = select.form, button = form && form.querySelector('[data-autosubmit-button]');
    if (button) { button.hidden = true; }
    select.addEventListener('change', function () { if (form) { form.submit(); } });
  });

  // Accounts page: filter the platforms by name as one types.
  document.querySelectorAll('[data-filter]').forEach(function (input) {
    var items = document.querySelectorAll(input.getAttribute('data-filter'));
    input.hidden = false;
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      items.forEach(function (el) { el.hidden = q !== '' && (el.getAttribute('data-name') || '').indexOf(q) < 0; });
      document.querySelectorAll('[data-group]').forEach(function (g) {
        g.hidden = !g.querySelector('[data-name]:not([hidden])');
      });
    });
  });

  // An avatar the platform no longer serves leaves no broken image.
  document.querySelectorAll('img.avatar').forEach(function (img) {
    var hide = function () { img.hidden = true; };
    if (img.complete && img.naturalWidth === 0) { hide(); } else { img.addEventListener('error', hide); }
  });

  // The queue: drag a post onto another to put it there; the order form
  // (the same as the Move buttons send) is submitted.
  document.querySelectorAll('[data-queue]').forEach(function (list) {
    var dragged = null, form = document.getElementById('queue-order');
    list.addEventListener('dragstart', function (e) {
      dragged = e.target.closest('[data-queued]');
      if (e.dataTransfer) { e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', ''); }
    });
    list.addEventListener('dragover', function (e) { if (dragged) { e.preventDefault(); } });
    list.addEventListener('drop', function (e) {
      var target = e.target.closest('[data-queued]');
      if (!dragged || !target || target === dragged || !form) { return; }
      e.preventDefault();
      var items = Array.prototype.slice.call(list.querySelectorAll('[data-queued]'));
      var after = items.indexOf(target) > items.indexOf(dragged);
      list.insertBefore(dragged, after ? target.nextSibling : target);
      form.querySelector('input[name="order"]').value = Array.prototype.map.call(list.querySelectorAll('[data-queued]'),
        function (li) { return li.getAttribute('data-queued'); }).join(',');
      form.submit();
    });
  });

  // Copy buttons (API keys shown once).
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el) { return; }
      var text = el.value || el.textContent;
      var done = function () { btn.textContent = 'Copied'; window.herald.announce('Copied to the clipboard'); };
      if (navigator.clipboard) { navigator.clipboard.writeText(text).then(done, function () { el.select && el.select(); }); }
      else if (el.select) { el.select(); document.execCommand('copy'); done(); }
    });
  });

  // "Select all" checkboxes for bulk actions.
  document.querySelectorAll('[data-select-all]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.querySelectorAll('input[name="' + box.getAttribute('data-select-all') + '"]').forEach(function (c) {
        if (!c.disabled) { c.checked = box.checked; }
      });
    });
  });

  // Live status: post events re-read the post and update its badges.
  if (!body.hasAttribute('data-live') || !window.EventSource) { return; }
  // The bell: approval and failure events may have made a notification.
  var bellKinds = ['post_failed', 'post_unconfirmed', 'integration_needs_reconnect', 'integration_expiring',
    'approval_requested', 'approval_approved', 'approval_rejected'];
  function refreshBell() {
    window.herald.api('GET', '/api/notifications?limit=1').then(function (r) {
      var bell = document.querySelector('.bell');
      if (!r.ok || !r.body || !bell) { return; }
      var count = bell.querySelector('[data-unread]');
      if (r.body.unread > 0) {
        if (!count) { count = document.createElement('span'); count.className = 'count'; count.setAttribute('data-unread', ''); bell.appendChild(count); }
        count.textContent = r.body.unread;
        bell.setAttribute('aria-label', 'Notifications: ' + r.body.unread + ' unread');
      } else if (count) { count.remove(); bell.setAttribute('aria-label', 'Notifications'); }
    });
  }
  var labels = { QUEUED: 'Queued', PUBLISHING: 'Publishing', PUBLISHED: 'Published', FAILED: 'Failed',
    UNCONFIRMED: 'Unconfirmed', CANCELLED: 'Cancelled', DRAFT: 'Draft', SCHEDULED: 'Scheduled' };
  function setBadge(el, status) {
    el.className = el.className.replace(/\bst-[A-Z_]+/g, '').trim() + ' st-' + status;
    el.textContent = labels[status] || status;
    el.setAttribute('data-status', status);
  }
  function refresh(postId) {
    if (!document.querySelector('[data-post="' + postId + '"]')) { return; }
    window.herald.api('GET', '/api/posts/' + postId).then(function (r) {
      if (!r.ok || !r.body) { return; }
      var post = r.body;
      document.querySelectorAll('[data-post-badge="' + postId + '"]').forEach(function (el) { setBadge(el, post.status); });
      (post.targets || []).forEach(function (t) {
        var key = post.id + ':' + t.integrationId;
        document.querySelectorAll('[data-target-badge="' + key + '"]').forEach(function (el) { setBadge(el, t.status); });
        document.querySelectorAll('[data-target-link="' + key + '"]').forEach(function (el) {
          if (t.url) { el.href = t.url; el.hidden = false; }
        });
        document.querySelectorAll('[data-target-error="' + key + '"]').forEach(function (el) {
          el.textContent = t.lastError ? t.lastError.message : ''; el.hidden = !t.lastError;
        });
      });
      window.herald.announce('Post ' + (labels[post.status] || post.status).toLowerCase());
      document.dispatchEvent(new CustomEvent('herald:post', { detail: post }));
    });
  }
  var kinds = ['post_created', 'post_scheduled', 'post_updated', 'post_published', 'post_retrying', 'post_failed',
    'post_unconfirmed', 'post_completed', 'post_publishing', 'post_deleted'];
  var source = new EventSource('/api/events');
  kinds.forEach(function (kind) {
    source.addEventListener(kind, function (e) {
      try { var ev = JSON.parse(e.data); if (ev.postId) { refresh(ev.postId); } } catch (err) { /* ignore */ }
    });
  });
  // Notifications are written a little after their event (see the
  // notification job): look again once they are.
  bellKinds.forEach(function (kind) {
    source.addEventListener(kind, function () { setTimeout(refreshBell, 16000); });
  });
  window.addEventListener('pagehide', function () { source.close(); });
})();
