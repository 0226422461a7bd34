import { describe, expect, it } from '@jest/globals';
import type { BusinessCalendar } from '../../src/sla/businessCalendar.js';
import {
  addBusinessTime,
  businessTimeBetween,
  formatDuration,
  isBusinessTime,
  nextBusinessStart,
  parseBusinessHours,
  parseDuration,
} from '../../src/sla/businessTime.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Mon–Fri open with `hours`, weekend closed. */
function weekdays(hours: string, timeZone = 'Europe/Berlin', holidays: string[] = []): BusinessCalendar {
  const open = parseBusinessHours(hours);
  return { timeZone, weekly: { 1: open, 2: open, 3: open, 4: open, 5: open, 6: [], 7: [] }, holidays };
}

/** Open with `hours` on all seven days, which isolates DST effects from weekend skipping. */
function everyDay(hours: string, timeZone: string, holidays: string[] = []): BusinessCalendar {
  const open = parseBusinessHours(hours);
  return { timeZone, weekly: { 1: open, 2: open, 3: open, 4: open, 5: open, 6: open, 7: open }, holidays };
}

const at = (iso: string): Date => new Date(iso);
const due = (startIso: string, durationMs: number, cal: BusinessCalendar): string =>
  addBusinessTime(at(startIso), durationMs, cal).toISOString();
const between = (fromIso: string, toIso: string, cal: BusinessCalendar): number =>
  businessTimeBetween(at(fromIso), at(toIso), cal);

const berlinOffice = weekdays('09:00-17:00');

describe('addBusinessTime in Europe/Berlin, Mon–Fri 09:00–17:00', () => {
  it('puts a Friday-evening handoff with a 2h SLA at Monday 11:00 Berlin', () => {
    // Fri 2026-11-20 18:55 CET
    expect(due('2026-11-20T17:55:00Z', 2 * HOUR, berlinOffice)).toBe('2026-11-23T10:00:00.000Z');
  });

  it('counts straight through when the handoff arrives inside hours', () => {
    // Tue 10:30 CET + 2h → 12:30 CET
    expect(due('2026-11-17T09:30:00Z', 2 * HOUR, berlinOffice)).toBe('2026-11-17T11:30:00.000Z');
  });

  it('carries the remainder past closing into the next morning', () => {
    // Tue 16:00 CET + 2h → 1h Tue, 1h Wed → Wed 10:00 CET
    expect(due('2026-11-17T15:00:00Z', 2 * HOUR, berlinOffice)).toBe('2026-11-18T09:00:00.000Z');
  });

  it('starts counting at opening when the handoff arrives early in the morning', () => {
    // Wed 07:00 CET + 30m → 09:30 CET
    expect(due('2026-11-18T06:00:00Z', 30 * MINUTE, berlinOffice)).toBe('2026-11-18T08:30:00.000Z');
  });

  it('ends exactly at closing when a full day starts exactly at opening', () => {
    // Mon 09:00 CET + 8h → Mon 17:00 CET, not the next morning
    expect(due('2026-11-23T08:00:00Z', 8 * HOUR, berlinOffice)).toBe('2026-11-23T16:00:00.000Z');
  });

  it('treats closing time as outside hours', () => {
    // Fri 17:00 CET + 1h → Mon 10:00 CET
    expect(due('2026-11-20T16:00:00Z', 1 * HOUR, berlinOffice)).toBe('2026-11-23T09:00:00.000Z');
  });

  it('skips the weekend for a handoff arriving on Saturday', () => {
    // Sat 12:00 CET + 1h → Mon 10:00 CET
    expect(due('2026-11-21T11:00:00Z', 1 * HOUR, berlinOffice)).toBe('2026-11-23T09:00:00.000Z');
  });

  it('returns the start itself for a zero duration inside hours', () => {
    expect(due('2026-11-17T09:30:00Z', 0, berlinOffice)).toBe('2026-11-17T09:30:00.000Z');
  });

  it('returns the next opening for a zero duration outside hours', () => {
    expect(due('2026-11-21T11:00:00Z', 0, berlinOffice)).toBe('2026-11-23T08:00:00.000Z');
  });

  it('spans a whole working week and one hour more', () => {
    // Mon 09:00 CET + 40h → Fri 17:00 CET; +41h → next Mon 10:00 CET
    expect(due('2026-11-16T08:00:00Z', 40 * HOUR, berlinOffice)).toBe('2026-11-20T16:00:00.000Z');
    expect(due('2026-11-16T08:00:00Z', 41 * HOUR, berlinOffice)).toBe('2026-11-23T09:00:00.000Z');
  });

  it('handles 1000 business hours (25 weeks) across the spring DST change', () => {
    // Mon 2026-11-16 09:00 CET + 125 working days → Fri 2027-05-07 17:00 CEST
    expect(due('2026-11-16T08:00:00Z', 1000 * HOUR, berlinOffice)).toBe('2027-05-07T15:00:00.000Z');
  });

  it('keeps sub-minute precision', () => {
    expect(due('2026-11-17T09:30:00.250Z', 1_500, berlinOffice)).toBe('2026-11-17T09:30:01.750Z');
  });
});

