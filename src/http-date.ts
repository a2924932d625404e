/**
 * HTTP-dates (RFC 9110 §5.6.7), read where upstream writes one: its Retry-After (src/upstream/retry-after.ts) and, as
 * Flask's JSON encoder writes every datetime, its timestamps (src/domain/fields.ts).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';
// RFC 9110 §5.6.7, case-sensitive: IMF-fixdate, then the obsolete rfc850-date and asctime-date.
const HTTP_DATES = [
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?<day>\\d{2})-${MONTH}-(?<year>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/**
 * An HTTP-date in ms since the epoch; undefined for anything else. By hand
 * rather than Date.parse, which also takes what is no HTTP-date ("1.5", "-5"),
 * rolls February 30 over into March, and reads asctime-date in local time.
 */
export function httpDateMs(text: string, now: number): number | undefined {
  let groups: Record<string, string> | undefined;
  for (const format of HTTP_DATES) if ((groups = format.exec(text)?.groups)) break;
  if (!groups) return undefined;
  const { day = '', month = '', year = '', hour = '', minute = '', second = '' } = groups;
  let fullYear = Number(year);
  if (year.length === 2) {
    // rfc850-date: a two-digit year more than 50 years ahead is the latest past year with those digits (RFC 9110 §5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    fullYear += thisYear - (thisYear % 100);
    if (fullYear > thisYear + 50) fullYear -= 100;
  }
  const monthIndex = MONTHS.indexOf(month);
  const dayOfMonth = Number(day);
  const daysInMonth = utc(fullYear, monthIndex + 1, 0, 0, 0, 0).getUTCDate();
  // Second 60 (a leap second) is in the grammar; Date carries it into the next minute.
  if (dayOfMonth < 1 || dayOfMonth > daysInMonth || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  return utc(fullYear, monthIndex, dayOfMonth, Number(hour), Number(minute), Number(second)).getTime();
}

/** That UTC time, its year as given: Date.UTC reads a year below 100 as 1900 plus it (`0050` was 1950). */
function utc(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date;
}
