// Calendar: drag a post to another day or hour, or move it with Alt+arrows;
// the same for drafts without a date, from their panel (#undated).
'use strict';
(function () {
  var cal = document.getElementById('calendar');
  if (!cal) { return; }
  var panel = document.getElementById('undated');
  // Chips are picked up in the calendar and in the panel; they land only in the calendar.
  var sources = panel ? [cal, panel] : [cal];
  var view = cal.getAttribute('data-view');

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  // Local wall-clock arithmetic on "YYYY-MM-DDTHH:MM" strings (no zone needed).
  function shift(at, days, hours) {
    var m = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/.exec(at);
    var d = new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]));
    d.setUTCDate(d.getUTCDate() + days); d.setUTCHours(d.getUTCHours() + hours);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + 'T' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }
  var toIso = window.herald.toIso;

  function move(chip, at) {
    window.herald.api('PUT', '/api/posts/' + chip.getAttribute('data-post'), { scheduledFor: toIso(at) }).then(function (r) {
      if (r.ok) {
        var url = new URL(window.location.href);
        url.searchParams.set('notice', 'moved');
        url.searchParams.set('focus', chip.getAttribute('data-post'));
        window.location.assign(url.toString());
      } else {
        var msg = r.body && r.body.error ? r.body.error.message : 'The post could not be moved.';
        window.herald.announce(msg); window.alert(msg);
      }
    });
  }

  // Drag and drop onto days (month) or hour slots (week, day).
  var dragged = null;
  sources.forEach(function (el) {
    el.addEventListener('dragstart', function (e) {
      var chip = e.target.closest && e.target.closest('[data-movable]');
      if (!chip) { e.preventDefault(); return; }
      dragged = chip; chip.classList.add('dragging');
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', chip.getAttribute('data-post'));
    });
    el.addEventListener('dragend', function () { if (dragged) { dragged.classList.remove('dragging'); } dragged = null; });
  });
  function target(e) { return e.target.closest && e.target.closest('[data-date]'); }
  cal.addEventListener('dragover', function (e) { var t = target(e); if (dragged && t) { e.preventDefault(); t.classList.add('drop'); } });
  cal.addEventListener('dragleave', function (e) { var t = target(e); if (t) { t.classList.remove('drop'); } });
  cal.addEventListener('drop', function (e) {
    var t = target(e);
    if (!dragged || !t) { return; }
    e.preventDefault(); t.classList.remove('drop');
    // An undated draft lands at 09:00 on a day, on the hour in a slot.
    var at = dragged.getAttribute('data-at') || '';
    var time = at.slice(11) || '09:00';
    var slotAt = t.getAttribute('data-at');
    var next = slotAt ? slotAt.slice(0, 13) + (at.slice(13) || ':00') : t.getAttribute('data-date') + 'T' + time;
    if (next !== at) { move(dragged, next); }
  });

  // Keyboard: Alt+←/→ one day; Alt+↑/↓ one week (month) or one hour (week, day).
  // An undated draft has no day to move from: any Alt+arrow puts it on the shown date.
  sources.forEach(function (el) { el.addEventListener('keydown', keyMove); });
  function keyMove(e) {
    var chip = e.target.closest && e.target.closest('[data-movable]');
    if (!chip || !e.altKey) { return; }
    if (!chip.getAttribute('data-at')) {
      if (/^Arrow/.test(e.key)) { e.preventDefault(); move(chip, panel.getAttribute('data-place-at')); }
      return;
    }
    var days = 0, hours = 0;
    if (e.key === 'ArrowLeft') { days = -1; } else if (e.key === 'ArrowRight') { days = 1; }
    else if (e.key === 'ArrowUp') { if (view === 'month') { days = -7; } else { hours = -1; } }
    else if (e.key === 'ArrowDown') { if (view === 'month') { days = 7; } else { hours = 1; } }
    else { return; }
    e.preventDefault();
    move(chip, shift(chip.getAttribute('data-at'), days, hours));
  }

  // After a move, focus returns to the moved post.
  var focus = new URL(window.location.href).searchParams.get('focus');
  if (focus) { var el = cal.querySelector('[data-post="' + focus + '"]'); if (el) { el.focus(); } }
})();
