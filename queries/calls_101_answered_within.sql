-- 101 calls: share answered within $minutes minutes of being received, by month, for a force,
-- each of its CSPs (the caller's CSP) and its unassigned bucket. The denominator is every
-- call (abandoned calls and calls ending in a call back were not answered in time).
-- Parameters:
--   $force       police force area code (e.g. E23000035)
--   $from, $to   first and last month (DATE, first of month), inclusive
--   $minutes     10 or 20: the table counts calls answered within each (answered_within_<N>min)
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Reads the staging model calls_101_area_month (queries/staging/).
-- Columns:
--   period_start  first day of the month
--   period_end    last day of the month
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     calls answered with a wait of $minutes minutes or less
--   denominator   all calls received
--   illustrative  whether any of the month's rows were loaded as illustrative (generated) data
with monthly as (
    select month, area_code, area_type, calls, illustrative,
           -- a month loaded before the table had the 10-minute count has none: a gap, not a zero
           case $minutes when 10 then answered_within_10min when 20 then answered_within_20min end as within
    from calls_101_area_month
    where force_code = $force
      and month between $from and $to
)
select
    month as period_start,
    last_day(month) as period_end,
    area_code,
    area_type,
    within::double as numerator,
    calls::double as denominator,
    illustrative
from monthly
where calls > 0 and within is not null
order by period_start, area_type, area_code
