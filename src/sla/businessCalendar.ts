/**
 * A team's working calendar, normalised from the playbook. Business-time arithmetic
 * (src/sla/businessTime.ts) works on this shape only.
 */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7; // luxon: 1 = Monday … 7 = Sunday

/** Minutes after local midnight, start inclusive, end exclusive; 0 ≤ start < end ≤ 1440. */
export interface MinuteRange {
  start: number;
  end: number;
}

export interface BusinessCalendar {
  /** IANA zone, e.g. "Europe/Berlin". */
  timeZone: string;
  /** Working ranges per ISO weekday, sorted and non-overlapping; an empty list is a day off. */
  weekly: Record<IsoWeekday, MinuteRange[]>;
  /** Local dates (yyyy-MM-dd in `timeZone`) that are days off. */
  holidays: string[];
}