describe('lunch breaks (two ranges a day)', () => {
  const withLunch = weekdays('09:00-12:00, 13:00-17:00');

  it('jumps over lunch', () => {
    // Tue 11:30 CET + 1h → 30m before lunch, 30m after → 13:30 CET
    expect(due('2026-11-17T10:30:00Z', 1 * HOUR, withLunch)).toBe('2026-11-17T12:30:00.000Z');
  });

  it('starts after lunch for a handoff arriving during lunch', () => {
    // Tue 12:15 CET + 15m → 13:15 CET
    expect(due('2026-11-17T11:15:00Z', 15 * MINUTE, withLunch)).toBe('2026-11-17T12:15:00.000Z');
  });

  it('ends at the start of lunch when the morning is used up exactly', () => {
    // Tue 11:00 CET + 1h → 12:00 CET
    expect(due('2026-11-17T10:00:00Z', 1 * HOUR, withLunch)).toBe('2026-11-17T11:00:00.000Z');
  });

  it('counts seven hours in a working day', () => {
    expect(between('2026-11-16T23:00:00Z', '2026-11-17T23:00:00Z', withLunch)).toBe(7 * HOUR);
  });

  it('knows lunch is not business time and the afternoon opening is the next start', () => {
    expect(isBusinessTime(at('2026-11-17T11:00:00Z'), withLunch)).toBe(false);
    expect(nextBusinessStart(at('2026-11-17T11:00:00Z'), withLunch).toISOString()).toBe('2026-11-17T12:00:00.000Z');
  });
});

describe('holidays', () => {
  it('pushes the Friday-evening handoff to Tuesday when Monday is a holiday', () => {
    const cal = weekdays('09:00-17:00', 'Europe/Berlin', ['2026-11-23']);
    expect(due('2026-11-20T17:55:00Z', 2 * HOUR, cal)).toBe('2026-11-24T10:00:00.000Z');
  });

  it('skips consecutive holidays on Monday and Tuesday', () => {
    const cal = weekdays('09:00-17:00', 'Europe/Berlin', ['2026-11-23', '2026-11-24']);
    expect(due('2026-11-20T17:55:00Z', 2 * HOUR, cal)).toBe('2026-11-25T10:00:00.000Z');
  });

  it('skips Christmas Eve and Christmas Day followed by a weekend', () => {
    const cal = weekdays('09:00-17:00', 'Europe/Berlin', ['2026-12-24', '2026-12-25']);
    // Wed 2026-12-23 16:00 CET + 3h → 1h Wed, Thu/Fri holidays, weekend, 2h Mon 28th → 11:00 CET
    expect(due('2026-12-23T15:00:00Z', 3 * HOUR, cal)).toBe('2026-12-28T10:00:00.000Z');
  });

  it('matches holidays by local date, not UTC date', () => {
    // 2026-11-22T23:30Z is already Mon 00:30 in Berlin, so Monday's holiday applies.
    const cal = weekdays('00:00-24:00', 'Europe/Berlin', ['2026-11-23']);
    expect(isBusinessTime(at('2026-11-22T23:30:00Z'), cal)).toBe(false);
    expect(isBusinessTime(at('2026-11-23T23:30:00Z'), cal)).toBe(true);
  });

  it('excludes holidays from businessTimeBetween', () => {
    const cal = weekdays('09:00-17:00', 'Europe/Berlin', ['2026-11-18']);
    // Mon 00:00 CET → next Mon 00:00 CET, one weekday off
    expect(between('2026-11-15T23:00:00Z', '2026-11-22T23:00:00Z', cal)).toBe(32 * HOUR);
  });
});

