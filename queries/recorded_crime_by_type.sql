-- Recorded crime by police.uk crime type for one area over a period.
-- Parameters: $force, $area (force, CSP or UNASSIGNED-<force> code), $from, $to (DATE)
-- Columns:
--   crime_type  police.uk crime category
--   crimes      rows recorded in the period
--   months      months with data in the period
select crime_type, sum(count)::bigint as crimes, count(distinct month) as months
from police_uk_counts
where force_code = $force
  and ($area = $force or area_code = $area)
  and month between $from and $to
group by crime_type
order by crimes desc
