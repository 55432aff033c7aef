-- 101 calls: mean wait to answer, by month, for each CSP of a force (the caller's
-- CSP) and its unassigned bucket (calls with no or an unknown caller CSP).
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
--   numerator     total minutes waited by answered calls (received to answered)
--   denominator   answered calls
--   numerator_sq  sum of the squared waits (minutes squared), for the interval of the mean
--   illustrative  whether any of the month's rows were loaded as illustrative (generated) data
-- A month with no answered calls for an area has no row.
select
    month as period_start,
    last_day(month) as period_end,
    area_code,
    area_type,
    wait_sum::double as numerator,
    answered::double as denominator,
    wait_sumsq::double as numerator_sq,
    illustrative
from calls_101_area_month
where force_code = $force
  and month between $from and $to
  and answered > 0
order by period_start, area_type, area_code