describe('isBusinessTime and nextBusinessStart boundaries', () => {
  it('includes opening time and excludes closing time', () => {
    expect(isBusinessTime(at('2026-11-20T08:00:00.000Z'), berlinOffice)).toBe(true);
    expect(isBusinessTime(at('2026-11-20T07:59:59.999Z'), berlinOffice)).toBe(false);
    expect(isBusinessTime(at('2026-11-20T15:59:59.999Z'), berlinOffice)).toBe(true);
    expect(isBusinessTime(at('2026-11-20T16:00:00.000Z'), berlinOffice)).toBe(false);
  });

  it('returns the instant itself when already inside business time', () => {
    expect(nextBusinessStart(at('2026-11-20T12:34:56.789Z'), berlinOffice).toISOString()).toBe(
      '2026-11-20T12:34:56.789Z',
    );
  });

  it('returns Monday opening from Friday closing', () => {
    expect(nextBusinessStart(at('2026-11-20T16:00:00Z'), berlinOffice).toISOString()).toBe('2026-11-23T08:00:00.000Z');
  });

  it('is false everywhere for a calendar without working hours', () => {
    const closed = weekdays('closed');
    expect(isBusinessTime(at('2026-11-20T12:00:00Z'), closed)).toBe(false);
  });
});

describe('businessTimeBetween', () => {
  it('is 40h over a Berlin working week', () => {
    expect(between('2026-11-15T23:00:00Z', '2026-11-22T23:00:00Z', berlinOffice)).toBe(40 * HOUR);
  });

  it('is 2h from Friday 16:00 to Monday 10:00', () => {
    expect(between('2026-11-20T15:00:00Z', '2026-11-23T09:00:00Z', berlinOffice)).toBe(2 * HOUR);
  });

  it('is 0 when `to` is not after `from`', () => {
    expect(between('2026-11-20T12:00:00Z', '2026-11-20T12:00:00Z', berlinOffice)).toBe(0);
    expect(between('2026-11-20T13:00:00Z', '2026-11-20T12:00:00Z', berlinOffice)).toBe(0);
  });

  it('is 0 over a weekend', () => {
    expect(between('2026-11-20T16:00:00Z', '2026-11-23T08:00:00Z', berlinOffice)).toBe(0);
  });

  it('is 0 for a calendar without working hours rather than throwing', () => {
    expect(between('2026-11-16T00:00:00Z', '2026-12-16T00:00:00Z', weekdays(''))).toBe(0);
  });
});

