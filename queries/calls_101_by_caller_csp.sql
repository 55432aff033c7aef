-- 101 calls over a period by the caller's CSP, with the calls whose CSP is not known
-- (no or an unrecognised caller CSP) counted in the force's unassigned row, not dropped.
-- Parameters:
--   $force       police force area code (e.g. E23000035)
--   $from, $to   first and last month (DATE, first of month), inclusive
-- Columns:
--   area_code     CSP code, or UNASSIGNED-<force code> for calls with no known caller CSP
--   area_name     CSP name (the force's local name where it has one) or "Unassigned (<force>)"
--   area_type     'csp' or 'unassigned'
--   calls         calls received in the period
--   answered      calls answered
--   abandoned     calls where the caller hung up before an answer
--   answered_within_20min  calls answered within 20 minutes of being received
--   wait_minutes_sum       total minutes waited by answered calls
--   illustrative           whether any of the area's rows were loaded as illustrative (generated) data
-- A CSP with no calls in the period has no row.
select
    c.area_code,
    a.area_name,
    a.area_type,
    sum(c.calls)::bigint as calls,
    sum(c.answered)::bigint as answered,
    sum(c.abandoned)::bigint as abandoned,
    sum(c.answered_within_20min)::bigint as answered_within_20min,
    sum(c.wait_minutes_sum) as wait_minutes_sum,
    bool_or(c.illustrative) as illustrative
from calls_101_monthly c
join areas a on a.area_code = c.area_code
where a.force_code = $force
  and c.month between $from and $to
group by c.area_code, a.area_name, a.area_type
having sum(c.calls) > 0
order by a.area_type, a.area_name
