/**
 * Working weeks and holidays: the business hours and holiday calendars SLA clocks run on, as
 * the playbook writes them (`mon: "09:00-17:00"`, holiday dates and named holiday calendars),
 * checked and turned into a team's BusinessCalendar.
 */
import * as z from 'zod';
import { parseBusinessHours } from '../sla/businessTime.js';
import type { BusinessCalendar, IsoWeekday, MinuteRange } from '../sla/businessCalendar.js';
import { describeValue, didYouMean } from './format.js';
import type { Path, Problems } from './problems.js';
import { localDateProblem, localDateSchema, parseOrReport, strict } from './values.js';

export const WEEKDAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** null (an empty `sat:`) and a missing day both mean closed. */
const dayHoursSchema = z
  .string({
    error: (iss) =>
      iss.input === undefined ? undefined : `expected hours like "09:00-17:30" or "closed", got ${describeValue(iss.input)}`,
  })
  .nullable()
  .optional()
  .transform((spec, ctx): MinuteRange[] => (spec === null || spec === undefined ? [] : parseOrReport(parseBusinessHours, spec, ctx)));

export const businessHoursSchema = strict({
  mon: dayHoursSchema,
  tue: dayHoursSchema,
  wed: dayHoursSchema,
  thu: dayHoursSchema,
  fri: dayHoursSchema,
  sat: dayHoursSchema,
  sun: dayHoursSchema,
})
  .transform(
    (days): Record<IsoWeekday, MinuteRange[]> => ({
      1: days.mon,
      2: days.tue,
      3: days.wed,
      4: days.thu,
      5: days.fri,
      6: days.sat,
      7: days.sun,
    }),
  )
  .refine((weekly) => Object.values(weekly).some((ranges) => ranges.length > 0), {
    error: 'no working hours on any day, so SLA clocks would never run; give at least one day hours like "09:00-17:00"',
  });

/** Region name → list of holiday dates, shared by the teams that list the region. */
export const holidayCalendarSchema = z.array(localDateSchema);

/** A team's holidays: each entry is a real date or the name of a holiday calendar in the file. */
export function checkHolidays(problems: Problems, calendars: ReadonlySet<string>, holidays: readonly string[], path: Path): void {
  holidays.forEach((entry, i) => {
    if (/^\d/.test(entry)) {
      const problem = localDateProblem(entry);
      if (problem) problems.add([...path, i], problem);
    } else if (!calendars.has(entry)) {
      const known = [...calendars];
      const hint = didYouMean(entry, known);
      problems.add(
        [...path, i],
        hint
          ? `unknown holiday calendar "${entry}"${hint}`
          : `expected a date like 2026-12-25 or a holiday calendar name${known.length ? ` (${known.join(', ')})` : ''}, got "${entry}"`,
      );
    }
  });
}

/** A team's calendar, with its holiday calendars expanded to their dates. */
export function teamCalendar(
  team: { timeZone: string; businessHours: Record<IsoWeekday, MinuteRange[]>; holidays: string[] },
  holidayCalendars: Record<string, string[]>,
): BusinessCalendar {
  const holidays = new Set<string>();
  for (const entry of team.holidays) {
    for (const date of holidayCalendars[entry] ?? [entry]) holidays.add(date);
  }
  return { timeZone: team.timeZone, weekly: team.businessHours, holidays: [...holidays].sort() };
}