describe('DST in Europe/Berlin', () => {
  const allDay = everyDay('00:00-24:00', 'Europe/Berlin');

  it('has a 23-hour day on spring-forward Sunday 2026-03-29', () => {
    // local midnight CET → next local midnight CEST
    expect(between('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', allDay)).toBe(23 * HOUR);
  });

  it('counts real hours, not wall-clock hours, through the spring-forward jump', () => {
    // 00:00 CET + 3h real → 04:00 CEST (the wall clock skipped 02:00–03:00)
    expect(due('2026-03-28T23:00:00Z', 3 * HOUR, allDay)).toBe('2026-03-29T02:00:00.000Z');
  });

  it('has a 25-hour day on fall-back Sunday 2026-10-25', () => {
    expect(between('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', allDay)).toBe(25 * HOUR);
  });

  it('starts a range inside the spring-forward gap at the jump', () => {
    const fromHalfPastTwo = everyDay('02:30-05:00', 'Europe/Berlin');
    // 01:30 CET → first valid instant after 02:30 is 03:00 CEST = 01:00Z
    expect(nextBusinessStart(at('2026-03-29T00:30:00Z'), fromHalfPastTwo).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // 03:00–05:00 CEST that day is 2h; the next day the range is the full 2h30m
    expect(between('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', fromHalfPastTwo)).toBe(2 * HOUR);
    expect(due('2026-03-29T00:30:00Z', 2 * HOUR + 30 * MINUTE, fromHalfPastTwo)).toBe('2026-03-30T01:00:00.000Z');
  });

  it('gives nothing for a range wholly inside the spring-forward gap', () => {
    const gapOnly = everyDay('02:00-03:00', 'Europe/Berlin');
    expect(between('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', gapOnly)).toBe(0);
    // …and the count moves on to the next day's 02:00 CEST
    expect(due('2026-03-28T23:00:00Z', 30 * MINUTE, gapOnly)).toBe('2026-03-30T00:30:00.000Z');
  });

  it('counts the repeated hour twice on fall-back night', () => {
    const repeatedHour = everyDay('02:00-03:00', 'Europe/Berlin');
    // 02:00 CEST (00:00Z) → 03:00 CET (02:00Z)
    expect(between('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', repeatedHour)).toBe(2 * HOUR);
    expect(isBusinessTime(at('2026-10-25T01:30:00Z'), repeatedHour)).toBe(true); // 02:30 CET, second pass
  });

  it('switches offset over a weekend with spring forward', () => {
    // Fri 2026-03-27 16:00 CET + 2h → Mon 2026-03-30 10:00 CEST
    expect(due('2026-03-27T15:00:00Z', 2 * HOUR, berlinOffice)).toBe('2026-03-30T08:00:00.000Z');
  });

  it('switches offset over a weekend with fall back', () => {
    // Fri 2026-10-23 16:00 CEST + 2h → Mon 2026-10-26 10:00 CET
    expect(due('2026-10-23T14:00:00Z', 2 * HOUR, berlinOffice)).toBe('2026-10-26T09:00:00.000Z');
  });
});

describe('DST in America/New_York', () => {
  const earlyMorning = everyDay('01:00-04:00', 'America/New_York');
  const newYorkOffice = weekdays('09:00-17:00', 'America/New_York');

  it('has 2 real hours in 01:00–04:00 on spring-forward day 2026-03-08', () => {
    // 01:00 EST (06:00Z) → 04:00 EDT (08:00Z)
    expect(between('2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', earlyMorning)).toBe(2 * HOUR);
  });

  it('has 4 real hours in 01:00–04:00 on fall-back day 2026-11-01', () => {
    // 01:00 EDT (05:00Z) → 04:00 EST (09:00Z)
    expect(between('2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', earlyMorning)).toBe(4 * HOUR);
    expect(due('2026-11-01T05:00:00Z', 3 * HOUR + 30 * MINUTE, earlyMorning)).toBe('2026-11-01T08:30:00.000Z');
    expect(isBusinessTime(at('2026-11-01T06:30:00Z'), earlyMorning)).toBe(true); // 01:30 EST, second pass
  });

  it('crosses the spring-forward weekend', () => {
    // Fri 2026-03-06 16:00 EST + 2h → Mon 2026-03-09 10:00 EDT
    expect(due('2026-03-06T21:00:00Z', 2 * HOUR, newYorkOffice)).toBe('2026-03-09T14:00:00.000Z');
  });

  it('crosses the fall-back weekend', () => {
    // Fri 2026-10-30 16:00 EDT + 2h → Mon 2026-11-02 10:00 EST
    expect(due('2026-10-30T20:00:00Z', 2 * HOUR, newYorkOffice)).toBe('2026-11-02T15:00:00.000Z');
  });
});

describe('zones without DST and with odd offsets', () => {
  it('works in Asia/Kolkata (+05:30)', () => {
    const cal = weekdays('10:00-19:00', 'Asia/Kolkata');
    // Fri 2026-11-20 18:00 IST + 3h → 1h Fri, 2h Mon → Mon 12:00 IST
    expect(due('2026-11-20T12:30:00Z', 3 * HOUR, cal)).toBe('2026-11-23T06:30:00.000Z');
  });

  it('works in Asia/Tokyo (+09:00) and uses the local weekday, not the UTC one', () => {
    const cal = weekdays('09:00-18:00', 'Asia/Tokyo');
    // 2026-11-20T16:00Z is Friday in UTC but already Saturday 01:00 JST
    expect(isBusinessTime(at('2026-11-20T16:00:00Z'), cal)).toBe(false);
    expect(due('2026-11-20T16:00:00Z', 1 * HOUR, cal)).toBe('2026-11-23T01:00:00.000Z');
    // Fri 17:00 JST + 2h → Mon 10:00 JST, or Tue when Monday is Labour Thanksgiving Day
    expect(due('2026-11-20T08:00:00Z', 2 * HOUR, cal)).toBe('2026-11-23T01:00:00.000Z');
    const withHoliday = weekdays('09:00-18:00', 'Asia/Tokyo', ['2026-11-23']);
    expect(due('2026-11-20T08:00:00Z', 2 * HOUR, withHoliday)).toBe('2026-11-24T01:00:00.000Z');
  });

  it('works in Australia/Adelaide (+10:30 → +09:30 on 2026-04-05)', () => {
    const cal = weekdays('09:00-17:00', 'Australia/Adelaide');
    // Fri 2026-04-03 16:00 ACDT + 2h → Mon 2026-04-06 10:00 ACST
    expect(due('2026-04-03T05:30:00Z', 2 * HOUR, cal)).toBe('2026-04-06T00:30:00.000Z');
  });
});

describe('southern-hemisphere DST in Australia/Sydney', () => {
  const allDay = everyDay('00:00-24:00', 'Australia/Sydney');
  const sydneyOffice = weekdays('09:00-17:00', 'Australia/Sydney');

  it('has a 25-hour day when DST ends on 2026-04-05', () => {
    // midnight AEDT (13:00Z) → midnight AEST (14:00Z next day)
    expect(between('2026-04-04T13:00:00Z', '2026-04-05T14:00:00Z', allDay)).toBe(25 * HOUR);
  });

  it('has a 23-hour day when DST starts on 2026-10-04', () => {
    // midnight AEST (14:00Z) → midnight AEDT (13:00Z next day)
    expect(between('2026-10-03T14:00:00Z', '2026-10-04T13:00:00Z', allDay)).toBe(23 * HOUR);
  });

  it('crosses the DST-end weekend', () => {
    // Fri 2026-04-03 16:00 AEDT + 2h → Mon 2026-04-06 10:00 AEST
    expect(due('2026-04-03T05:00:00Z', 2 * HOUR, sydneyOffice)).toBe('2026-04-06T00:00:00.000Z');
  });

  it('crosses the DST-start weekend, then a Labour Day holiday', () => {
    // Fri 2026-10-02 16:00 AEST + 2h → Mon 2026-10-05 10:00 AEDT (Sunday evening in UTC)
    expect(due('2026-10-02T06:00:00Z', 2 * HOUR, sydneyOffice)).toBe('2026-10-04T23:00:00.000Z');
    const withLabourDay = weekdays('09:00-17:00', 'Australia/Sydney', ['2026-10-05']);
    expect(due('2026-10-02T06:00:00Z', 2 * HOUR, withLabourDay)).toBe('2026-10-05T23:00:00.000Z');
  });
});

describe('businessTimeBetween inverts addBusinessTime', () => {
  const calendars: Record<string, BusinessCalendar> = {
    'Berlin with lunch and holidays': weekdays('09:00-12:00, 13:00-17:30', 'Europe/Berlin', [
      '2026-04-03',
      '2026-04-06',
      '2026-12-24',
      '2026-12-25',
    ]),
    'New York early hours every day': everyDay('01:00-04:00, 08:00-20:00', 'America/New_York'),
    'Sydney office': weekdays('08:30-17:00', 'Australia/Sydney', ['2026-10-05']),
    'Kolkata office': weekdays('09:30-18:30', 'Asia/Kolkata'),
  };

  it.each(Object.entries(calendars))('for 200 seeded samples: %s', (_name, cal) => {
    // Tiny LCG (Numerical Recipes constants) so the samples are the same on every run.
    let seed = 20_261_120;
    const nextRandom = (): number => {
      seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
      return seed / 2 ** 32;
    };
    const yearStart = Date.parse('2026-01-01T00:00:00Z');
    const yearMs = 365 * 24 * HOUR;

    for (let sample = 0; sample < 200; sample += 1) {
      const start = nextBusinessStart(new Date(yearStart + Math.floor(nextRandom() * yearMs)), cal);
      const duration = Math.floor(nextRandom() * 200 * 60) * MINUTE;
      const end = addBusinessTime(start, duration, cal);

      expect(isBusinessTime(start, cal)).toBe(true);
      expect(businessTimeBetween(start, end, cal)).toBe(duration);
    }
  });
});

describe('guards against impossible calendars', () => {
  it('throws a RangeError when no weekday has working hours', () => {
    const closed = weekdays('closed');
    expect(() => addBusinessTime(at('2026-11-20T12:00:00Z'), HOUR, closed)).toThrow(RangeError);
    expect(() => nextBusinessStart(at('2026-11-20T12:00:00Z'), closed)).toThrow(
      'business calendar for Europe/Berlin has no working hours on any weekday',
    );
  });

  it('throws a RangeError when holidays cover every working day for over 3 years', () => {
    // Only Mondays are open, and every Monday from 2026 to 2029 is a holiday.
    const mondaysOnly: BusinessCalendar = {
      timeZone: 'Europe/Berlin',
      weekly: { 1: parseBusinessHours('09:00-17:00'), 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] },
      holidays: [],
    };
    for (let monday = Date.parse('2026-01-05T00:00:00Z'); monday < Date.parse('2030-01-01'); monday += 7 * 24 * HOUR) {
      mondaysOnly.holidays.push(new Date(monday).toISOString().slice(0, 10));
    }
    expect(() => addBusinessTime(at('2026-01-01T12:00:00Z'), HOUR, mondaysOnly)).toThrow(
      /no working time within 3 years/,
    );
    expect(() => addBusinessTime(at('2026-01-01T12:00:00Z'), HOUR, mondaysOnly)).toThrow(RangeError);
    // A start past the holiday list works again, so the guard is about idleness, not distance.
    expect(due('2029-12-31T12:00:00Z', HOUR, mondaysOnly)).toBe('2030-01-07T09:00:00.000Z');
  });

  it('rejects negative durations, invalid dates and unknown zones', () => {
    expect(() => addBusinessTime(at('2026-11-20T12:00:00Z'), -1, berlinOffice)).toThrow(RangeError);
    expect(() => addBusinessTime(new Date(Number.NaN), HOUR, berlinOffice)).toThrow(RangeError);
    const nowhere: BusinessCalendar = { ...berlinOffice, timeZone: 'Mars/Olympus_Mons' };
    expect(() => addBusinessTime(at('2026-11-20T12:00:00Z'), HOUR, nowhere)).toThrow(/unknown time zone/);
  });

  it('rejects a malformed holiday date', () => {
    const badHoliday = weekdays('09:00-17:00', 'Europe/Berlin', ['2026-02-30']);
    expect(() => addBusinessTime(at('2026-11-20T12:00:00Z'), HOUR, badHoliday)).toThrow(/holiday must be a yyyy-MM-dd/);
  });
});

