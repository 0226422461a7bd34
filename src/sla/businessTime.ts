/**
 * Business-time arithmetic for SLA deadlines: "2h of business time after this handoff
 * arrived" has to skip nights, weekends and holidays in the team's own time zone.
 *
 * Model: a working range [start, end) on a local date is the interval of real instants
 * from the earliest instant whose local wall-clock time is ≥ start up to the earliest
 * instant whose wall-clock time is ≥ end. That single rule gives the DST behaviour we
 * want without special cases: a 00:00–24:00 day lasts 23 h or 25 h, a 01:00–04:00 range
 * on a fall-back night holds 4 real hours (the repeated hour is worked twice), and a
 * range starting inside a spring-forward gap starts at the moment the clocks jump.
 * Because the rule is monotone in wall time, the ranges of consecutive days never
 * overlap, so every function here is one ordered scan over those intervals.
 */
import { DateTime, IANAZone } from 'luxon';
import type { BusinessCalendar, IsoWeekday, MinuteRange } from './businessCalendar.js';

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1_440;

/** UTC offsets in use span −12:00 … +14:00, so every instant of a local date lies within this margin of its UTC date. */
const OFFSET_MARGIN_MS = 14 * HOUR_MS;

/** A calendar with no working time for this long is misconfigured (e.g. everything marked holiday), not slow. */
const MAX_IDLE_DAYS = 3 * 366;

const ISO_WEEKDAYS: readonly IsoWeekday[] = [1, 2, 3, 4, 5, 6, 7];

const HOURS_FORMAT_HINT = 'expected hours like "09:00-17:30" or "09:00-12:00, 13:00-17:00"';
const HOURS_RANGE_PATTERN = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/;
const DURATION_PATTERN = /^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?$/i;
const HOLIDAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/**
 * The instant at which `durationMs` of business time has elapsed, counting from `start`
 * (or from the next opening when `start` is outside business hours). A duration that
 * ends exactly at closing time returns the closing instant, not the next opening.
 */
export function addBusinessTime(start: Date, durationMs: number, cal: BusinessCalendar): Date {
  const from = instantOf(start, 'start');
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`business duration must be a finite number of ms ≥ 0, got ${durationMs}`);
  }
  const calendar = prepareCalendar(cal);
  if (!calendar.hasWorkingWeekday) {
    throw new RangeError(`business calendar for ${calendar.zone.name} has no working hours on any weekday`);
  }

  let remaining = durationMs;
  for (const [rangeStart, rangeEnd] of businessIntervals(calendar, from, Number.POSITIVE_INFINITY)) {
    const begin = Math.max(rangeStart, from);
    const available = rangeEnd - begin;
    if (remaining <= available) return new Date(begin + remaining);
    remaining -= available;
  }
  // businessIntervals only stops at `until` (infinite here) or by throwing its idle guard.
  throw new Error('unreachable: business interval scan ended early');
}

/** Milliseconds of business time in [from, to); 0 when `to` is not after `from`. */
export function businessTimeBetween(from: Date, to: Date, cal: BusinessCalendar): number {
  const fromMs = instantOf(from, 'from');
  const toMs = instantOf(to, 'to');
  if (toMs <= fromMs) return 0;
  const calendar = prepareCalendar(cal);

  let total = 0;
  for (const [rangeStart, rangeEnd] of businessIntervals(calendar, fromMs, toMs)) {
    if (rangeStart >= toMs) break;
    total += Math.min(rangeEnd, toMs) - Math.max(rangeStart, fromMs);
  }
  return total;
}

export function isBusinessTime(at: Date, cal: BusinessCalendar): boolean {
  const atMs = instantOf(at, 'at');
  const calendar = prepareCalendar(cal);
  // The first interval that has not ended by `at` decides: intervals come in time order.
  for (const [rangeStart] of businessIntervals(calendar, atMs, atMs + 1)) {
    return rangeStart <= atMs;
  }
  return false;
}

/** `at` itself when it is business time, otherwise the next opening. */
export function nextBusinessStart(at: Date, cal: BusinessCalendar): Date {
  return addBusinessTime(at, 0, cal);
}

/**
 * Parses a playbook hours spec: "09:00-17:30", "09:00-12:00, 13:00-17:00",
 * "00:00-24:00", or "" / "closed" for a day off. Returns ranges sorted by start.
 */
