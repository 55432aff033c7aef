-- Coverage of the 101 call data for a force: the months it has, and how much each holds.
-- Parameters:
--   $force   police force area code (e.g. E23000035)
-- Columns:
--   month     first day of a month with data
--   rows      rows of the tidy table calls_101_monthly (one per caller CSP or unassigned bucket)
--   records   calls received in the month
-- Months with no data have no row.
select c.month, count(*)::bigint as rows, sum(c.calls)::bigint as records
from calls_101_monthly c
join areas a on a.area_code = c.area_code
where a.force_code = $force
group by c.month
order by c.month