describe('parseBusinessHours', () => {
  it('parses a single range into minutes after midnight', () => {
    expect(parseBusinessHours('09:00-17:30')).toEqual([{ start: 540, end: 1050 }]);
  });

  it('parses several ranges and sorts them', () => {
    expect(parseBusinessHours('09:00-12:00, 13:00-17:00')).toEqual([
      { start: 540, end: 720 },
      { start: 780, end: 1020 },
    ]);
    expect(parseBusinessHours('13:00-17:00,09:00-12:00')).toEqual([
      { start: 540, end: 720 },
      { start: 780, end: 1020 },
    ]);
  });

  it('parses a full day up to 24:00', () => {
    expect(parseBusinessHours('00:00-24:00')).toEqual([{ start: 0, end: 1440 }]);
  });

  it('treats empty and "closed" as a day off', () => {
    expect(parseBusinessHours('')).toEqual([]);
    expect(parseBusinessHours('closed')).toEqual([]);
    expect(parseBusinessHours('  Closed ')).toEqual([]);
  });

  it.each(['9-17', '09:00', '09:00-17:60', '25:00-26:00', '24:30-24:45', '09:00-12:00,', 'nine to five', '09:00–17:00'])(
    'rejects malformed %p with the format hint',
    (spec) => {
      expect(() => parseBusinessHours(spec)).toThrow(
        new Error(`expected hours like "09:00-17:30" or "09:00-12:00, 13:00-17:00", got "${spec}"`),
      );
    },
  );

  it.each(['17:00-09:00', '09:00-09:00', '09:00-12:00, 11:00-13:00', '09:00-17:00, 09:00-17:00'])(
    'rejects overlapping or unordered %p',
    (spec) => {
      expect(() => parseBusinessHours(spec)).toThrow(new Error(`overlapping or unordered ranges in "${spec}"`));
    },
  );
});

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * MINUTE],
    ['4h', 4 * HOUR],
    ['2h30m', 2 * HOUR + 30 * MINUTE],
    ['1h 15m', HOUR + 15 * MINUTE],
    ['90s', 90 * SECOND],
    ['1h 0m 5s', HOUR + 5 * SECOND],
  ])('parses %p', (spec, expected) => {
    expect(parseDuration(spec)).toBe(expected);
  });

  it.each(['', '4d', '0m', '0h 0m', '-1h', '1.5h', '30m 1h', 'four hours', 'h'])('rejects %p', (spec) => {
    expect(() => parseDuration(spec)).toThrow(new Error(`expected a duration like "4h" or "30m", got "${spec}"`));
  });
});