export function parseBusinessHours(spec: string): MinuteRange[] {
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'closed') return [];

  const ranges = trimmed.split(',').map((part): MinuteRange => {
    const match = HOURS_RANGE_PATTERN.exec(part.trim());
    const start = match ? clockMinutes(match[1], match[2]) : undefined;
    const end = match ? clockMinutes(match[3], match[4]) : undefined;
    if (start === undefined || end === undefined) {
      throw new Error(`${HOURS_FORMAT_HINT}, got "${spec}"`);
    }
    return { start, end };
  });

  ranges.sort((a, b) => a.start - b.start);
  ranges.forEach((range, index) => {
    const previous = ranges[index - 1];
    if (range.start >= range.end || (previous !== undefined && range.start < previous.end)) {
      throw new Error(`overlapping or unordered ranges in "${spec}"`);
    }
  });
  return ranges;
}

/** Parses "30m", "4h", "2h30m", "1h 15m", "90s" into ms. No days: a business day has no fixed length. */
export function parseDuration(spec: string): number {
  const match = DURATION_PATTERN.exec(spec.trim());
  const totalMs = match
    ? Number(match[1] ?? 0) * HOUR_MS + Number(match[2] ?? 0) * MINUTE_MS + Number(match[3] ?? 0) * SECOND_MS
    : Number.NaN;
  if (!Number.isSafeInteger(totalMs) || totalMs <= 0) {
    throw new Error(`expected a duration like "4h" or "30m", got "${spec}"`);
  }
  return totalMs;
}

/**
 * Compact form for messages: the two most significant non-zero units of d/h/m/s, e.g.
 * "4h", "2h 30m", "45m", "30s", "1d 2h" (a day is 24 h of wall time). Lower units are
 * truncated rather than rounded so a countdown never shows more time than is left.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format a duration of ${ms} ms`);
  const totalSeconds = Math.floor(Math.abs(ms) / SECOND_MS);
  const units: ReadonlyArray<readonly [number, string]> = [
    [Math.floor(totalSeconds / 86_400), 'd'],
    [Math.floor(totalSeconds / 3_600) % 24, 'h'],
    [Math.floor(totalSeconds / 60) % 60, 'm'],
    [totalSeconds % 60, 's'],
  ];
  const largest = units.findIndex(([amount]) => amount > 0);
  if (largest === -1) return '0s';
  const text = units
    .slice(largest, largest + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount}${unit}`)
    .join(' ');
  return ms < 0 ? `-${text}` : text;
}

// ---------------------------------------------------------------------------------------
// Calendar preparation
// ---------------------------------------------------------------------------------------

interface PreparedCalendar {
  zone: IANAZone;
  /** Indexed by ISO weekday; index 0 unused. */
  rangesByWeekday: readonly (readonly MinuteRange[])[];
  /** Holidays as UTC day numbers of their local dates (days since 1970-01-01). */
  holidayDays: ReadonlySet<number>;
  hasWorkingWeekday: boolean;
}

function prepareCalendar(cal: BusinessCalendar): PreparedCalendar {
  const zone = IANAZone.create(cal.timeZone);
  if (!zone.isValid) throw new RangeError(`unknown time zone "${cal.timeZone}" in business calendar`);

  const rangesByWeekday: MinuteRange[][] = [[]];
  for (const weekday of ISO_WEEKDAYS) {
    const ranges = cal.weekly[weekday] ?? [];
    // A bad calendar would otherwise give silently wrong deadlines, which is worse than failing.
    ranges.forEach((range, index) => {
      const previousEnd = ranges[index - 1]?.end ?? 0;
      const valid =
        Number.isFinite(range.start) &&
        Number.isFinite(range.end) &&
        range.start >= previousEnd &&
        range.start < range.end &&
        range.end <= MINUTES_PER_DAY;
      if (!valid) {
        throw new RangeError(
          `business calendar for ${cal.timeZone}: weekday ${weekday} ranges must be sorted, non-overlapping and within 0..1440 minutes, got ${JSON.stringify(ranges)}`,
        );
      }
    });
    rangesByWeekday.push(ranges);
  }

  const holidayDays = new Set(cal.holidays.map((holiday) => holidayDayNumber(holiday, cal.timeZone)));
  const hasWorkingWeekday = rangesByWeekday.some((ranges) => ranges.length > 0);
  return { zone, rangesByWeekday, holidayDays, hasWorkingWeekday };
}

