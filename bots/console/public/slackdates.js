/*
 * Slack's <!date^unix^format|fallback> tokens, rendered the way Slack shows them to one reader:
 * in that reader's time zone. The server turns each token into
 * <time class="sk-date" datetime="ISO" data-format="{date_short_pretty} at {time}">fallback</time>;
 * `SlackDates.localize(root, zone)` replaces the fallback with the formatted date.
 * Tokens: {date_num} {date} {date_short} {date_long} {date_pretty} {date_short_pretty}
 * {date_long_pretty} {time} {time_secs} {ago}; anything else stays as written.
 */
(function () {
  'use strict';

  function parts(date, zone) {
    var fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'long',
      hour: 'numeric', minute: '2-digit', second: '2-digit', hour12: true,
    });
    var out = {};
    fmt.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return {
      year: Number(out.year), month: Number(out.month), day: Number(out.day), weekday: out.weekday,
      hour: out.hour, minute: out.minute, second: out.second, dayPeriod: (out.dayPeriod || '').toUpperCase(),
    };
  }

  var MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

  function ordinal(n) {
    var t = n % 100;
    if (t >= 11 && t <= 13) return n + 'th';
    return n + (['th', 'st', 'nd', 'rd'][n % 10] || 'th');
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function dayOffset(p, now) {
    return Math.round((Date.UTC(p.year, p.month - 1, p.day) - Date.UTC(now.year, now.month - 1, now.day)) / 86400000);
  }

  function pretty(p, nowParts, fallback) {
    var d = dayOffset(p, nowParts);
    if (d === 0) return 'today';
    if (d === -1) return 'yesterday';
    if (d === 1) return 'tomorrow';
    return fallback;
  }

  function ago(date, now) {
    var s = Math.round((now.getTime() - date.getTime()) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var v, unit;
    if (s < 60) { v = s; unit = 'second'; }
    else if (s < 3600) { v = Math.floor(s / 60); unit = 'minute'; }
    else if (s < 86400) { v = Math.floor(s / 3600); unit = 'hour'; }
    else if (s < 30 * 86400) { v = Math.floor(s / 86400); unit = 'day'; }
    else if (s < 365 * 86400) { v = Math.floor(s / (30 * 86400)); unit = 'month'; }
    else { v = Math.floor(s / (365 * 86400)); unit = 'year'; }
    var text = v + ' ' + unit + (v === 1 ? '' : 's');
    return future ? 'in ' + text : text + ' ago';
  }

  function format(date, pattern, zone, now) {
    now = now || new Date();
    var p = parts(date, zone);
    var n = parts(now, zone);
    var dateLong = MONTHS[p.month - 1] + ' ' + ordinal(p.day) + ', ' + p.year;
    var dateShort = MONTHS[p.month - 1].slice(0, 3) + ' ' + p.day + ', ' + p.year;
    var full = p.weekday + ', ' + dateLong;
    var tokens = {
      date_num: p.year + '-' + pad(p.month) + '-' + pad(p.day),
      date: dateLong,
      date_short: dateShort,
      date_long: full,
      date_pretty: pretty(p, n, dateLong),
      date_short_pretty: pretty(p, n, dateShort),
      date_long_pretty: pretty(p, n, full),
      time: p.hour + ':' + p.minute + ' ' + p.dayPeriod,
      time_secs: p.hour + ':' + p.minute + ':' + p.second + ' ' + p.dayPeriod,
      ago: ago(date, now),
    };
    var text = pattern.replace(/\{([a-z_]+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(tokens, name) ? tokens[name] : m;
    });
    // Slack capitalises a relative day that opens the text ("Today at 9:00 AM").
    return text.replace(/^(today|yesterday|tomorrow)/, function (w) { return w.charAt(0).toUpperCase() + w.slice(1); });
  }

  function localize(root, zone, now) {
    var nodes = root.querySelectorAll('time.sk-date[datetime]');
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      el.textContent = format(d, el.getAttribute('data-format') || '{date_short}', zone, now);
      el.title = d.toISOString() + ' · shown in ' + zone;
    }
  }

  window.SlackDates = { format: format, localize: localize };
})();
