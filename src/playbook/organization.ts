/**
 * The organisation-wide sections of the playbook: organization (name, time zone, email
 * domains), stage names and the weekly digest.
 */
import * as z from 'zod';
import type { IsoWeekday } from '../sla/businessCalendar.js';
import { describeValue } from './format.js';
import { WEEKDAY_KEYS, WEEKDAY_NAMES } from './calendars.js';
import { addProblem, matching, personRefSchema, strict, text, timeZoneSchema } from './values.js';

/** A bare domain name ("northwind.example"), no "@", no scheme. */
export const emailDomainSchema = matching(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i, 'expected a domain name like "northwind.example" (no "@")').transform((d) =>
  d.toLowerCase(),
);

export const organizationSchema = strict({
  name: text('the organisation name'),
  timeZone: timeZoneSchema,
  /**
   * The organisation's own email domains. A Teams user whose id is not in the playbook is linked
   * to a person only by a sign-in name (UPN) on one of these: an address elsewhere (a guest, a
   * partner) never becomes someone in the directory. Empty: no linking by email at all.
   */
  emailDomains: z.array(emailDomainSchema).default([]),
});

/** Stage id → display name. */
export const stageNameSchema = text('a stage name');

export const digestSchema = strict({
  day: z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a weekday like monday, got ${describeValue(iss.input)}`) })
    .transform((day, ctx): IsoWeekday => {
      const key = day.trim().toLowerCase();
      const index = Math.max(WEEKDAY_KEYS.indexOf(key as (typeof WEEKDAY_KEYS)[number]), WEEKDAY_NAMES.indexOf(key as (typeof WEEKDAY_NAMES)[number]));
      if (index < 0) {
        addProblem(ctx, `expected a weekday like monday, got ${describeValue(day)}`);
        return z.NEVER;
      }
      return (index + 1) as IsoWeekday;
    })
    .default(1),
  time: z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected a time like "08:00", got ${describeValue(iss.input)}`) })
    .transform((time, ctx) => {
      const match = /^(\d{1,2}):([0-5]\d)$/.exec(time.trim());
      const hour = Number(match?.[1]);
      if (!match || hour > 23) {
        addProblem(ctx, `expected a time like "08:00", got ${describeValue(time)}`);
        return z.NEVER;
      }
      return `${String(hour).padStart(2, '0')}:${match[2]}`;
    })
    .default('08:00'),
  subscribers: z.array(personRefSchema).default([]),
});
