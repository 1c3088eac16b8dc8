// The public preview page: each platform's look-alike, drawn by preview.js
// from the data the server put in `data-preview` (the plain-text version
// stays for browsers without JavaScript).
'use strict';
(function () {
  function draw() {
    if (!window.herald || !window.herald.preview) { return; }
    document.querySelectorAll('[data-preview]').forEach(function (el) {
      var data;
      try { data = JSON.parse(el.getAttribute('data-preview')); } catch (e) { return; }
      el.innerHTML = window.herald.preview({
        platform: data.platform, platformName: data.platformName, account: data.account,
        text: data.text, media: data.media, replies: data.replies, settings: data.settings
      });
    });
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', draw); } else { draw(); }
})();
