-- Coverage of the hidden-crime extract for a force: the months it has, and how much each holds.
-- Parameters:
--   $force   police force area code (e.g. E23000035)
-- Columns:
--   month     first day of a month with data
--   rows      rows of the tidy table hidden_crime_monthly (one per area and strand)
--   records   records in the month, all strands added (strands overlap)
-- Months with no data have no row.
select h.month, count(*)::bigint as rows, sum(h.count)::bigint as records
from hidden_crime_monthly h
join areas a on a.area_code = h.area_code
where a.force_code = $force
group by h.month
order by h.month