function holidayDayNumber(holiday: string, timeZone: string): number {
  const match = HOLIDAY_PATTERN.exec(holiday);
  if (match) {
    const utcMidnight = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    // Date.UTC rolls 2026-02-30 over to March; only a round trip proves the date exists.
    if (new Date(utcMidnight).toISOString().slice(0, 10) === holiday) return utcMidnight / DAY_MS;
  }
  throw new RangeError(`business calendar for ${timeZone}: holiday must be a yyyy-MM-dd date, got "${holiday}"`);
}

function clockMinutes(hoursText: string | undefined, minutesText: string | undefined): number | undefined {
  const hours = Number(hoursText);
  const minutes = Number(minutesText);
  if (!(minutes <= 59) || !(hours <= 24) || (hours === 24 && minutes !== 0)) return undefined;
  return hours * 60 + minutes;
}

function instantOf(date: Date, name: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${name} is an invalid Date`);
  return ms;
}

// ---------------------------------------------------------------------------------------
// Wall clock ↔ instant
// ---------------------------------------------------------------------------------------

/**
 * How one local date maps to real time. Dates without a transition have a single offset
 * (`transitionAt` = +∞). "Wall ms" below means local wall-clock time encoded as if it
 * were UTC, so a local date's midnight is `dayNumber * DAY_MS`.
 */
interface DayClock {
  offsetBeforeMs: number;
  offsetAfterMs: number;
  transitionAt: number;
}

/**
 * Intl-backed offset lookups cost microseconds each, so they are memoised per zone:
 * offsets at UTC midnights (shared by neighbouring dates), the exact transition inside
 * a UTC day that has one, and finished day clocks. Results depend only on tz data, so
 * the exported functions stay referentially pure.
 */
interface ZoneMemo {
  offsetAtUtcMidnightMs: Map<number, number>;
  transitionInUtcDay: Map<number, number>;
  dayClocks: Map<number, DayClock>;
}

const zoneMemos = new Map<string, ZoneMemo>();
/** Bounds memory for long-running processes; refilling is cheap. */
const ZONE_MEMO_ENTRY_LIMIT = 100_000;
let zoneMemoEntries = 0;

function zoneMemo(zone: IANAZone): ZoneMemo {
  if (zoneMemoEntries >= ZONE_MEMO_ENTRY_LIMIT) {
    zoneMemos.clear();
    zoneMemoEntries = 0;
  }
  let memo = zoneMemos.get(zone.name);
  if (!memo) {
    memo = { offsetAtUtcMidnightMs: new Map(), transitionInUtcDay: new Map(), dayClocks: new Map() };
    zoneMemos.set(zone.name, memo);
  }
  return memo;
}

function memoised<K, V>(map: Map<K, V>, key: K, compute: () => V): V {
  const cached = map.get(key);
  if (cached !== undefined) return cached;
  const value = compute();
  map.set(key, value);
  zoneMemoEntries += 1;
  return value;
}

function dayClock(zone: IANAZone, dayNumber: number): DayClock {
  const memo = zoneMemo(zone);
  return memoised(memo.dayClocks, dayNumber, () => computeDayClock(zone, memo, dayNumber));
}

/**
 * Every instant of local date D lies within UTC days D−1 … D+1 (offsets span −12 h …
 * +14 h), so the offsets at the UTC midnights bounding those three days describe it.
 * Assumes at most one offset change in those 72 h, which holds for every zone's modern
 * rules; a sequential scan then costs one new lookup per date.
 */
function computeDayClock(zone: IANAZone, memo: ZoneMemo, dayNumber: number): DayClock {
  const offsetAt = (utcDay: number): number =>
    memoised(memo.offsetAtUtcMidnightMs, utcDay, () => zone.offset(utcDay * DAY_MS) * MINUTE_MS);
  const offsetBeforeMs = offsetAt(dayNumber - 1);
  const offsetAfterMs = offsetAt(dayNumber + 2);
  for (let utcDay = dayNumber - 1; utcDay <= dayNumber + 1 && offsetBeforeMs !== offsetAfterMs; utcDay += 1) {
    if (offsetAt(utcDay) !== offsetAt(utcDay + 1)) {
      const transitionAt = memoised(memo.transitionInUtcDay, utcDay, () => findTransition(zone, utcDay));
      return { offsetBeforeMs, offsetAfterMs, transitionAt };
    }
  }
  return { offsetBeforeMs, offsetAfterMs, transitionAt: Number.POSITIVE_INFINITY };
}

/** The first instant of UTC day `utcDay` with the offset its end has; tz data switches on whole seconds. */
function findTransition(zone: IANAZone, utcDay: number): number {
  let earlier = utcDay * DAY_MS;
  let later = earlier + DAY_MS;
  const offsetBefore = zone.offset(earlier);
  // Invariant: `earlier` still has the old offset, `later` already has the new one.
  while (later - earlier > SECOND_MS) {
    const middle = earlier + Math.floor((later - earlier) / (2 * SECOND_MS)) * SECOND_MS;
    if (zone.offset(middle) === offsetBefore) earlier = middle;
    else later = middle;
  }
  return later;
}

/** The earliest instant whose local wall-clock time is at or after `wallMs`. */
function earliestInstantAtOrAfter(clock: DayClock, wallMs: number): number {
  const withOffsetBefore = wallMs - clock.offsetBeforeMs;
  const withOffsetAfter = wallMs - clock.offsetAfterMs;
  const beforeIsReal = withOffsetBefore < clock.transitionAt;
  const afterIsReal = withOffsetAfter >= clock.transitionAt;
  // Both real: the wall time repeats after a fall-back; the first occurrence counts.
  if (beforeIsReal && afterIsReal) return Math.min(withOffsetBefore, withOffsetAfter);
  if (beforeIsReal) return withOffsetBefore;
  if (afterIsReal) return withOffsetAfter;
  // Neither: the wall time was skipped by a spring-forward; the jump is the first instant past it.
  return clock.transitionAt;
}

function localDayNumber(zone: IANAZone, instant: number): number {
  return Math.floor((instant + zone.offset(instant) * MINUTE_MS) / DAY_MS);
}

function isoWeekdayOf(dayNumber: number): IsoWeekday {
  // Day 0 (1970-01-01) was a Thursday, ISO weekday 4.
  return (((((dayNumber + 3) % 7) + 7) % 7) + 1) as IsoWeekday;
}

// ---------------------------------------------------------------------------------------
// Interval scan
// ---------------------------------------------------------------------------------------

/**
 * Yields the calendar's working intervals [start, end) as instants, in time order, that
 * have not ended by `from`; stops once a local date surely begins at or after `until`
 * (callers cut off intervals past `until` themselves). With an unbounded `until`, throws
 * if no working time turns up for MAX_IDLE_DAYS in a row.
 */
function* businessIntervals(
  calendar: PreparedCalendar,
  from: number,
  until: number,
): Generator<readonly [number, number], void, undefined> {
  let idleDays = 0;
  // The local date of `from` is the first one that can still hold unfinished intervals.
  for (let dayNumber = localDayNumber(calendar.zone, from); ; dayNumber += 1) {
    // Local midnight is never earlier than this, so stopping needs no tz lookup.
    if (dayNumber * DAY_MS - OFFSET_MARGIN_MS >= until) return;

    const intervals = workingIntervalsOn(calendar, dayNumber);
    for (const interval of intervals) {
      if (interval[1] > from) yield interval;
    }

    idleDays = intervals.length > 0 ? 0 : idleDays + 1;
    if (idleDays > MAX_IDLE_DAYS && until === Number.POSITIVE_INFINITY) {
      const since = DateTime.fromMillis(from, { zone: calendar.zone }).toISO();
      throw new RangeError(
        `business calendar for ${calendar.zone.name} has no working time within 3 years after ${since}; check its weekly hours and holidays`,
      );
    }
  }
}

/** The date's working ranges as instants; ranges swallowed whole by a spring-forward gap drop out. */
function workingIntervalsOn(calendar: PreparedCalendar, dayNumber: number): Array<readonly [number, number]> {
  if (calendar.holidayDays.has(dayNumber)) return [];
  const ranges = calendar.rangesByWeekday[isoWeekdayOf(dayNumber)] ?? [];
  // Days off need no clock, which spares the tz lookups for them.
  if (ranges.length === 0) return [];

  const clock = dayClock(calendar.zone, dayNumber);
  const wallMidnight = dayNumber * DAY_MS;
  const intervals: Array<readonly [number, number]> = [];
  for (const range of ranges) {
    const start = earliestInstantAtOrAfter(clock, wallMidnight + range.start * MINUTE_MS);
    const end = earliestInstantAtOrAfter(clock, wallMidnight + range.end * MINUTE_MS);
    if (end > start) intervals.push([start, end]);
  }
  return intervals;
}
