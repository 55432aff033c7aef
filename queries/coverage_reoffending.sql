-- Coverage of the reoffending cohorts for a force: the cohort quarters it has, and their size.
-- Parameters:
--   $force   police force area code (e.g. E23000035)
-- Columns:
--   period_start  first day of the cohort quarter
--   period_end    last day of the cohort quarter
--   rows          rows of the tidy table reoffending_cohorts (one per district and adult/juvenile)
--   records       offenders in the cohort
-- Quarters with no cohort have no row.
select r.cohort_start as period_start, r.cohort_end as period_end, count(*)::bigint as rows,
       sum(r.offenders)::bigint as records
from reoffending_cohorts r
join areas a on a.area_code = r.area_code
where a.force_code = $force
group by r.cohort_start, r.cohort_end
order by r.cohort_start
