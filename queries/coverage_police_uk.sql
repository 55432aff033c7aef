-- Coverage of the police.uk street-level crime data for a force: the months published, and their size.
-- Parameters:
--   $force   police force area code (e.g. E23000035)
-- Columns:
--   month     first day of a month with data
--   rows      rows of the tidy table police_uk_counts (one per area and crime type)
--   records   street-level rows in the month (crimes and anti-social behaviour incidents)
-- Months police.uk did not publish (or that were not loaded) have no row.
select month, count(*)::bigint as rows, sum(count)::bigint as records
from police_uk_counts
where force_code = $force
group by month
order by month
