// Previews: the post as each platform shows it (styles: app.css "Previews").
// window.herald.preview(p) returns HTML. All user text goes through esc();
// links are inert spans (a click must not leave the composer); only
// same-origin images are shown, as the CSP blocks (and logs) any other.
'use strict';
(function () {
  const H = window.herald = window.herald || {};
  const R = {};
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  function own(u) {
    try { const x = new URL(u, location.href); return u && (x.origin === location.origin || /^data:image\//.test(u)) ? x.href : ''; } catch (e) { return ''; }
  }

  // Icons: decorative, one path each, coloured by the text.
  const PATHS = {
    reply: 'M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z',
    boost: 'M7 7h10v3l4-4-4-4v3H5v6h2zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2z',
    fav: 'M12 17.3l6.2 3.7-1.6-7 5.4-4.7-7.2-.6L12 2 9.2 8.7 2 9.3l5.4 4.7-1.6 7z',
    mark: 'M17 3H7a2 2 0 0 0-2 2v16l7-3 7 3V5a2 2 0 0 0-2-2z',
    like: 'M12 21l-8.6-8.6a5 5 0 0 1 8.6-7 5 5 0 0 1 8.6 7z',
    talk: 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z',
    up: 'M12 4l8 8h-5v8H9v-8H4z',
    down: 'M12 20l-8-8h5V4h6v8h5z',
    eye: 'M12 5C5 5 1 12 1 12s4 7 11 7 11-7 11-7-4-7-11-7zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8z'
  };
  const ic = (n) => `<svg class="pv-i" viewBox="0 0 24 24" aria-hidden="true"><path d="${PATHS[n]}"/></svg>`;
  const acts = (list, counts) => `<div class="pv-act" aria-hidden="true">${list.map((n) => `<span>${ic(n)}${counts ? ' 0' : ''}</span>`).join('')}</div>`;

  // ---- Text: links, #hashtags and @mentions are found in the raw text, then each piece is escaped ----
  const TOKEN = /https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'\]]|(?<![\p{L}\p{N}_/])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*|(?<![\p{L}\p{N}_/@])@\w(?:[\w.-]*\w)?(?:@\w(?:[\w.-]*\w)?)?/gu;
  function rich(text, o) {
    let out = '', last = 0;
    text = String(text || '');
    for (const m of text.matchAll(TOKEN)) {
      const t = m[0], k = t[0] === 'h' ? 'link' : t[0] === '#' ? 'tag' : 'at';
      out += md(text.slice(last, m.index), o.md) + (o[k] === false ? esc(t) : `<span class="pv-${k}">${esc(k === 'link' && o.short ? o.short(t) : t)}</span>`);
      last = m.index + t.length;
    }
    return `<div class="pv-text">${out}${md(text.slice(last), o.md)}</div>`;
  }
  // Chat apps' markup, on already escaped text (the tags only wrap it).
  function md(s, kind) {
    s = esc(s);
    if (!kind) { return s; }
    s = s.replace(/`([^`\n]+)`/g, '<code>$1</code>');
    if (kind === 'slack') {
      return s.replace(/(^|\W)\*([^*\n]+)\*(?!\w)/g, '$1<b>$2</b>').replace(/(^|\W)_([^_\n]+)_(?!\w)/g, '$1<i>$2</i>').replace(/(^|\W)~([^~\n]+)~(?!\w)/g, '$1<s>$2</s>');
    }
    return s.replace(/\*\*([^*\n]+)\*\*/g, '<b>$1</b>').replace(/~~([^~\n]+)~~/g, '<s>$1</s>').replace(/(^|\W)[*_]([^*_\n]+)[*_](?!\w)/g, '$1<i>$2</i>');
  }
  // Mastodon hides the scheme (and www.) and cuts what is left at 30 characters.
  function mastoUrl(u) { const s = u.replace(/^https?:\/\/(www\.)?/, ''); return s.length > 30 ? s.slice(0, 30) + '…' : s; }
  // Bluesky keeps the host and 13 characters of a path longer than 15.
  function skyUrl(u) {
    const s = u.replace(/^https?:\/\//, ''), i = s.indexOf('/'), path = i < 0 || s.slice(i) === '/' ? '' : s.slice(i);
    return (i < 0 ? s : s.slice(0, i)) + (path.length > 15 ? path.slice(0, 13) + '...' : path);
  }

  // ---- Pieces ----
  const isImg = (m) => !m.mime || /^image\//.test(m.mime);
  // A grid of 1–4 (3 is one tall and two), more in rows of three; ALT as the platforms badge it.
  function media(list, max, cls) {
    list = list.slice(0, max);
    return list.length ? `<div class="pv-media n${Math.min(list.length, 5)}${cls || ''}">${list.map((m) => {
      const src = own(m.url), alt = m.altText || '', kind = isImg(m) ? 'Image' : 'Video';
      return '<span class="pv-m">' + (src && isImg(m) ? `<img src="${esc(src)}" alt="${esc(alt)}">${alt ? '<span class="pv-alt" aria-hidden="true">ALT</span>' : ''}`
        : `<span class="pv-file" role="img" aria-label="${esc(kind + (alt ? ': ' + alt : ''))}">${isImg(m) ? '▣' : '▶'}</span>`) + '</span>';
    }).join('')}</div>` : '';
  }
  const cover = (p) => media(p.media.filter(isImg), 1, ' pv-cover');
  function avatar(a) {
    const src = own(a.avatarUrl);
    return src ? `<img class="pv-av" src="${esc(src)}" alt="">` : `<span class="pv-av" aria-hidden="true">${esc((Array.from(a.name)[0] || '?').toUpperCase())}</span>`;
  }
  const at = (a) => a.handle ? '@' + a.handle.replace(/^@/, '') : '';
  const npub = (a) => a.handle.length > 24 ? a.handle.slice(0, 12) + '…' + a.handle.slice(-6) : a.handle;
  const head = (name, sub, time, badge) => `<header class="pv-hd"><b class="pv-name">${esc(name)}</b>${badge ? ` <span class="pv-badge">${badge}</span>` : ''}` +
    (sub ? ` <span class="pv-handle">${esc(sub)}</span>` : '') + (time ? ` <span class="pv-time">${esc(time)}</span>` : '') + '</header>';
  const items = (p) => [{ text: p.text, media: p.media }].concat(p.replies.filter((r) => r && String(r.text || '').trim())
    .map((r) => ({ text: String(r.text), media: r.media || [] })));
  const hm = (d) => d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  const words = (s) => String(s).split(/\s+/).filter(Boolean);
  // Blogs and Lemmy take settings.title, else the first line (the rest is the body).
  function titled(text, s, max) {
    const t = text.trim(), nl = t.indexOf('\n'), first = (nl < 0 ? t : t.slice(0, nl)).replace(/^#+\s*/, '').trim();
    if (String(s.title || '').trim()) { return { title: String(s.title).trim(), body: t }; }
    if (max && first.length > max) { return { title: first.slice(0, max - 1) + '…', body: t }; }
    return { title: first || 'Untitled', body: nl < 0 ? '' : t.slice(nl + 1).trim() };
  }

  // ---- Mastodon, Bluesky, Nostr: avatar column, name line, text, media, actions; a thread joined by a line ----
  const social = (o) => (p) => {
    const a = p.account, its = items(p), cw = o.cw && String(p.settings.spoilerText || '').trim();
    return its.map((it, i) => {
      let body = rich(it.text, o) + media(it.media, 4);
      if (cw) { body = `<details class="pv-cw"><summary>${esc(cw)}<span class="pv-more">Show more</span><span class="pv-less">Show less</span></summary>${body}</details>`; }
      return `<div class="pv-st${i ? ' reply' : ''}${i < its.length - 1 ? ' more' : ''}">${avatar(a)}<div class="pv-col">${head(a.name, o.sub(a), 'now')}${body}${acts(o.acts, o.counts)}</div></div>`;
    }).join('');
  };
  R.mastodon = social({ short: mastoUrl, cw: 1, sub: at, acts: ['reply', 'boost', 'fav', 'mark'] });
  R.bluesky = social({ short: skyUrl, sub: at, acts: ['talk', 'boost', 'like'], counts: 1 });
  R.nostr = social({ sub: npub, acts: ['talk', 'boost', 'like'] });

  // ---- Telegram: a channel; a caption holds 1024 UTF-16 units, so longer text follows the media ----
  R.telegram = (p, d) => {
    const a = p.account;
    let prev = '', out = '';
    const bubble = (inner, reply, photo) => `<div class="pv-bubble${reply ? ' reply' : ''}${photo ? ' ph' : ''}">` +
      (prev ? `<span class="pv-quote"><b>${esc(a.name)}</b> ${esc(prev)}</span>` : '') + `${inner}<span class="pv-foot">${ic('eye')} 1 · ${hm(d)}</span></div>`;
    items(p).forEach((it, i) => {
      const m = it.media.slice(0, 10), long = m.length && it.text.length > 1024;
      if (m.length) { out += bubble(media(m, 10) + (long || !it.text ? '' : rich(it.text, {})), i, 1); prev = 'Photo'; }
      if (!m.length || long) { out += bubble(rich(it.text, {}), i || long); prev = words(it.text).slice(0, 6).join(' ') + '…'; }
    });
    return `<header class="pv-hd pv-bar">${avatar(a)}<span><b class="pv-name">${esc(a.name)}</b><br><span class="pv-handle">${esc(at(a) || 'channel')}</span></span></header><div class="pv-chat">${out}</div>`;
  };

  // ---- Discord (a webhook's messages) and Slack (an app's): chat rows ----
  const chat = (a, it, time, kind, full) => `<div class="pv-msg${full ? '' : ' reply'}">${full ? avatar(a) + head(a.name, '', time, 'APP') : ''}` +
    rich(it.text, { md: kind, tag: false }) + (kind === 'slack' ? '' : media(it.media, 10)) + '</div>';
  R.discord = (p, d) => {
    const s = p.settings, a = { name: s.username || p.account.name, avatarUrl: s.avatarUrl || p.account.avatarUrl };
    return items(p).map((it, i) => chat(a, it, 'Today at ' + hm(d), 'discord', !i)).join('');
  };
  R.slack = (p, d) => {
    const its = items(p), n = its.length - 1, time = hm(d);
    return chat(p.account, its[0], time, 'slack', 1) + (p.media.length ? '<p class="pv-meta">Slack gets the text only, no media.</p>' : '') +
      (n ? `<div class="pv-thread"><p class="pv-meta pv-link">${n} ${n > 1 ? 'replies' : 'reply'}</p>${its.slice(1).map((it) => chat(p.account, it, time, 'slack', 1)).join('')}</div>` : '');
  };

  // ---- Lemmy: a post in a community (the account is named "Name in !community"); replies are comments ----
  R.lemmy = (p) => {
    const s = p.settings, m = /^(.+?) in !(\S+)$/.exec(p.account.name) || [], t = titled(p.text, s, 200), its = items(p);
    const user = m[1] || p.account.name, where = '!' + String(s.community || m[2] || 'community').replace(/^!/, '');
    return `<div class="pv-post"><div class="pv-votes" aria-hidden="true">${ic('up')}<b>1</b>${ic('down')}</div><div class="pv-col"><p class="pv-title">${esc(t.title)}</p>` +
      `<p class="pv-meta">by <span class="pv-at">${esc(user)}</span> to <span class="pv-at">${esc(where)}</span> · now</p>${cover(p)}${t.body ? rich(t.body, { tag: false }) : ''}` +
      `<p class="pv-meta">${ic('talk')} ${its.length - 1} comment${its.length === 2 ? '' : 's'}</p></div></div>` +
      its.slice(1).map((it) => `<div class="pv-comment reply">${head(user, '', 'now')}${rich(it.text, { tag: false })}</div>`).join('');
  };

  // ---- DEV: the article's card in the feed ----
  R.devto = (p, d) => {
    const s = p.settings, t = titled(p.text, s), a = p.account;
    const tags = [].concat(s.tags || []).map((g) => String(g).replace(/^#/, '').toLowerCase()).slice(0, 4);
    return `${cover(p)}<div class="pv-art"><div class="pv-by">${avatar(a)}<span><b class="pv-name">${esc(a.name)}</b><br><span class="pv-time">` +
      `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })}</span></span></div><p class="pv-title">${esc(t.title)}</p>` +
      (tags.length ? `<p class="pv-tags">${tags.map((g) => `<span>#${esc(g)}</span>`).join(' ')}</p>` : '') +
      `<p class="pv-meta">${Math.max(1, Math.round(words(t.body).length / 275))} min read</p></div>`;
  };

  // ---- WordPress: a blog post, its featured image, and an excerpt of 55 words as WordPress cuts it ----
  R.wordpress = (p, d) => {
    const s = p.settings, t = titled(p.text, s), w = words(t.body);
    const excerpt = String(s.excerpt || '').trim() || w.slice(0, 55).join(' ') + (w.length > 55 ? ' […]' : '');
    return `${cover(p)}<div class="pv-art"><p class="pv-title">${esc(t.title)}</p><p class="pv-meta">` +
      `${esc(d.toLocaleDateString([], { year: 'numeric', month: 'long', day: 'numeric' }) + ' · ' + p.account.name)}</p><div class="pv-text">${esc(excerpt)}</div></div>`;
  };

  // ---- Webhooks, and platforms without a look of their own: what is sent, one request per item ----
  const json = (p) => {
    const its = items(p);
    return head(p.account.name, p.platform === 'webhook' ? 'POST · JSON' : p.platformName, '') + its.map((it, i) => {
      const body = { event: 'post.publish', item: { index: i, of: its.length, content: it.text, mediaUrls: it.media.map((m) => m.url) } };
      if (i) { body.replyTo = { id: '…' }; }
      return `<pre class="pv-json${i ? ' reply' : ''}">${esc(JSON.stringify(body, null, 1))}</pre>`;
    }).join('');
  };

  // p: { platform, platformName, account: { name, handle, avatarUrl }, text, media: [{ url, mime, altText }],
  //      replies: [{ text, media }], settings: {} }
  H.preview = (p) => {
    const id = String(p.platform || '').toLowerCase().replace(/[^a-z0-9_-]/g, ''), a = p.account || {};
    const q = {
      platform: id, platformName: p.platformName || id, text: String(p.text || ''), media: p.media || [],
      // Articles are one piece: DEV and WordPress get no thread.
      replies: id === 'devto' || id === 'wordpress' ? [] : p.replies || [], settings: p.settings || {},
      account: { name: String(a.name || p.platformName || 'Account'), handle: String(a.handle || ''), avatarUrl: a.avatarUrl || '' }
    };
    return `<article class="preview pv pv-${id} pf-${id}" aria-label="${esc(`Preview on ${q.platformName} (${q.account.name})`)}">${(R[id] || json)(q, new Date())}</article>`;
  };
})();
