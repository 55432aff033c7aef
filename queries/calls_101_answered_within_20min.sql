-- 101 calls: share answered within 20 minutes of being received, by month, for a force,
-- each of its CSPs (the caller's CSP) and its unassigned bucket. The denominator is every
-- call (abandoned calls and calls ending in a call back were not answered in time).
-- Parameters:
--   $force       police force area code (e.g. E23000035)
--   $from, $to   first and last month (DATE, first of month), inclusive
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Columns:
--   period_start  first day of the month
--   period_end    last day of the month
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     calls answered with a wait of 20 minutes or less
--   denominator   all calls received
with monthly as (
    select c.month, c.area_code, a.area_type,
           sum(c.answered_within_20min) as within,
           sum(c.calls) as calls
    from calls_101_monthly c
    join areas a on a.area_code = c.area_code
    where a.force_code = $force
      and c.month between $from and $to
    group by c.month, c.area_code, a.area_type
)
select
    month as period_start,
    last_day(month) as period_end,
    area_code,
    area_type,
    within::double as numerator,
    calls::double as denominator
from monthly
where calls > 0
order by period_start, area_type, area_code