describe('formatDuration', () => {
  it.each([
    [4 * HOUR, '4h'],
    [2 * HOUR + 30 * MINUTE, '2h 30m'],
    [45 * MINUTE, '45m'],
    [30 * SECOND, '30s'],
    [90 * SECOND, '1m 30s'],
    [26 * HOUR, '1d 2h'],
    [48 * HOUR + 59 * MINUTE, '2d'],
    [2 * HOUR + 30 * MINUTE + 59 * SECOND, '2h 30m'],
    [0, '0s'],
    [-15 * MINUTE, '-15m'],
  ])('formats %p ms as %p', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('round-trips with parseDuration for whole units', () => {
    for (const spec of ['4h', '2h 30m', '45m', '30s']) {
      expect(formatDuration(parseDuration(spec))).toBe(spec);
    }
  });
});

describe('performance', () => {
  it('computes 10,000 deadlines of 40 business hours in under 2 s', () => {
    const cal = weekdays('09:00-12:00, 13:00-17:00', 'Europe/Berlin', ['2026-12-24', '2026-12-25']);
    const firstStart = Date.parse('2026-01-01T00:00:00Z');
    let latest = 0;

    const began = performance.now();
    for (let call = 0; call < 10_000; call += 1) {
      // 37-minute steps spread the starts over ~8.5 months, DST changes included.
      const end = addBusinessTime(new Date(firstStart + call * 37 * MINUTE), 40 * HOUR, cal);
      latest = Math.max(latest, end.getTime());
    }
    const elapsedMs = performance.now() - began;

    expect(elapsedMs).toBeLessThan(2_000);
    expect(latest).toBeGreaterThan(firstStart + 37 * MINUTE * 9_999);
  });

  it('computes 1000 business hours in about a millisecond', () => {
    const start = at('2026-11-16T08:00:00Z');
    addBusinessTime(start, 1000 * HOUR, berlinOffice); // warm-up fills the tz lookups

    const began = performance.now();
    for (let call = 0; call < 100; call += 1) addBusinessTime(start, 1000 * HOUR, berlinOffice);
    const averageMs = (performance.now() - began) / 100;

    expect(averageMs).toBeLessThan(1);
  });
});
