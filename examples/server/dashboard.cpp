// The live dashboard served at "/": one self-contained page (no external scripts or styles, so it
// works on an air-gapped host). It reads /stats for the last id, replays the newest 200 events
// through /events?since=..., then follows the SSE stream; one timeline row per camera (stream),
// newest first. A ?token= in the page URL is passed on to the requests it makes.
#include "http_server.h"

namespace vlm::net {

const std::string& dashboard_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vlm events</title>
<style>
body{font-family:sans-serif;margin:1em;background:#fafafa}
h1{font-size:1.2em} .cam{background:#fff;border:1px solid #ddd;margin:.5em 0;padding:.5em}
.cam h2{font-size:1em;margin:.2em 0} .ev{border-left:3px solid #48c;padding:.1em .5em;margin:.2em 0}
.ev.event{border-color:#c44} .t{color:#666;font-size:.85em;margin-right:.5em} #status{color:#666}
</style></head><body>
<h1>vlm events <span id="status">connecting…</span></h1>
<div id="cams"></div>
<script>
const token = new URLSearchParams(location.search).get('token');
const q = token ? '&token=' + encodeURIComponent(token) : '';
const cams = {};
function lane(name) {
  if (cams[name]) return cams[name];
  const div = document.createElement('div'); div.className = 'cam'; div.dataset.stream = name;
  const h = document.createElement('h2'); h.textContent = name || '(unnamed stream)';
  const list = document.createElement('div'); list.className = 'events';
  div.appendChild(h); div.appendChild(list); document.getElementById('cams').appendChild(div);
  return cams[name] = list;
}
function show(ev) {
  const list = lane(ev.stream || '');
  const row = document.createElement('div'); row.className = 'ev ' + (ev.kind || '');
  row.dataset.seq = ev.seq;
  const t = document.createElement('span'); t.className = 't';
  t.textContent = '#' + ev.seq + ' ' + (typeof ev.start === 'number' ? ev.start.toFixed(1) + '–' + ev.end.toFixed(1) + ' s' : '');
  const text = document.createElement('span'); text.className = 'text'; text.textContent = ev.text || JSON.stringify(ev);
  row.appendChild(t); row.appendChild(text);
  list.insertBefore(row, list.firstChild);
  while (list.childNodes.length > 500) list.removeChild(list.lastChild);
}
fetch('/stats?format=json' + q).then(r => r.json()).then(s => {
  const since = Math.max(0, (s.last_seq || 0) - 200);
  const es = new EventSource('/events?since=' + since + q);
  es.onopen = () => document.getElementById('status').textContent = 'live';
  es.onerror = () => document.getElementById('status').textContent = 'reconnecting…';
  es.onmessage = m => show(JSON.parse(m.data));
  es.addEventListener('gap', m => { const g = JSON.parse(m.data).gap;
    show({seq: g.to, stream: '', kind: 'gap', text: 'missed events ' + g.from + '–' + g.to + ' (' + g.reason + ')'}); });
}).catch(e => document.getElementById('status').textContent = 'error: ' + e);
</script></body></html>
)HTML";
  return page;
}

}  // namespace vlm::net
