/*
 * The Baton console: lists handoffs, shows each one's Slack card (HTML rendered by the server from
 * the Block Kit the bot posts) and Teams card (rendered here by the official Adaptive Cards
 * renderer), its packet, timeline and pending SLA timers, and acts as any playbook person through
 * the same core call the bots use. Polls the server; no build step, no dependencies but the
 * renderer's bundle.
 *
 * Deep link: /console#/handoff/<id>?as=<person id>
 */
(function () {
  'use strict';

  var $ = function (sel) { return document.querySelector(sel); };
  var state = {
    boot: null,
    people: new Map(),
    filter: localStorage.getItem('baton.filter') || 'open',
    selected: null,
    actor: localStorage.getItem('baton.actor') || '',
    teamsMode: 'summary',
    // Every time on the screen is shown in one zone: the previewed person's, or the playbook's.
    zoneMode: localStorage.getItem('baton.zone') === 'organization' ? 'organization' : 'person',
    listJson: '',
    detailJson: '',
    detail: null,
    pollMs: 1500,
    busy: false,
  };

  // ---------------------------------------------------------------------------------------------
  // Server

  function request(method, path, body) {
    var init = { method: method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.headers['x-baton-console'] = '1';
      init.body = JSON.stringify(body);
    }
    return fetch('/console/api' + path, init).then(function (res) {
      // The session ended (signed out elsewhere, 12 hours passed, Baton restarted): back to sign-in.
      if (res.status === 401) window.location.assign('/console/login?expired');
      return res.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!res.ok) {
          var err = new Error((json && json.error && json.error.message) || (res.status >= 500
            ? 'Baton could not answer just now; try again (its log says why).'
            : 'Baton refused the request without saying why.'));
          err.status = res.status;
          err.details = json && json.error && json.error.details;
          throw err;
        }
        return json;
      });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== undefined && attrs[k] !== null && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  /** The one zone of the screen, and whose it is: { zone: 'Europe/Berlin', whose: "Dana Kim's zone" }. */
  function screenZone() {
    var org = state.boot && state.boot.organization;
    if (state.zoneMode === 'organization' && org && org.timeZone) return { zone: org.timeZone, whose: 'the playbook\'s zone (' + org.name + ')' };
    var d = state.detail;
    var p = d && d.viewer ? d.viewer : state.people.get(state.actor);
    if (p && p.timeZone) return { zone: p.timeZone, whose: p.name + '\'s zone' };
    if (org && org.timeZone) return { zone: org.timeZone, whose: 'the playbook\'s zone (' + org.name + ')' };
    return { zone: Intl.DateTimeFormat().resolvedOptions().timeZone, whose: 'this browser\'s zone' };
  }

  function zone() { return screenZone().zone; }

  function renderZone() {
    var z = screenZone();
    $('#zone-note').textContent = 'Times in ' + z.zone + ' — ' + z.whose;
  }

  function fmtTime(iso) {
    if (!iso) return '—';
    return new Intl.DateTimeFormat('en-GB', { timeZone: zone(), weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  }

  function relative(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    var s = Math.round(Math.abs(ms) / 1000);
    var text = s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm ' + (s % 60) + 's' : s < 86400 ? Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm' : Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
    return ms >= 0 ? 'in ' + text : text + ' ago';
  }

  var toastTimer;
  function toast(message, tone) {
    var t = $('#toast');
    function hide() { t.hidden = true; document.body.classList.remove('has-toast'); }
    t.onclick = hide;
    t.title = 'Click to dismiss';
    t.textContent = message;
    t.className = tone || 'info';
    t.hidden = false;
    document.body.classList.add('has-toast');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(hide, tone === 'error' ? 9000 : 4000);
  }

  function statusClass(status) { return 'status status-' + status; }

  // ---------------------------------------------------------------------------------------------
  // Routing (hash)

  function readHash() {
    var m = /^#\/handoff\/(\d+)(?:\?(.*))?$/.exec(location.hash);
    if (!m) return;
    state.selected = Number(m[1]);
    var q = new URLSearchParams(m[2] || '');
    if (q.get('as')) state.actor = q.get('as');
  }

  function writeHash() {
    var h = state.selected ? '#/handoff/' + state.selected + (state.actor ? '?as=' + encodeURIComponent(state.actor) : '') : '';
    if (location.hash !== h) history.replaceState(null, '', location.pathname + location.search + h);
  }

  // ---------------------------------------------------------------------------------------------
  // Boot

  function boot() {
    readHash();
    if (window.AdaptiveCards) {
      // Teams renders TextBlock markdown; the renderer needs a processor for it (none is bundled).
      window.AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) {
        result.outputHtml = teamsMarkdown(text);
        result.didProcess = true;
      };
    }
    request('GET', '/bootstrap').then(function (b) {
      state.boot = b;
      state.pollMs = b.pollMs || 1500;
      var byTeam = new Map();
      b.people.forEach(function (p) {
        state.people.set(p.id, p);
        if (!byTeam.has(p.teamName)) byTeam.set(p.teamName, []);
        byTeam.get(p.teamName).push(p);
      });
      var sel = $('#actor');
      byTeam.forEach(function (people, team) {
        var g = el('optgroup', { label: team });
        people.forEach(function (p) {
          var tags = [];
          if (p.admin) tags.push('admin');
          if (p.leads.length) tags.push('lead');
          if (!p.active) tags.push('inactive');
          g.appendChild(el('option', { value: p.id, text: p.name + (tags.length ? ' (' + tags.join(', ') + ')' : '') }));
        });
        sel.appendChild(g);
      });
      if (!state.people.has(state.actor)) state.actor = b.people[0] ? b.people[0].id : '';
      sel.value = state.actor;
      var dt = $('#demo-transition');
      b.transitions.forEach(function (t) { dt.appendChild(el('option', { value: t.id, text: t.name })); });
      $('#filter').value = state.filter;
      $('#zone').value = state.zoneMode;
      renderZone();
      bind();
      tick();
      setInterval(updateCountdowns, 1000);
    }).catch(function (e) {
      toast('Could not load the console: ' + e.message, 'error');
    });
  }

  function bind() {
    $('#actor').addEventListener('change', function (e) {
      state.actor = e.target.value;
      localStorage.setItem('baton.actor', state.actor);
      writeHash();
      refreshDetail(true);
    });
    $('#as-owner').addEventListener('click', function () {
      if (!state.detail) return;
      state.actor = state.detail.view.owner.id;
      $('#actor').value = state.actor;
      localStorage.setItem('baton.actor', state.actor);
      writeHash();
      refreshDetail(true);
    });
    $('#zone').addEventListener('change', function (e) {
      state.zoneMode = e.target.value === 'organization' ? 'organization' : 'person';
      localStorage.setItem('baton.zone', state.zoneMode);
      renderZone();
      if (state.detail) renderDetail(state.detail);
    });
    $('#filter').addEventListener('change', function (e) {
      state.filter = e.target.value;
      localStorage.setItem('baton.filter', state.filter);
      refreshList(true);
    });
    $('#sign-out').addEventListener('click', function () {
      fetch('/console/logout', { method: 'POST', headers: { accept: 'application/json', 'x-baton-console': '1' }, credentials: 'same-origin' })
        .then(function () { window.location.assign('/console/login?signed-out'); });
    });
    $('#new-demo').addEventListener('click', function () {
      var btn = $('#new-demo');
      btn.disabled = true;
      request('POST', '/demo', { transition: $('#demo-transition').value, acceptMinutes: Number($('#demo-minutes').value) })
        .then(function (r) {
          toast('Demo handoff #' + r.handoff.id + ' created for ' + r.handoff.owner.name + ': watch the nudges, the breach and the escalation.', 'good');
          select(r.handoff.id);
          refreshList(true);
        })
        .catch(function (e) { toast(e.message, 'error'); })
        .then(function () { btn.disabled = false; });
    });
    window.addEventListener('hashchange', function () { readHash(); $('#actor').value = state.actor; refreshDetail(true); });
    $('#reject-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var f = e.target;
      act({ action: 'reject', reasonCode: f.reasonCode.value, note: f.note.value }).then(function (ok) { if (ok) hideForms(); });
    });
    $('#reassign-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var f = e.target;
      act({ action: 'reassign', to: f.to.value, note: f.note.value }).then(function (ok) { if (ok) hideForms(); });
    });
    document.querySelectorAll('[data-cancel]').forEach(function (b) { b.addEventListener('click', hideForms); });
    $('#slack-card').addEventListener('click', onSlackClick);
  }

  // ---------------------------------------------------------------------------------------------
  // Polling

  function tick() {
    Promise.all([refreshList(false), refreshDetail(false)])
      .then(function () { $('#live').className = 'live'; })
      .catch(function (e) {
        $('#live').className = 'live down';
        $('#live').title = 'Not updating: ' + e.message;
      })
      .then(function () { setTimeout(tick, state.pollMs); });
  }

  function refreshList(force) {
    return request('GET', '/handoffs?status=' + encodeURIComponent(state.filter)).then(function (r) {
      var json = JSON.stringify(r.handoffs);
      if (!force && json === state.listJson) return;
      state.listJson = json;
      renderList(r.handoffs);
    });
  }

  function refreshDetail(force) {
    if (!state.selected) return Promise.resolve();
    var id = state.selected;
    var q = '?mode=' + state.teamsMode + (state.actor ? '&as=' + encodeURIComponent(state.actor) : '');
    return request('GET', '/handoffs/' + id + q).then(function (d) {
      if (state.selected !== id) return;
      // `now` changes every poll; compare the rest.
      var json = JSON.stringify(Object.assign({}, d, { now: null }));
      if (!force && json === state.detailJson) return;
      state.detailJson = json;
      state.detail = d;
      renderDetail(d);
    }).catch(function (e) {
      if (e.status === 404) { state.selected = null; writeHash(); showEmpty(); return; }
      throw e;
    });
  }

  function select(id) {
    state.selected = id;
    state.teamsMode = 'summary';
    state.detailJson = '';
    hideForms();
    writeHash();
    document.querySelectorAll('#handoff-list li').forEach(function (li) { li.classList.toggle('selected', Number(li.dataset.id) === id); });
    return refreshDetail(true);
  }

  // ---------------------------------------------------------------------------------------------
  // List

  function renderList(handoffs) {
    var ul = $('#handoff-list');
    ul.textContent = '';
    $('#list-empty').hidden = handoffs.length > 0;
    handoffs.forEach(function (h) {
      var li = el('li', { 'data-id': h.id, class: h.id === state.selected ? 'selected' : '', tabindex: '0', onclick: function () { select(h.id); }, onkeydown: function (e) { if (e.key === 'Enter') select(h.id); } }, [
        el('div', { class: 'li-top' }, [
          el('span', { class: 'li-id', text: '#' + h.id }),
          el('span', { class: statusClass(h.status), text: h.statusLabel + (h.escalationLevel ? ' (step ' + h.escalationLevel + ')' : '') }),
          h.demo ? el('span', { class: 'badge', text: 'demo' }) : null,
        ]),
        el('div', { class: 'li-account', text: h.account }),
        el('div', { class: 'li-sub', text: h.transitionName + ' · ' + h.owner.name }),
        h.slaDueAt ? el('div', { class: 'li-due', 'data-due': h.slaDueAt, text: '' }) : null,
      ]);
      ul.appendChild(li);
    });
    updateCountdowns();
  }

  function updateCountdowns() {
    document.querySelectorAll('[data-due]').forEach(function (n) {
      var due = n.getAttribute('data-due');
      var overdue = new Date(due).getTime() < Date.now();
      n.textContent = (n.dataset.prefix || 'SLA ') + relative(due);
      n.classList.toggle('overdue', overdue);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Detail

  function showEmpty() {
    $('#detail-body').hidden = true;
    $('#empty').hidden = false;
  }

  function renderDetail(d) {
    var v = d.view;
    $('#empty').hidden = true;
    $('#detail-body').hidden = false;
    $('#d-title').textContent = '#' + v.id + ' ' + v.transitionName + ' · ' + v.account.name;
    var meta = $('#d-meta');
    meta.textContent = '';
    meta.appendChild(el('span', { class: statusClass(v.status), text: d.statusLabel + (v.escalationLevel ? ' (escalation step ' + v.escalationLevel + ')' : '') }));
    if (d.demo) meta.appendChild(el('span', { class: 'badge', text: 'demo SLA' }));
    meta.appendChild(el('span', { text: 'Owner ' + v.owner.name + ' · from ' + v.from.name + ' · version ' + v.version }));
    if (v.slaDueAt) meta.appendChild(el('span', { class: 'due', 'data-due': v.slaDueAt, 'data-prefix': (v.status === 'accepted' ? 'first touch due ' : 'accept due '), text: '' }));
    renderZone();
    renderRoles(d);
    renderActBar(d);
    renderSlack(d);
    renderTeams(d);
    renderPacket(d);
    renderTimeline(d);
    renderTimers(d);
    updateCountdowns();
  }

  var ROLE_TEXT = { owner: 'the owner', owner_lead: "the owner's lead", admin: 'a playbook admin', sender: 'the sender', sender_lead: "the sender's lead" };

  function renderRoles(d) {
    var p = state.people.get(state.actor);
    var name = p ? p.name : 'nobody';
    var text = d.roles.length
      ? 'Acting as ' + name + ': ' + d.roles.map(function (r) { return ROLE_TEXT[r]; }).join(', ') + '.'
      : 'Acting as ' + name + ', who is neither the owner, their lead nor an admin: no action is theirs to take (the buttons below say why), as in Slack or Teams.';
    $('#d-roles').textContent = text;
  }

  var ACTION_LABEL = { accept: 'Accept', reject: 'Reject…', reassign: 'Reassign…', touch: 'Log first touch', complete: 'Complete', snooze: 'Snooze reminders 1h', withdraw: 'Withdraw' };

  function renderActBar(d) {
    var bar = $('#act-bar');
    bar.textContent = '';
    if (!d.actions.length && !d.unavailable.length) {
      bar.appendChild(el('span', { class: 'muted', text: 'Closed: no actions left.' }));
      hideForms();
      return;
    }
    d.actions.forEach(function (a) {
      bar.appendChild(el('button', {
        type: 'button', class: a === 'accept' ? 'primary' : a === 'withdraw' ? 'ghost' : '', 'data-act': a, text: ACTION_LABEL[a] || a,
        onclick: function () { onAction(a); },
      }));
    });
    // What the status allows but this person may not do: shown, disabled, with the core's reason.
    d.unavailable.forEach(function (u) {
      bar.appendChild(el('button', { type: 'button', class: 'ghost', disabled: 'disabled', 'data-act': u.action, title: u.reason, text: ACTION_LABEL[u.action] || u.label }));
    });
    if (d.unavailable.length) bar.appendChild(el('p', { class: 'muted why-not', text: d.unavailable[0].reason }));
    fillForms(d);
  }

  function fillForms(d) {
    var rs = $('#reject-form').reasonCode;
    var keepR = rs.value;
    rs.textContent = '';
    rs.appendChild(el('option', { value: '', text: 'Pick a reason' }));
    d.rejectReasons.forEach(function (r) { rs.appendChild(el('option', { value: r.code, text: r.label })); });
    rs.value = keepR;
    var to = $('#reassign-form').to;
    var keepT = to.value;
    to.textContent = '';
    if (d.queueChoice) to.appendChild(el('option', { value: 'queue', text: d.queueChoice.label }));
    d.reassignTo.forEach(function (p) { to.appendChild(el('option', { value: p.id, text: p.name })); });
    to.value = keepT || (d.queueChoice ? 'queue' : '');
  }

  function hideForms() {
    $('#reject-form').hidden = true;
    $('#reassign-form').hidden = true;
  }

  function onAction(a) {
    if (a === 'reject') { hideForms(); $('#reject-form').hidden = false; $('#reject-form').reasonCode.focus(); return; }
    if (a === 'reassign') { hideForms(); $('#reassign-form').hidden = false; $('#reassign-form').to.focus(); return; }
    if (a === 'withdraw') { var note = prompt('Why is it withdrawn?'); if (note === null) return; act({ action: 'withdraw', note: note }); return; }
    if (a === 'snooze') { act({ action: 'snooze', reasonCode: '1h' }); return; }
    act({ action: a });
  }

  var DONE = { accept: 'accepted', reject: 'rejected', reassign: 'reassigned', touch: 'logged the first touch on', complete: 'completed', snooze: 'snoozed the reminders of', withdraw: 'withdrew' };

  /** One core call (service.act), as the picked person. */
  function act(body) {
    if (!state.detail) return Promise.resolve(false);
    var id = state.detail.view.id;
    var payload = Object.assign({ actor: state.actor, expectedVersion: state.detail.view.version }, body);
    if (payload.expectedVersion === undefined) delete payload.expectedVersion;
    var who = state.people.get(state.actor);
    return request('POST', '/handoffs/' + id + '/actions', payload)
      .then(function (r) {
        toast((who ? who.name : state.actor) + ' ' + (DONE[body.action] || body.action) + ' #' + id + ': it is now ' + r.handoff.statusLabel.toLowerCase() + '.', 'good');
        return Promise.all([refreshDetail(true), refreshList(true)]).then(function () { return true; });
      })
      .catch(function (e) {
        var extra = e.details && e.details.length ? ' (' + e.details.map(function (x) { return x.path + ': ' + x.message; }).join('; ') + ')' : '';
        toast(e.message + extra, 'error');
        return refreshDetail(true).then(function () { return false; });
      });
  }

  // ---------------------------------------------------------------------------------------------
  // Slack card

  var SLACK_ACTIONS = { handoff_accept: 'accept', handoff_reject: 'reject', handoff_reassign: 'reassign', handoff_touch: 'touch', handoff_complete: 'complete', handoff_snooze: 'snooze' };

  function renderSlack(d) {
    var root = $('#slack-card');
    root.innerHTML = d.slack.html; // built and escaped by the server (bots/console/slackHtml.ts)
    window.SlackDates.localize(root, zone());
  }

  function onSlackClick(e) {
    var b = e.target.closest('button[data-action-id]');
    if (!b || !state.detail) return;
    var id = b.getAttribute('data-action-id');
    var value = /^(\d+):(\d+)$/.exec(b.getAttribute('data-value') || '');
    if (id === 'handoff_details') {
      var panel = $('#packet-panel');
      panel.scrollIntoView({ behavior: 'smooth', block: 'center' });
      panel.classList.add('flash');
      setTimeout(function () { panel.classList.remove('flash'); }, 1200);
      return;
    }
    var action = SLACK_ACTIONS[id];
    if (!action) { toast('The console does not handle ' + id + '.', 'error'); return; }
    if (action === 'reject' || action === 'reassign' || action === 'snooze') { onAction(action); return; }
    // The button carries the version the card showed: a stale card gets the core's conflict.
    act({ action: action, expectedVersion: value ? Number(value[2]) : undefined });
  }

  // ---------------------------------------------------------------------------------------------
  // Teams card (the official Adaptive Cards renderer)

  var TEAMS_HOST = {
    fontFamily: "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, BlinkMacSystemFont, Roboto, 'Helvetica Neue', sans-serif",
    supportsInteractivity: true,
    spacing: { small: 8, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
    separator: { lineThickness: 1, lineColor: '#E1DFDD' },
    fontSizes: { small: 12, default: 14, medium: 16, large: 18, extraLarge: 24 },
    fontWeights: { lighter: 200, default: 400, bolder: 600 },
    imageSizes: { small: 32, medium: 52, large: 100 },
    containerStyles: {
      default: { backgroundColor: '#FFFFFF', foregroundColors: { default: { default: '#242424', subtle: '#616161' }, accent: { default: '#5B5FC7', subtle: '#5B5FC7' }, good: { default: '#237B4B', subtle: '#237B4B' }, warning: { default: '#835B00', subtle: '#835B00' }, attention: { default: '#C4314B', subtle: '#C4314B' }, dark: { default: '#242424', subtle: '#616161' }, light: { default: '#FFFFFF', subtle: '#FFFFFF' } } },
      emphasis: { backgroundColor: '#F5F5F5', foregroundColors: { default: { default: '#242424', subtle: '#616161' }, accent: { default: '#5B5FC7', subtle: '#5B5FC7' }, good: { default: '#237B4B', subtle: '#237B4B' }, warning: { default: '#835B00', subtle: '#835B00' }, attention: { default: '#C4314B', subtle: '#C4314B' } } },
      good: { backgroundColor: '#E7F2DA', foregroundColors: { default: { default: '#242424', subtle: '#616161' }, good: { default: '#237B4B', subtle: '#237B4B' }, attention: { default: '#C4314B', subtle: '#C4314B' } } },
      attention: { backgroundColor: '#FDE7E9', foregroundColors: { default: { default: '#242424', subtle: '#616161' }, attention: { default: '#C4314B', subtle: '#C4314B' } } },
      warning: { backgroundColor: '#FBF6D9', foregroundColors: { default: { default: '#242424', subtle: '#616161' }, warning: { default: '#835B00', subtle: '#835B00' } } },
      accent: { backgroundColor: '#E8EBFA', foregroundColors: { default: { default: '#242424', subtle: '#616161' } } },
    },
    actions: { maxActions: 6, spacing: 'default', buttonSpacing: 8, showCard: { actionMode: 'inline', inlineTopMargin: 12, style: 'emphasis' }, actionsOrientation: 'horizontal', actionAlignment: 'left' },
    adaptiveCard: { allowCustomStyle: true },
    factSet: { title: { weight: 'bolder', wrap: true, maxWidth: 150 }, value: { wrap: true }, spacing: 8 },
    textBlock: { headingLevel: 2 },
  };

  function escapeHtml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  /** The markdown subset Teams renders in TextBlocks: bold, italic, links, lists, line breaks. */
  function teamsMarkdown(text) {
    var lines = escapeHtml(text).split('\n');
    var html = '';
    var list = null;
    function inline(s) {
      return s
        .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
        .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
        .replace(/(^|[^\w*])\*([^*\s][^*]*)\*(?!\w)/g, '$1<em>$2</em>')
        .replace(/(^|[^\w_])_([^_\s][^_]*)_(?!\w)/g, '$1<em>$2</em>');
    }
    lines.forEach(function (line, i) {
      var m = /^\s*(?:[-*+]|\d+\.)\s+(.*)$/.exec(line);
      if (m) {
        if (!list) { list = /^\s*\d/.test(line) ? 'ol' : 'ul'; html += '<' + list + '>'; }
        html += '<li>' + inline(m[1]) + '</li>';
        return;
      }
      if (list) { html += '</' + list + '>'; list = null; }
      html += inline(line) + (i < lines.length - 1 ? '<br>' : '');
    });
    if (list) html += '</' + list + '>';
    return '<p>' + html + '</p>';
  }

  var VERBS = {
    'handoff.accept': 'accept', 'handoff.reject': 'reject', 'handoff.reassign': 'reassign', 'handoff.touch': 'touch',
    'handoff.complete': 'complete', 'handoff.snooze': 'snooze', 'handoff.details': 'details', 'handoff.refresh': 'refresh',
  };

  function onTeamsAction(action) {
    var verb = action.verb;
    var data = action.data || {};
    var a = VERBS[verb];
    if (!a) { toast('The console does not handle ' + (verb || action.getJsonTypeName()) + '.', 'error'); return; }
    if (a === 'details' || a === 'refresh') {
      state.teamsMode = a === 'details' ? 'details' : 'summary';
      refreshDetail(true);
      return;
    }
    var body = { action: a, expectedVersion: typeof data.version === 'number' ? data.version : undefined };
    if (a === 'reject') { body.reasonCode = data.rejectReason; body.note = data.rejectNote; }
    if (a === 'reassign') { body.to = data.reassignTo; body.note = data.reassignNote; }
    if (a === 'snooze') body.reasonCode = '1h';
    act(body);
  }

  var DATE_TIME = /\{\{DATE\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), SHORT\)\}\} \{\{TIME\(\1\)\}\}/g;
  var DATE_ONLY = /\{\{DATE\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?:, (?:SHORT|LONG|COMPACT))?\)\}\}/g;
  var TIME_ONLY = /\{\{TIME\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)\}\}/g;

  /**
   * Teams formats {{DATE()}}/{{TIME()}} in each reader's device zone; the renderer would use this
   * browser's. The console shows one zone per screen, so they are written out in it, in Teams'
   * short style ("Mon, Dec 7, 2026 6:00 PM").
   */
  function inZone(card, tz) {
    var dateFmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });
    var timeFmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', minute: '2-digit' });
    function text(s) {
      return s
        .replace(DATE_TIME, function (_, iso) { return dateFmt.format(new Date(iso)) + ' ' + timeFmt.format(new Date(iso)); })
        .replace(DATE_ONLY, function (_, iso) { return dateFmt.format(new Date(iso)); })
        .replace(TIME_ONLY, function (_, iso) { return timeFmt.format(new Date(iso)); });
    }
    function walk(x) {
      if (typeof x === 'string') return text(x);
      if (Array.isArray(x)) return x.map(walk);
      if (x && typeof x === 'object') {
        var out = {};
        Object.keys(x).forEach(function (k) { out[k] = walk(x[k]); });
        return out;
      }
      return x;
    }
    return walk(card);
  }

  function renderTeams(d) {
    var host = $('#teams-card');
    var viewer = d.viewer ? d.viewer.name : 'nobody';
    $('#teams-viewer').textContent = (d.teams.mode === 'details' ? 'details view' : 'the card') + ' as ' + viewer + ' sees it';
    if (!window.AdaptiveCards) {
      host.textContent = 'The Adaptive Cards renderer did not load (is the adaptivecards package installed?).';
      return;
    }
    var AC = window.AdaptiveCards;
    var card = new AC.AdaptiveCard();
    card.hostConfig = new AC.HostConfig(TEAMS_HOST);
    card.onExecuteAction = onTeamsAction;
    try {
      card.parse(inZone(d.teams.card, zone()));
      var rendered = card.render();
      host.textContent = '';
      if (rendered) host.appendChild(rendered);
    } catch (e) {
      host.textContent = 'The renderer refused this card: ' + e.message;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Packet, timeline, timers

  function renderPacket(d) {
    var dl = $('#packet');
    dl.textContent = '';
    d.packet.forEach(function (e) {
      dl.appendChild(el('dt', { text: e.label }));
      dl.appendChild(el('dd', { text: e.text }));
    });
  }

  function renderTimeline(d) {
    var ol = $('#timeline');
    ol.textContent = '';
    d.timeline.forEach(function (e) {
      ol.appendChild(el('li', { class: 'ev ev-' + e.type }, [
        el('div', {}, [el('time', { datetime: e.at, text: fmtTime(e.at) }), ' ', el('b', { text: e.what }), ' by ' + e.by]),
        e.detail ? el('div', { class: 'muted', text: e.detail }) : null,
        e.note ? el('div', { class: 'note', text: '“' + e.note + '”' }) : null,
      ]));
    });
  }

  function renderTimers(d) {
    var tbody = $('#timers tbody');
    tbody.textContent = '';
    if (d.timers === null) {
      $('#timers-empty').hidden = false;
      $('#timers-empty').textContent = 'The jobs port is not available to the console.';
      return;
    }
    $('#timers-empty').hidden = d.timers.length > 0;
    $('#timers-empty').textContent = 'No timers pending.';
    d.timers.forEach(function (t) {
      tbody.appendChild(el('tr', { 'data-step': t.step || '' }, [
        el('td', { text: t.label }),
        el('td', {}, [
          el('time', { datetime: t.runAt || '', text: fmtTime(t.runAt) }),
          el('div', { class: 'muted' }, [t.runAt ? el('span', { 'data-due': t.runAt, 'data-prefix': ' ', text: '' }) : 'ran', t.lockedAt ? ' (running)' : '', t.failCount ? ' · ' + t.failCount + (t.failCount === 1 ? ' failure' : ' failures') : '']),
        ]),
      ]));
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
