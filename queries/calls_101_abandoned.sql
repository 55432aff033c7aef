-- 101 calls: share abandoned (the caller hung up before an answer), by month, for each
-- CSP of a force (the caller's CSP) and its unassigned bucket.
-- Parameters:
--   $force       police force area code (e.g. E23000035)
--   $from, $to   first and last month (DATE, first of month), inclusive
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Reads the staging model calls_101_area_month (queries/staging/).
-- Columns:
--   period_start  first day of the month
--   period_end    last day of the month
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     abandoned calls
--   denominator   all calls received
--   illustrative  whether any of the month's rows were loaded as illustrative (generated) data
select
    month as period_start,
    last_day(month) as period_end,
    area_code,
    area_type,
    abandoned::double as numerator,
    calls::double as denominator,
    illustrative
from calls_101_area_month
where force_code = $force
  and month between $from and $to
  and calls > 0
order by period_start, area_type, area_code
